#include "server/json.h"

#include <gtest/gtest.h>

#include "server/wire.h"

namespace herald {
namespace {

TEST(AsciiJson, EscapesNonAsciiAndApostrophe) {
  EXPECT_EQ(AsciiJson(R"({"a":"it's é"})"), R"({"a":"it\u0027s \u00e9"})");
  EXPECT_EQ(AsciiJson("\"漢\""), "\"\\u6f22\"");
}

TEST(AsciiJson, AstralCodePointsBecomeSurrogatePairs) {
  EXPECT_EQ(AsciiJson("\"😀\""), "\"\\ud83d\\ude00\"");
}

TEST(AsciiJson, PureAsciiUnchanged) {
  const std::string s = R"({"x":[1,2.5,true,null,"\"q\""]})";
  EXPECT_EQ(AsciiJson(s), s);
}

TEST(AppendJsonString, EscapesControlsQuotesAndNonAscii) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01'é"), "\"a\\\"b\\\\c\\n\\u0001\\u0027\\u00e9\"");
}

TEST(IsValidUtf8, AcceptsValidRejectsBroken) {
  EXPECT_TRUE(IsValidUtf8("héllo 漢 😀"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("abc\xE6\xBC"));       // truncated
}

TEST(JsonUint53, IntegersOnlyBelowTwoToThe53) {
  CJsonPtr doc = ParseJson(R"([0, 42, 9007199254740991, 9007199254740992, -1, 1.5, "7"])");
  ASSERT_TRUE(doc);
  EXPECT_EQ(JsonUint53(cJSON_GetArrayItem(doc.get(), 0)), 0u);
  EXPECT_EQ(JsonUint53(cJSON_GetArrayItem(doc.get(), 1)), 42u);
  EXPECT_EQ(JsonUint53(cJSON_GetArrayItem(doc.get(), 2)), 9007199254740991u);
  EXPECT_FALSE(JsonUint53(cJSON_GetArrayItem(doc.get(), 3)));
  EXPECT_FALSE(JsonUint53(cJSON_GetArrayItem(doc.get(), 4)));
  EXPECT_FALSE(JsonUint53(cJSON_GetArrayItem(doc.get(), 5)));
  EXPECT_FALSE(JsonUint53(cJSON_GetArrayItem(doc.get(), 6)));
}

TEST(Wire, StreamFrameLengthCountsAsciiBytes) {
  std::string out;
  AppendStreamFrame(&out, AsciiJson(R"({"v":"é'"})"));
  // {"v":"\u00e9\u0027"} is 20 bytes, and 20 JavaScript string units.
  EXPECT_EQ(out, R"(''20''{"v":"\u00e9\u0027"})");
}

TEST(Wire, ChunkFraming) {
  std::string out;
  AppendChunk(&out, std::string(26, 'x'));
  EXPECT_EQ(out, "1a\r\n" + std::string(26, 'x') + "\r\n");
}

}  // namespace
}  // namespace herald
