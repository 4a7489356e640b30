// Salted PBKDF2 password hashes for the ACL's pub_password:
//   "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>"
// (standard base64 with padding; 32-byte hash). `herald --hash-password`
// prints one.
#pragma once

#include <string>
#include <string_view>

namespace herald {

inline constexpr int kPasswordIterations = 100000;

// A new hash of `password` with a random 16-byte salt. Empty on failure.
std::string HashPassword(std::string_view password, int iterations = kPasswordIterations);
// True if `hash` is well formed and `password` matches it (constant-time compare).
bool VerifyPassword(std::string_view password, std::string_view hash);
// True if `hash` has the shape HashPassword produces.
bool IsPasswordHash(std::string_view hash);

}  // namespace herald
