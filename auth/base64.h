// base64 (RFC 4648 section 4, with padding) and base64url (section 5, no
// padding), both on top of OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock: the
// url alphabet is a translation of the standard one. Used by secrets
// (base64url), JWT segments (base64url) and password hashes and bind keys
// (standard). Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herald {

// Standard base64 with padding.
std::string Base64Encode(std::string_view bytes);
// Standard base64 whose length is a multiple of 4, padding only at the end;
// false (and `out` empty) on anything else. An empty text decodes to nothing.
bool Base64Decode(std::string_view text, std::string* out);

// base64url without padding.
std::string Base64UrlEncode(const unsigned char* data, size_t len);
// base64url, padding optional; false on a character outside the alphabet or
// a length no encoding produces (one character left over).
bool Base64UrlDecode(std::string_view in, std::string* out);

}  // namespace herald
