// JSON helpers shared by every wire format. cJSON parses and prints; these
// functions add what cJSON lacks: the es-web-notify rule that every frame is
// pure ASCII (so a frame's length is the same in bytes and in JavaScript
// string units), and small typed accessors used by the handlers.
#pragma once

#include <cjson/cJSON.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/util/handles.h"  // CJsonPtr, without libevent (auth/ uses this header)

namespace herald {

// Rewrites UTF-8 JSON text so that it is pure ASCII: every non-ASCII code
// point becomes \uXXXX (a surrogate pair above U+FFFF) and every apostrophe
// becomes \u0027. Only valid inside JSON text, where such characters can only
// occur inside strings. REQUIRES: `json` is valid UTF-8 (see IsValidUtf8).
std::string AsciiJson(std::string_view json);

// Appends `s` as a quoted, pure-ASCII JSON string.
void AppendJsonString(std::string* out, std::string_view s);
std::string JsonString(std::string_view s);

bool IsValidUtf8(std::string_view s);

// Parses `text`; nullptr on error. cJSON needs a NUL-terminated copy only when
// the input is not already terminated, so callers pass std::string.
CJsonPtr ParseJson(const std::string& text);

// Prints `item` compactly as pure-ASCII JSON.
std::string PrintAsciiJson(const cJSON* item);

// A JSON number that is an integer in [0, 2^53).
std::optional<uint64_t> JsonUint53(const cJSON* item);

// Pass-through of what a publisher sent. cJSON turns numbers into doubles
// (1796286524043104123 comes back as 1.796286524043104e+18, 1e400 as null)
// and cuts strings at \u0000, so a payload is never re-encoded: it is
// validated strictly (RFC 8259) and forwarded as its own text.
//
// Nesting (arrays and objects) allowed in one JSON text, as cJSON's limit.
inline constexpr int kMaxJsonDepth = 1000;

// True if `text` is exactly one JSON value, surrounded by optional
// whitespace: RFC 8259 grammar (no leading zeros, no raw control characters
// in strings, only the defined escapes, \u surrogates in pairs), valid UTF-8,
// at most kMaxJsonDepth levels of nesting.
bool IsStrictJson(std::string_view text);

// The same check; on success returns `text` minified and pure ASCII:
// whitespace outside strings dropped, each raw non-ASCII character inside a
// string written as \uXXXX (a surrogate pair above U+FFFF) and each
// apostrophe as \u0027, as AsciiJson does. Everything else is copied byte for
// byte: number tokens, literals, and the escapes the text already had.
std::optional<std::string> PassThroughJson(std::string_view text);

// The text of member `key` of the JSON object `object_text` (the first one
// if the key repeats, as cJSON_GetObjectItemCaseSensitive), compared after
// unescaping. nullopt if there is no such member or `object_text` is not an
// object. REQUIRES: IsStrictJson(object_text).
std::optional<std::string_view> JsonMemberText(std::string_view object_text, std::string_view key);

// The texts of the items of the JSON array `array_text`, in order (views
// into it); nullopt if it is not an array. REQUIRES: IsStrictJson(array_text).
std::optional<std::vector<std::string_view>> JsonArrayItemTexts(std::string_view array_text);

}  // namespace herald
