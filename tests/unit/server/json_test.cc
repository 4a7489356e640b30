#include "server/util/json.h"

#include <gtest/gtest.h>

#include "server/transport/wire.h"

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

// issue 9 B.8: what a publisher sent is what subscribers get.
TEST(PassThroughJson, NumbersAreTheSentTokens) {
  for (const char* n : {"1796286524043104123", "12345678901234567890", "1e400", "-0", "0.10",
                        "1E+2", "-1.5e-7", "123456789012345678901234567890.000"}) {
    EXPECT_EQ(PassThroughJson(n), std::optional<std::string>(n)) << n;
  }
  EXPECT_EQ(PassThroughJson(R"( { "a" : [ 1796286524043104123 , 1e400 ] } )"),
            R"({"a":[1796286524043104123,1e400]})");
}

TEST(PassThroughJson, EscapesAreKeptAndRawNonAsciiIsEscaped) {
  const std::string sent = R"("\" \\ \/ \b \f \n \r \t \u0000x \u00e9 \ud83d\ude00 )"
                           "é 😀 it's\"";
  EXPECT_EQ(PassThroughJson(sent),
            std::optional<std::string>(R"("\" \\ \/ \b \f \n \r \t \u0000x \u00e9 \ud83d\ude00 )"
                                       R"(\u00e9 \ud83d\ude00 it\u0027s")"));
  // Whitespace inside strings is content, not layout.
  EXPECT_EQ(PassThroughJson(R"([ " a b " ])"), R"([" a b "])");
}

TEST(PassThroughJson, OutputIsPureAscii) {
  auto out = PassThroughJson("{\"k\":\"漢字 'q' \xF0\x9F\x98\x80\"}");
  ASSERT_TRUE(out);
  for (unsigned char c : *out) EXPECT_TRUE(c < 0x80 && c != '\'');
}

TEST(PassThroughJson, RejectsWhatJsonParseRejects) {
  for (const char* bad :
       {"",        " ",         "01",          "1.",          ".5",       "+1",
        "-",       "1e",        "1e+",         "0x10",        "NaN",      "Infinity",
        "tru",     "nul",       "[1,]",        "{\"a\":1,}",  "{a:1}",    "'s'",
        "\"\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "\"a\tb\"", "\"a\nb\"",
        "\"open",  "[1 2]",     "{\"a\" 1}",   "1 2",         "[",        "]"}) {
    EXPECT_FALSE(PassThroughJson(bad)) << bad;
    EXPECT_FALSE(IsStrictJson(bad)) << bad;
  }
  EXPECT_FALSE(IsStrictJson("\"\xC0\xAF\""));      // overlong UTF-8
  EXPECT_FALSE(IsStrictJson("\"\xED\xA0\x80\""));  // an encoded surrogate
}

TEST(PassThroughJson, NestingUpToTheLimit) {
  auto nest = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_EQ(PassThroughJson(nest(kMaxJsonDepth)), nest(kMaxJsonDepth));
  EXPECT_FALSE(IsStrictJson(nest(kMaxJsonDepth + 1)));
  // The same limit as cJSON, so both accept the same bodies.
  EXPECT_TRUE(ParseJson(nest(kMaxJsonDepth)));
  EXPECT_FALSE(ParseJson(nest(kMaxJsonDepth + 1)));
}

TEST(PassThroughJson, RoundTripsThroughCJson) {
  const std::string sent = R"({"a":[true,false,null,{"b":"c\u0041"}],"n":-12.5e3})";
  auto out = PassThroughJson(sent);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, sent);
  CJsonPtr a = ParseJson(sent), b = ParseJson(*out);
  EXPECT_TRUE(cJSON_Compare(a.get(), b.get(), true));
}

TEST(JsonMemberText, FindsTheFirstMemberAsSent) {
  const std::string obj = R"({ "e" : { "type" : "t", "detail" : 1e400 }, "e": 2 })";
  EXPECT_EQ(JsonMemberText(obj, "e"), R"({ "type" : "t", "detail" : 1e400 })");
  EXPECT_EQ(JsonMemberText(*JsonMemberText(obj, "e"), "detail"), "1e400");
  EXPECT_FALSE(JsonMemberText(obj, "missing"));
  EXPECT_FALSE(JsonMemberText("[1]", "e"));
  EXPECT_FALSE(JsonMemberText("{}", "e"));
}

TEST(JsonMemberText, KeysCompareUnescaped) {
  // cJSON compares decoded keys too: "\u0064etail" is "detail".
  EXPECT_EQ(JsonMemberText(R"({"\u0064etail":[1]})", "detail"), "[1]");
  EXPECT_FALSE(JsonMemberText(R"({"detail\u0000":[1]})", "detail"));
  EXPECT_EQ(JsonMemberText(R"({"\u00e9":1})", "é"), "1");
}

}  // namespace
}  // namespace herald

namespace herald {
namespace {

TEST(JsonArrayItemTexts, GivesEachItemsTextInOrder) {
  auto items = JsonArrayItemTexts(R"( [ {"a": [1, 2]}, "x,y" ,3.50, [], null ] )");
  ASSERT_TRUE(items.has_value());
  EXPECT_EQ(*items,
            (std::vector<std::string_view>{R"({"a": [1, 2]})", R"("x,y")", "3.50", "[]", "null"}));
  EXPECT_EQ(JsonArrayItemTexts("[]")->size(), 0u);
  EXPECT_FALSE(JsonArrayItemTexts(R"({"a":1})").has_value());
  EXPECT_FALSE(JsonArrayItemTexts("[1,]").has_value());
}

}  // namespace
}  // namespace herald
