#include "handlers/subscribe_request.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

Status Error(const std::string& body) { return ParseEsWebSubscribe(body, Limits()).status(); }

TEST(EsWebSubscribe, ParsesStringsObjectsAndDefaults) {
  auto r = ParseEsWebSubscribe(R"({"ep":["a/b",{"topic":"c/+","binded":true},"a/b"]})", Limits());
  ASSERT_TRUE(r.ok()) << r.status().reason();
  EXPECT_EQ(r->clid, "@ANON_CONNECTION@");
  EXPECT_EQ(r->filters, (std::vector<std::string>{"a/b", "c/+"}));  // duplicate dropped
  EXPECT_EQ(r->bound, (std::vector<std::string>{"c/+"}));
}

TEST(EsWebSubscribe, OriginalErrorTexts) {
  EXPECT_EQ(Error("{bad").reason(), "Invalid JSON in body");
  EXPECT_EQ(Error("[1]").reason(), "Invalid JSON in body");
  EXPECT_EQ(Error(R"({"ep":"a"})").reason(), "Event Points should be an array");
  EXPECT_EQ(Error(R"({})").reason(), "Event Points should be an array");
  EXPECT_EQ(Error(R"({"ep":[{"binded":true}]})").reason(), "Topic missing");
  EXPECT_EQ(Error(R"({"ep":[5]})").reason(), "Topic should be a string");
  EXPECT_EQ(Error(R"({"ep":[{"topic":5}]})").reason(), "Topic should be a string");
}

TEST(EsWebSubscribe, ValidatesTopicsClidAndCount) {
  EXPECT_EQ(Error(R"({"ep":["#/a"]})").reason().rfind("Invalid topic", 0), 0u);
  // Issue 10.6: a clid that is not a string is anonymous, as in the original.
  for (const char* body :
       {R"({"clid":7,"ep":[]})", R"({"clid":{"a":1},"ep":[]})", R"({"clid":null,"ep":[]})"}) {
    auto ok = ParseEsWebSubscribe(body, Limits());
    ASSERT_TRUE(ok.ok()) << body;
    EXPECT_EQ(ok->clid, "@ANON_CONNECTION@") << body;
  }
  EXPECT_EQ(Error(R"({"clid":"a#","ep":[]})").reason(), "Clid should not contain + or #");
  EXPECT_EQ(Error(R"({"clid":"","ep":[]})").reason(), "Clid should not be empty");
  Limits few;
  few.max_filters_per_connection = 2;
  auto r = ParseEsWebSubscribe(R"({"ep":["a","b","c"]})", few);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason().rfind("Too many event points", 0), 0u);
}

}  // namespace
}  // namespace herald
