#include "server/core/topic.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald {
namespace {

// Returns the reason ValidateTopic gives, or "" when the topic is accepted.
std::string Reason(std::string_view topic, const TopicLimits& limits = TopicLimits()) {
  Status s = ValidateTopic(topic, limits);
  if (s.ok()) return "";
  EXPECT_EQ(s.kind(), StatusKind::kBadRequest) << topic;
  return s.reason();
}

// A topic of `levels` levels and exactly `bytes` bytes (bytes >= 2 * levels - 1).
std::string TopicOf(size_t levels, size_t bytes) {
  std::string t;
  for (size_t i = 0; i < levels; ++i) t += i == 0 ? "a" : "/a";
  t.append(bytes - t.size(), 'x');
  return t;
}

TEST(ValidateTopicTest, AcceptsOrdinaryTopicsAndFilters) {
  for (const char* t : {"a", "house/kitchen/temp", "+", "#", "+/+", "a/+/c", "a/#", "+/#",
                        "space-1/notifications", "a b/c.d/e_f", "@ANON@/x", "a/+/#"}) {
    EXPECT_EQ(Reason(t), "") << t;
  }
}

TEST(ValidateTopicTest, Empty) { EXPECT_EQ(Reason(""), "Topic is empty"); }

TEST(ValidateTopicTest, ByteLimitBoundary) {
  EXPECT_EQ(Reason(TopicOf(1, 256)), "");
  EXPECT_EQ(Reason(TopicOf(1, 257)), "Topic longer than 256 bytes");
  EXPECT_EQ(Reason(TopicOf(3, 256)), "");
  EXPECT_EQ(Reason(TopicOf(3, 257)), "Topic longer than 256 bytes");
}

TEST(ValidateTopicTest, LevelLimitBoundary) {
  EXPECT_EQ(Reason(TopicOf(16, 31)), "");
  EXPECT_EQ(Reason(TopicOf(17, 33)), "Topic deeper than 16 levels");
  EXPECT_EQ(Reason("+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/#"), "");
  EXPECT_EQ(Reason("+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/#"), "Topic deeper than 16 levels");
}

TEST(ValidateTopicTest, ReasonsNameTheConfiguredLimits) {
  TopicLimits limits;
  limits.max_bytes = 10;
  limits.max_levels = 3;
  EXPECT_EQ(Reason("0123456789", limits), "");
  EXPECT_EQ(Reason("0123456789a", limits), "Topic longer than 10 bytes");
  EXPECT_EQ(Reason("a/b/c", limits), "");
  EXPECT_EQ(Reason("a/b/c/d", limits), "Topic deeper than 3 levels");
}

// Issue 10.6: empty levels are valid, as in MQTT and the original es-web-notify.
TEST(ValidateTopicTest, EmptyLevelsAreValid) {
  for (const char* t : {"/", "/a", "a/", "a//b", "a/b/", "//", "+//", "wid-0001/", "/abs", "/#"}) {
    EXPECT_EQ(Reason(t), "") << t;
  }
}

TEST(ValidateTopicTest, WildcardMustBeAWholeLevel) {
  for (const char* t : {"a+", "+a", "a/b+/c", "a#", "#a", "a/b#", "++", "##", "+#", "a/x#y"}) {
    EXPECT_EQ(Reason(t), "Wildcard must be a whole level") << t;
  }
}

TEST(ValidateTopicTest, HashMustBeLast) {
  for (const char* t : {"#/a", "a/#/b", "#/#", "#/+", "#/"}) {
    EXPECT_EQ(Reason(t), "'#' must be the last level") << t;
  }
}

TEST(ValidateTopicTest, ControlCharacters) {
  for (std::string t : {std::string("a\nb"), std::string("a\tb"), std::string("\x1f"),
                        std::string("a/\x7f"), std::string("a\0b", 3), std::string("\r"),
                        std::string("a/\xc2\x80"), std::string("\xc2\x9f")}) {
    EXPECT_EQ(Reason(t), "Topic has a control character");
  }
  EXPECT_EQ(Reason("a/\xc2\xa0"), "");  // U+00A0, the first code point after C1
  EXPECT_EQ(Reason(" "), "");
  EXPECT_EQ(Reason("~"), "");
}

TEST(ValidateTopicTest, AcceptsValidMultiByteUtf8) {
  for (const char* t : {"caf\xc3\xa9",                 // é, 2 bytes
                        "\xe2\x82\xac/x",              // €, 3 bytes
                        "\xe0\xa0\x80",                // U+0800, smallest 3-byte
                        "\xed\x9f\xbf",                // U+D7FF, just below surrogates
                        "\xee\x80\x80",                // U+E000, just above surrogates
                        "\xef\xbf\xbf",                // U+FFFF
                        "\xf0\x90\x80\x80",            // U+10000, smallest 4-byte
                        "\xf0\x9f\x94\x94/+",          // bell emoji
                        "\xf4\x8f\xbf\xbf",            // U+10FFFF, the largest
                        "\xe5\xae\xb6/\xe5\x8e\xa8"})  // CJK levels
  {
    EXPECT_EQ(Reason(t), "") << t;
  }
}

TEST(ValidateTopicTest, RejectsInvalidUtf8) {
  for (const char* t : {"\x80",               // lone continuation byte
                        "a\xbf",              // lone continuation byte
                        "\xc3",               // truncated 2-byte
                        "\xe2\x82",           // truncated 3-byte
                        "\xf0\x9f\x94",       // truncated 4-byte
                        "\xc3/",              // lead byte followed by '/'
                        "\xc0\xaf",           // overlong '/'
                        "\xc1\xbf",           // overlong
                        "\xe0\x80\xaf",       // overlong 3-byte '/'
                        "\xe0\x9f\xbf",       // overlong 3-byte, largest
                        "\xf0\x80\x80\xaf",   // overlong 4-byte
                        "\xf0\x8f\xbf\xbf",   // overlong 4-byte, largest
                        "\xed\xa0\x80",       // U+D800 surrogate
                        "\xed\xbf\xbf",       // U+DFFF surrogate
                        "\xf4\x90\x80\x80",   // U+110000
                        "\xf5\x80\x80\x80",   // lead byte beyond range
                        "\xff",               //
                        "\xfe",               //
                        "\xe2\x28\xa1",       // bad second byte
                        "\xe2\x82\x28",       // bad third byte
                        "\xf0\x9f\x94\x28"})  // bad fourth byte
  {
    EXPECT_EQ(Reason(t), "Topic is not valid UTF-8") << testing::PrintToString(t);
  }
}

TEST(ValidateTopicTest, OrderOfChecks) {
  EXPECT_EQ(Reason(std::string(300, '/')), "Topic longer than 256 bytes");
  EXPECT_EQ(Reason("\xff\n"), "Topic is not valid UTF-8");
  EXPECT_EQ(Reason("a//\n"), "Topic has a control character");
  EXPECT_EQ(Reason("#/" + TopicOf(16, 31)), "Topic deeper than 16 levels");
  EXPECT_EQ(Reason("a+//b"), "Wildcard must be a whole level");
  EXPECT_EQ(Reason("#//"), "'#' must be the last level");
}

TEST(HasWildcardTest, WholeLevelsOnly) {
  EXPECT_FALSE(HasWildcard("a/b/c"));
  EXPECT_FALSE(HasWildcard("a+/b#"));
  EXPECT_TRUE(HasWildcard("+"));
  EXPECT_TRUE(HasWildcard("#"));
  EXPECT_TRUE(HasWildcard("a/+/c"));
  EXPECT_TRUE(HasWildcard("a/#"));
}

TEST(TopicLevelReaderTest, Splits) {
  auto split = [](std::string_view t) {
    std::vector<std::string> out;
    for (TopicLevelReader r(t); !r.done();) out.emplace_back(r.Next());
    return out;
  };
  EXPECT_EQ(split("a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(split("a/bc/d"), (std::vector<std::string>{"a", "bc", "d"}));
  EXPECT_EQ(split(""), (std::vector<std::string>{""}));
  EXPECT_EQ(split("/a/"), (std::vector<std::string>{"", "a", ""}));
}

// Checks both argument orders: the rule is symmetric.
void ExpectMatch(std::string_view a, std::string_view b, bool want) {
  EXPECT_EQ(TopicsMatch(a, b), want) << a << " vs " << b;
  EXPECT_EQ(TopicsMatch(b, a), want) << b << " vs " << a;
}

TEST(TopicsMatchTest, Exact) {
  ExpectMatch("a", "a", true);
  ExpectMatch("a/b/c", "a/b/c", true);
  ExpectMatch("a/b", "a/c", false);
  ExpectMatch("a", "a/b", false);
  ExpectMatch("a/b", "ab", false);
}

TEST(TopicsMatchTest, SingleLevel) {
  ExpectMatch("+", "a", true);
  ExpectMatch("+/kitchen/+", "house/kitchen/temp", true);
  ExpectMatch("a/+", "a/b/c", false);
  ExpectMatch("a/+", "a", false);
  ExpectMatch("+", "a/b", false);
  ExpectMatch("+/+", "a/b", true);
  ExpectMatch("a/+/c", "a/b/d", false);
}

TEST(TopicsMatchTest, MultiLevel) {
  ExpectMatch("#", "a", true);
  ExpectMatch("#", "a/b/c", true);
  ExpectMatch("house/#", "house/kitchen/temp", true);
  ExpectMatch("house/#", "house", true);  // '#' matches zero levels, as in MQTT
  ExpectMatch("house/#", "garden/kitchen", false);
  ExpectMatch("a/b/#", "a", false);
  ExpectMatch("+/#", "a", true);
  ExpectMatch("a/+/#", "a", false);
  ExpectMatch("a/+/#", "a/b", true);
}

TEST(TopicsMatchTest, WildcardsFacingEachOther) {
  ExpectMatch("+", "+", true);
  ExpectMatch("#", "#", true);
  ExpectMatch("+", "#", true);
  ExpectMatch("a/+", "a/#", true);
  ExpectMatch("a/+/c", "+/b/+", true);
  ExpectMatch("a/+/c", "+/b/d", false);
  ExpectMatch("+/+", "#", true);
  ExpectMatch("+/+", "+", false);
  ExpectMatch("a/#", "b/#", false);
  ExpectMatch("a/#", "+", true);  // '+' takes `a`, '#' matches zero levels
}

}  // namespace
}  // namespace herald
