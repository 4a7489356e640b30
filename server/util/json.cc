#include "server/util/json.h"

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
  char buf[6] = {'\\',
                 'u',
                 kHex[(unit >> 12) & 0xF],
                 kHex[(unit >> 8) & 0xF],
                 kHex[(unit >> 4) & 0xF],
                 kHex[unit & 0xF]};
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

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A strict recursive-descent JSON scanner (RFC 8259). It never converts a
// value: with `out` it copies the text it accepts, minus the whitespace
// between tokens, escaping raw non-ASCII and apostrophes inside strings.
class JsonScanner {
 public:
  JsonScanner(std::string_view text, std::string* out) : s_(text), out_(out) {}

  bool Document() {
    SkipWs();
    if (!Value(0)) return false;
    SkipWs();
    return pos_ == s_.size();
  }

  // The first member named `key` of the object at the start of the text.
  std::optional<std::string_view> Member(std::string_view key) {
    SkipWs();
    if (!Take('{')) return std::nullopt;
    SkipWs();
    if (Take('}')) return std::nullopt;
    std::string name;
    do {
      SkipWs();
      name.clear();
      if (!String(&name)) return std::nullopt;
      SkipWs();
      if (!Take(':')) return std::nullopt;
      SkipWs();
      const size_t start = pos_;
      if (!Value(1)) return std::nullopt;
      if (name == key) return s_.substr(start, pos_ - start);
      SkipWs();
    } while (Take(','));
    return std::nullopt;
  }

  // The texts of the items of the array at the start of the text.
  std::optional<std::vector<std::string_view>> Items() {
    std::vector<std::string_view> items;
    SkipWs();
    if (!Take('[')) return std::nullopt;
    SkipWs();
    if (Take(']')) return items;
    do {
      SkipWs();
      const size_t start = pos_;
      if (!Value(1)) return std::nullopt;
      items.push_back(s_.substr(start, pos_ - start));
      SkipWs();
    } while (Take(','));
    if (!Take(']')) return std::nullopt;
    return items;
  }

 private:
  bool At(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool AtDigit() const { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; }
  bool Take(char c) {
    if (!At(c)) return false;
    Emit(std::string_view(&s_[pos_], 1));
    ++pos_;
    return true;
  }
  void Emit(std::string_view piece) {
    if (out_) out_->append(piece);
  }
  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Value(int depth) {
    if (pos_ >= s_.size()) return false;
    switch (s_[pos_]) {
      case '{':
        return depth < kMaxJsonDepth && Object(depth);
      case '[':
        return depth < kMaxJsonDepth && Array(depth);
      case '"':
        return String(nullptr);
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  bool Object(int depth) {
    Take('{');
    SkipWs();
    if (Take('}')) return true;
    do {
      SkipWs();
      if (!String(nullptr)) return false;
      SkipWs();
      if (!Take(':')) return false;
      SkipWs();
      if (!Value(depth + 1)) return false;
      SkipWs();
    } while (Take(','));
    return Take('}');
  }

  bool Array(int depth) {
    Take('[');
    SkipWs();
    if (Take(']')) return true;
    do {
      SkipWs();
      if (!Value(depth + 1)) return false;
      SkipWs();
    } while (Take(','));
    return Take(']');
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    Emit(word);
    pos_ += word.size();
    return true;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, copied as written.
  bool Number() {
    const size_t start = pos_;
    if (At('-')) ++pos_;
    if (At('0')) {
      ++pos_;
    } else if (AtDigit()) {
      while (AtDigit()) ++pos_;
    } else {
      return false;
    }
    if (At('.')) {
      ++pos_;
      if (!AtDigit()) return false;
      while (AtDigit()) ++pos_;
    }
    if (At('e') || At('E')) {
      ++pos_;
      if (At('+') || At('-')) ++pos_;
      if (!AtDigit()) return false;
      while (AtDigit()) ++pos_;
    }
    Emit(s_.substr(start, pos_ - start));
    return true;
  }

  bool Hex4(size_t at, uint32_t* unit) const {
    if (at + 4 > s_.size()) return false;
    *unit = 0;
    for (size_t k = at; k < at + 4; ++k) {
      const char c = s_[k];
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (v < 0) return false;
      *unit = (*unit << 4) | static_cast<uint32_t>(v);
    }
    return true;
  }

  // Length of the escape at pos_ (a backslash), 0 if invalid; its code point
  // goes to `*cp`.
  size_t Escape(uint32_t* cp) const {
    if (pos_ + 1 >= s_.size()) return 0;
    switch (s_[pos_ + 1]) {
      case '"':
        *cp = '"';
        return 2;
      case '\\':
        *cp = '\\';
        return 2;
      case '/':
        *cp = '/';
        return 2;
      case 'b':
        *cp = '\b';
        return 2;
      case 'f':
        *cp = '\f';
        return 2;
      case 'n':
        *cp = '\n';
        return 2;
      case 'r':
        *cp = '\r';
        return 2;
      case 't':
        *cp = '\t';
        return 2;
      case 'u':
        break;
      default:
        return 0;
    }
    uint32_t hi;
    if (!Hex4(pos_ + 2, &hi)) return 0;
    if (hi >= 0xDC00 && hi <= 0xDFFF) return 0;  // a low surrogate alone
    if (hi < 0xD800 || hi > 0xDBFF) {
      *cp = hi;
      return 6;
    }
    uint32_t lo;
    if (pos_ + 8 > s_.size() || s_[pos_ + 6] != '\\' || s_[pos_ + 7] != 'u' ||
        !Hex4(pos_ + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
      return 0;  // a high surrogate alone
    }
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return 12;
  }

  // A string token; its unescaped UTF-8 goes to `decoded` if given.
  bool String(std::string* decoded) {
    if (!At('"')) return false;
    size_t run = pos_;  // start of the bytes not yet emitted
    ++pos_;
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        Emit(s_.substr(run, pos_ - run));
        return true;
      }
      if (c < 0x20) return false;
      uint32_t cp = c;
      size_t n = 1;
      if (c == '\\') {
        n = Escape(&cp);
        if (n == 0) return false;
      } else if (c >= 0x80 || c == '\'') {
        if (c >= 0x80) n = DecodeUtf8(s_, pos_, &cp);
        if (n == 0) return false;
        if (out_) {
          Emit(s_.substr(run, pos_ - run));
          AppendEscapedCodePoint(out_, cp);
          run = pos_ + n;
        }
      }
      if (decoded) AppendUtf8(decoded, cp);
      pos_ += n;
    }
    return false;
  }

  std::string_view s_;
  std::string* out_;
  size_t pos_ = 0;
};

}  // namespace

bool IsStrictJson(std::string_view text) { return JsonScanner(text, nullptr).Document(); }

std::optional<std::string> PassThroughJson(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  if (!JsonScanner(text, &out).Document()) return std::nullopt;
  return out;
}

std::optional<std::string_view> JsonMemberText(std::string_view object_text, std::string_view key) {
  return JsonScanner(object_text, nullptr).Member(key);
}

std::optional<std::vector<std::string_view>> JsonArrayItemTexts(std::string_view array_text) {
  return JsonScanner(array_text, nullptr).Items();
}

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
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
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
