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

#include "server/c_handles.h"

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

}  // namespace herald
