#include "handlers/subscribe_query.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(SubscribeQuery, TopicsAliasesSpaceChannelAndCursor) {
  Limits l;
  auto r = ParseSubscribeParams({{"topic", "a/+"},
                                 {"ep", "b"},
                                 {"topic", "a/+"},
                                 {"space", "s"},
                                 {"channel", "c"},
                                 {"clid", "me"},
                                 {"lastEventId", "x"},
                                 {"_", "123"}},
                                l, false);
  ASSERT_TRUE(r.ok()) << r.status().reason();
  EXPECT_EQ(r->filters, (std::vector<std::string>{"a/+", "b", "$space/s/c"}));
  EXPECT_EQ(r->clid, "me");
  EXPECT_EQ(r->space, "s");
  EXPECT_EQ(*r->cursor, "x");
}

TEST(SubscribeQuery, Errors) {
  Limits l;
  l.max_filters_per_connection = 2;
  auto reason = [&](Params p, bool optional = false) {
    auto r = ParseSubscribeParams(p, l, optional);
    return r.ok() ? std::string("ok") : r.status().reason();
  };
  EXPECT_EQ(reason({}), "Topic missing");
  EXPECT_EQ(reason({}, true), "ok");
  EXPECT_EQ(reason({{"topic", "a"}, {"topic", "b"}, {"topic", "c"}}),
            "Too many event points (at most 2)");
  EXPECT_EQ(reason({{"channel", "c"}}), "Space missing");
  EXPECT_EQ(reason({{"space", "s"}}), "Channel missing");
  EXPECT_EQ(reason({{"space", "s/x"}, {"channel", "c"}}), "Invalid space");
  EXPECT_EQ(reason({{"space", "+"}, {"channel", "c"}}), "Invalid space");
  EXPECT_EQ(reason({{"space", "s"}, {"space", "t"}, {"channel", "c"}}), "Only one space allowed");
  EXPECT_EQ(reason({{"topic", "a"}, {"connid", "x1"}}), "Invalid data");
  EXPECT_EQ(reason({{"topic", "a"}, {"timeout", "-5"}}), "Invalid timeout");
  EXPECT_EQ(reason({{"topic", "a/#/b"}}).rfind("Invalid topic", 0), 0u);
  // Space channels live under the reserved `$space/`: no plain filter names them.
  EXPECT_EQ(reason({{"topic", "$space/s/c"}}).rfind("Topics starting with '$' are reserved", 0),
            0u);
  EXPECT_EQ(reason({{"space", "$s"}, {"channel", "c"}}), "Invalid space");
}

TEST(SubscribeQuery, CollectsAJsonBodyForPost) {
  HttpRequest req;
  req.method = "POST";
  req.query = {{"clid", "q"}};
  req.body = R"({"topic":["a","b"],"connid":65,"secret":"s","since":"00000001-2","x":null})";
  auto p = CollectParams(req);
  ASSERT_TRUE(p.ok());
  auto r = ParseSubscribeParams(*p, Limits(), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->filters, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*r->connid, 65u);
  EXPECT_EQ(r->secret, "s");
  EXPECT_EQ(r->clid, "q");
  req.body = "[1]";
  EXPECT_FALSE(CollectParams(req).ok());
  req.body = R"({"connid":-1})";
  EXPECT_FALSE(CollectParams(req).ok());
}

}  // namespace
}  // namespace herald
