#include "auth/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

namespace herald {
namespace {

bool IsStandardChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  if (text.empty()) return true;
  if (text.size() % 4 != 0 || text.size() > (1u << 20)) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    // EVP_DecodeBlock skips white space and stops at '=' anywhere: check first.
    if (!IsStandardChar(text[i]) && !(text[i] == '=' && i + 2 >= text.size())) return false;
  }
  if (text[text.size() - 2] == '=' && text.back() != '=') return false;
  std::vector<unsigned char> buf(text.size() / 4 * 3 + 1);
  int n = EVP_DecodeBlock(buf.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t len = static_cast<size_t>(n);
  if (text.back() == '=') --len;
  if (text[text.size() - 2] == '=') --len;
  out->assign(reinterpret_cast<const char*>(buf.data()), len);
  return true;
}

std::string Base64UrlEncode(const unsigned char* data, size_t len) {
  std::string out = Base64Encode(std::string_view(reinterpret_cast<const char*>(data), len));
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  out->clear();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;  // one leftover character cannot encode a byte
  std::string text(in);
  for (char& c : text) {
    if (c == '+' || c == '/') return false;  // the standard alphabet is not base64url
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
  }
  text.append((4 - text.size() % 4) % 4, '=');
  return Base64Decode(text, out);
}

}  // namespace herald
