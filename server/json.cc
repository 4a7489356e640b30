#include "server/json.h"

#include <cmath>
#include <memory>

namespace herald {
namespace {

// Decodes one UTF-8 sequence starting at s[i]; returns its length, 0 if invalid.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, *cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, *cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, *cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are invalid.
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

void AppendU16(std::string* out, uint32_t unit) {
  static const char kHex[] = "0123456789abcdef";
  char buf[6] = {'\\', 'u', kHex[(unit >> 12) & 0xF], kHex[(unit >> 8) & 0xF],
                 kHex[(unit >> 4) & 0xF], kHex[unit & 0xF]};
  out->append(buf, 6);
}

void AppendEscapedCodePoint(std::string* out, uint32_t cp) {
  if (cp >= 0x10000) {
    cp -= 0x10000;
    AppendU16(out, 0xD800 + (cp >> 10));
    AppendU16(out, 0xDC00 + (cp & 0x3FF));
  } else {
    AppendU16(out, cp);
  }
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string AsciiJson(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 16);
  for (size_t i = 0; i < json.size();) {
    const auto c = static_cast<unsigned char>(json[i]);
    if (c < 0x80 && c != '\'') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    uint32_t cp = 0xFFFD;
    size_t n = DecodeUtf8(json, i, &cp);
    if (n == 0) n = 1, cp = 0xFFFD;  // REQUIRES says valid; stay safe anyway.
    AppendEscapedCodePoint(&out, cp);
    i += n;
  }
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80 || c == '\'') {
      uint32_t cp = 0xFFFD;
      size_t n = DecodeUtf8(s, i, &cp);
      if (n == 0) n = 1, cp = 0xFFFD;
      AppendEscapedCodePoint(out, cp);
      i += n;
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          AppendU16(out, c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

CJsonPtr ParseJson(const std::string& text) {
  return CJsonPtr(cJSON_ParseWithLength(text.data(), text.size()));
}

std::string PrintAsciiJson(const cJSON* item) {
  std::unique_ptr<char, void (*)(void*)> raw(cJSON_PrintUnformatted(item), cJSON_free);
  if (!raw) return "null";
  return AsciiJson(raw.get());
}

std::optional<uint64_t> JsonUint53(const cJSON* item) {
  if (!cJSON_IsNumber(item)) return std::nullopt;
  double v = item->valuedouble;
  if (!(v >= 0) || v >= 9007199254740992.0 || std::floor(v) != v) return std::nullopt;
  return static_cast<uint64_t>(v);
}

}  // namespace herald
