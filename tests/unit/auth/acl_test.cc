#include "auth/acl.h"

#include <gtest/gtest.h>

#include "auth/password.h"

namespace herald {
namespace {

std::shared_ptr<const Acl> Load(const std::string& text) {
  auto acl = Acl::Parse(text, "test");
  EXPECT_TRUE(acl.ok()) << acl.status().reason();
  return acl.ok() ? *acl : nullptr;
}

const Principal kAnon{false, ""};
const Principal kUnidentified{true, ""};
Principal User(const std::string& u) { return Principal{true, u}; }

TEST(Acl, OwnerIsImplicitlyInPubAndSub) {
  auto acl = Load(R"([{"ep":"room/1","owner":"alice"}])");
  auto r = acl->Find("room/1");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->MayPublish(User("alice")));
  EXPECT_TRUE(r->MaySubscribe(User("alice")));
  EXPECT_FALSE(r->MayPublish(User("bob")));
  EXPECT_FALSE(r->MaySubscribe(kAnon));
  EXPECT_FALSE(acl->Find("room/2"));
  EXPECT_FALSE(acl->Find("room/+"));
}

TEST(Acl, ExplicitUsersAndNumericIds) {
  auto r = Load(R"([{"ep":"t","owner":1,"pub":["bob",7],"sub":["carol"]}])")->Find("t");
  EXPECT_TRUE(r->MayPublish(User("1")));
  EXPECT_TRUE(r->MayPublish(User("bob")));
  EXPECT_TRUE(r->MayPublish(User("7")));
  EXPECT_FALSE(r->MaySubscribe(User("bob")));
  EXPECT_TRUE(r->MaySubscribe(User("carol")));
  EXPECT_FALSE(r->SubAll());
}

TEST(Acl, Wildcards) {
  auto acl = Load(R"({"event_points":[
    {"ep":"all","owner":"o","sub":["*"]},
    {"ep":"bound","owner":"o","sub":["+"]},
    {"ep":"unid","owner":"o","sub":["[][][]"]}]})");
  auto all = acl->Find("all"), bound = acl->Find("bound"), unid = acl->Find("unid");
  for (const Principal& p : {kAnon, kUnidentified, User("x")}) EXPECT_TRUE(all->MaySubscribe(p));
  EXPECT_TRUE(all->SubAll());
  EXPECT_FALSE(bound->MaySubscribe(kAnon));
  EXPECT_TRUE(bound->MaySubscribe(kUnidentified));
  EXPECT_TRUE(bound->MaySubscribe(User("x")));
  EXPECT_FALSE(bound->SubAll());
  EXPECT_FALSE(unid->MaySubscribe(kAnon));
  EXPECT_TRUE(unid->MaySubscribe(kUnidentified));
  EXPECT_FALSE(unid->MaySubscribe(User("x")));
  EXPECT_TRUE(unid->MaySubscribe(User("o")));
}

TEST(Acl, Password) {
  std::string h = HashPassword("pw", 1000);
  auto r = Load(R"([{"ep":"t","owner":"o","pub_password":")" + h + R"("}])")->Find("t");
  EXPECT_TRUE(r->PasswordOk("pw"));
  EXPECT_FALSE(r->PasswordOk("nope"));
  EXPECT_FALSE(r->PasswordOk(""));
  EXPECT_TRUE(Load(R"([{"ep":"t","owner":"o"}])")->Find("t")->PasswordOk(""));
}

TEST(Acl, RefusesBadFiles) {
  const char* bad[] = {
      "nope",
      "{}",
      "[1]",
      R"([{"owner":"o"}])",
      R"([{"ep":"a/+","owner":"o"}])",
      R"([{"ep":"a/#"}])",
      R"([{"ep":"a","pub":"x"}])",
      R"([{"ep":"a","sub":[""]}])",
      R"([{"ep":"a","pub_password":"plain"}])",
      R"([{"ep":"a"},{"ep":"a"}])",
      R"([{"ep":"a","owner":[1]}])",
  };
  for (const char* b : bad) EXPECT_FALSE(Acl::Parse(b, "f").ok()) << b;
}

TEST(Acl, OneRecordAtATimeForTheRedisHash) {
  // auth.acl_source redis: each hash value is parsed alone, and a bad one
  // is refused with a reason naming it.
  auto rec = Acl::ParseRecord(R"({"ep":"room/1","owner":"alice","sub":["carol"]})", "field room/1");
  ASSERT_TRUE(rec.ok()) << rec.status().reason();
  EXPECT_TRUE((*rec)->MaySubscribe(User("carol")));
  auto bad = Acl::ParseRecord(R"({"ep":"room/2","sub":"carol"})", "field room/2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().reason(), "field room/2: sub should be an array");
  EXPECT_FALSE(Acl::ParseRecord("not json", "x").ok());
  EXPECT_FALSE(Acl::ParseRecord(R"({"ep":"room/+"})", "x").ok());
  auto acl = Acl::FromRecords({*rec});
  EXPECT_EQ(acl->size(), 1u);
  EXPECT_TRUE(acl->Find("room/1"));
  EXPECT_FALSE(acl->Find("room/2"));
}

}  // namespace
}  // namespace herald
