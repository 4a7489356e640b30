// Connection secrets: 128 bits from the OS CSPRNG (OpenSSL RAND_bytes),
// base64url without padding (22 characters), compared in constant time so a
// caller cannot learn a secret byte by byte from response timing.
// Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace herald {

std::string NewSecret();
bool SecretsEqual(std::string_view a, std::string_view b);

}  // namespace herald
