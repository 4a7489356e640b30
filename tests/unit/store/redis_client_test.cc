// RedisClient, RedisScript and the URL parser against a real redis-server.
#include "server/store/redis_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "server/store/redis_script.h"
#include "server/store/redis_url.h"
#include "tests/unit/store/redis_server.h"

namespace herald {
namespace {

// Runs the loop until `done` holds or `ms` pass (bounded, never a sleep).
class Loop {
 public:
  Loop() : base_(event_base_new()) {}
  ~Loop() { event_base_free(base_); }
  event_base* base() { return base_; }
  bool RunUntil(const std::function<bool()>& done, int ms = 5000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      timeval tv{0, 5000};
      event_base_loopexit(base_, &tv);
      event_base_loop(base_, EVLOOP_ONCE);
    }
    return true;
  }

 private:
  event_base* base_;
};

RedisClientOptions Options(int port) {
  RedisClientOptions o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = port;
  o.connect_timeout_ms = 500;
  o.command_timeout_ms = 300;
  o.backoff_min_ms = 20;
  o.backoff_max_ms = 100;
  return o;
}

std::string ReplyString(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string(r->str, r->len)
             : "<none>";
}

TEST(RedisUrlTest, ParsesTheCommonForms) {
  auto a = ParseRedisUrl("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  auto b = ParseRedisUrl("redis://:s3cret@cache");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "cache");
  EXPECT_EQ(b->port, 6379);
  EXPECT_EQ(b->password, "s3cret");
  auto c = ParseRedisUrl("redis://user:p@ss@[::1]:7000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 7000);
  EXPECT_EQ(c->password, "p@ss");
}

TEST(RedisUrlTest, RefusesBadInputWithAReason) {
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x",
                          "redis://h/db", "redis://[::1", "redis://[::1]x"}) {
    auto r = ParseRedisUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().reason().find("store.redis_url"), std::string::npos) << bad;
  }
}

TEST(RedisUrlTest, ParsesTheSentinelForm) {
  auto a = ParseRedisUrl("redis+sentinel://:pw@10.0.0.1,10.0.0.2:26380,[::1]:5000/mymaster/3");
  ASSERT_TRUE(a.ok()) << a.status().reason();
  ASSERT_EQ(a->sentinels.size(), 3u);
  EXPECT_EQ(a->sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(a->sentinels[0].port, 26379);  // Sentinel's default port
  EXPECT_EQ(a->sentinels[1].host, "10.0.0.2");
  EXPECT_EQ(a->sentinels[1].port, 26380);
  EXPECT_EQ(a->sentinels[2].host, "::1");
  EXPECT_EQ(a->sentinels[2].port, 5000);
  EXPECT_EQ(a->sentinel_master, "mymaster");
  EXPECT_EQ(a->db, 3);
  EXPECT_EQ(a->password, "pw");
  auto b = ParseRedisUrl("redis+sentinel://s1/m");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->sentinel_master, "m");
  EXPECT_EQ(b->db, 0);
  EXPECT_TRUE(ParseRedisUrl("redis://h").value().sentinels.empty());
}

TEST(RedisUrlTest, RefusesBadSentinelUrlsWithAReason) {
  for (const char* bad :
       {"redis+sentinel://s1", "redis+sentinel://s1/", "redis+sentinel://s1,/m",
        "redis+sentinel://,s1/m", "redis+sentinel://s1:0/m", "redis+sentinel://s1:x/m",
        "redis+sentinel://s1/m/x", "redis+sentinel:///m", "sentinel://s1/m"}) {
    auto r = ParseRedisUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().reason().find("store.redis_url"), std::string::npos) << bad;
  }
  EXPECT_NE(ParseRedisUrl("redis+sentinel://s1").status().reason().find("master's name"),
            std::string::npos);
}

TEST(RedisClientTest, ConnectsAndPipelinesCommands) {
  RedisServer redis;
  Loop loop;
  RedisClient client(loop.base(), Options(redis.port()), nullptr);
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] { return client.state() == RedisClient::State::kUp; }));
  int answered = 0;
  std::string last;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(client.Command({"INCR", "n"}, [&](const redisReply* r) {
      ++answered;
      last = r ? std::to_string(r->integer) : "<none>";
    }));
  }
  ASSERT_TRUE(loop.RunUntil([&] { return answered == 100; }));
  EXPECT_EQ(last, "100");
  EXPECT_GE(client.round_trips(), 100);
}

TEST(RedisClientTest, AuthenticatesAndSelectsTheDatabase) {
  RedisServer redis({"--requirepass", "pw"});
  Loop loop;
  RedisClientOptions o = Options(redis.port());
  o.endpoint.password = "pw";
  o.endpoint.db = 3;
  RedisClient client(loop.base(), o, nullptr);
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] { return client.state() == RedisClient::State::kUp; }));
  std::string db;
  client.Command({"CLIENT", "INFO"}, [&](const redisReply* r) { db = ReplyString(r); });
  ASSERT_TRUE(loop.RunUntil([&] { return !db.empty(); }));
  EXPECT_NE(db.find(" db=3 "), std::string::npos) << db;
}

TEST(RedisClientTest, AWrongPasswordKeepsItDownAndSaysWhy) {
  RedisServer redis({"--requirepass", "pw"});
  Loop loop;
  RedisClientOptions o = Options(redis.port());
  o.endpoint.password = "wrong";
  RedisClient client(loop.base(), o, nullptr);
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] { return client.detail().find("AUTH") != std::string::npos; }));
  EXPECT_NE(client.state(), RedisClient::State::kUp);
  EXPECT_FALSE(client.Command({"PING"}, nullptr));
  // It keeps trying, with backoff, rather than giving up.
  ASSERT_TRUE(loop.RunUntil([&] { return client.reconnects() >= 2; }));
}

TEST(RedisClientTest, ReconnectsAndResubscribesAfterRedisRestarts) {
  RedisServer redis;
  Loop loop;
  std::vector<std::string> got;
  std::vector<std::string> states;
  RedisClient sub(
      loop.base(), Options(redis.port()),
      [&](RedisClient::State s, const std::string&) { states.push_back(RedisStateName(s)); },
      [&](std::string_view channel, std::string_view pattern, std::string_view payload) {
        got.push_back(std::string(channel) + "|" + std::string(pattern) + "|" +
                      std::string(payload));
      });
  RedisClient pub(loop.base(), Options(redis.port()), nullptr);
  sub.Subscribe("SUBSCRIBE", "t:a");
  sub.Subscribe("PSUBSCRIBE", "t:house/*");
  sub.Start();
  pub.Start();
  auto up = [&] {
    return sub.state() == RedisClient::State::kUp && pub.state() == RedisClient::State::kUp;
  };
  ASSERT_TRUE(loop.RunUntil(up));
  auto publish_until_heard = [&](const std::string& channel, const std::string& body) {
    const size_t before = got.size();
    // Until Redis confirmed the SUBSCRIBE a message is not heard: publish again.
    return loop.RunUntil([&] {
      pub.Command({"PUBLISH", channel, body}, nullptr);
      loop.RunUntil([&] { return got.size() > before; }, 50);
      return got.size() > before;
    });
  };
  ASSERT_TRUE(publish_until_heard("t:a", "one"));
  EXPECT_EQ(got.back(), "t:a||one");
  ASSERT_TRUE(publish_until_heard("t:house/kitchen", "two"));
  EXPECT_EQ(got.back(), "t:house/kitchen|t:house/*|two");

  redis.Kill();
  ASSERT_TRUE(loop.RunUntil([&] { return sub.state() == RedisClient::State::kDown; }));
  EXPECT_FALSE(pub.Command({"PING"}, nullptr));
  redis.Start();
  ASSERT_TRUE(loop.RunUntil(up));
  ASSERT_TRUE(publish_until_heard("t:a", "three"));
  EXPECT_EQ(got.back(), "t:a||three");
  EXPECT_EQ(sub.subscriptions(), 2u);

  sub.Unsubscribe("SUBSCRIBE", "t:a");
  const size_t heard = got.size();
  ASSERT_TRUE(publish_until_heard("t:house/x", "four"));  // still subscribed to the pattern
  pub.Command({"PUBLISH", "t:a", "five"}, nullptr);
  ASSERT_TRUE(publish_until_heard("t:house/y", "six"));
  for (size_t i = heard; i < got.size(); ++i) EXPECT_EQ(got[i].find("five"), std::string::npos);
}

TEST(RedisClientTest, ASlowCommandTimesOutAndTheClientReconnects) {
  RedisServer redis({"--enable-debug-command", "yes"});
  Loop loop;
  RedisClient client(loop.base(), Options(redis.port()), nullptr);
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] { return client.state() == RedisClient::State::kUp; }));
  bool answered = false;
  const redisReply* reply = reinterpret_cast<const redisReply*>(1);
  client.Command({"DEBUG", "SLEEP", "1"}, [&](const redisReply* r) {
    answered = true;
    reply = r;
  });
  ASSERT_TRUE(loop.RunUntil([&] { return answered; }));
  EXPECT_EQ(reply, nullptr);  // failed by the watchdog, not answered after a second
  EXPECT_EQ(client.detail(), "command timeout");
  ASSERT_TRUE(loop.RunUntil([&] { return client.state() == RedisClient::State::kUp; }, 5000));
}

TEST(RedisClientTest, AServerThatNeverAnswersTimesOutTheConnect) {
  // A socket that listens but never accepts: TCP connects, Redis never answers.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  Loop loop;
  RedisClient client(loop.base(), Options(ntohs(a.sin_port)), nullptr);
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] { return client.detail() == "connect timeout"; }));
  EXPECT_NE(client.state(), RedisClient::State::kUp);
  close(fd);
}

// A redis-sentinel on a free port that monitors 127.0.0.1:`port` as
// `name` (quorum 1). It names that server as the master from the start,
// whatever the server's role.
class Sentinel {
 public:
  Sentinel(const std::string& name, int port) {
    char dir[] = "/tmp/herald-sentinel-XXXXXX";
    dir_ = mkdtemp(dir);
    port_ = FreeLoopbackPort();
    const std::string conf = dir_ + "/sentinel.conf";
    FILE* f = fopen(conf.c_str(), "w");
    fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\n", port_,
            dir_.c_str(), name.c_str(), port);
    fclose(f);
    pid_ = fork();
    if (pid_ == 0) {
      execlp("redis-sentinel", "redis-sentinel", conf.c_str(), "--loglevel", "warning", nullptr);
      _exit(127);
    }
  }
  ~Sentinel() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    std::remove((dir_ + "/sentinel.conf").c_str());
    rmdir(dir_.c_str());
  }
  int port() const { return port_; }

  static int FreeLoopbackPort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

RedisClientOptions SentinelOptions(std::vector<int> sentinel_ports, const std::string& master) {
  RedisClientOptions o = Options(0);
  for (int port : sentinel_ports) o.endpoint.sentinels.push_back({"127.0.0.1", port});
  o.endpoint.sentinel_master = master;
  return o;
}

TEST(RedisClientTest, AsksTheSentinelsInTurnForTheMaster) {
  RedisServer master;
  Sentinel sentinel("m1", master.port());
  Loop loop;
  // The first sentinel is not there: the second one answers.
  RedisClient client(
      loop.base(), SentinelOptions({Sentinel::FreeLoopbackPort(), sentinel.port()}, "m1"), nullptr);
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] { return client.state() == RedisClient::State::kUp; }))
      << client.detail();
  EXPECT_EQ(client.address(), "127.0.0.1:" + std::to_string(master.port()));
  std::string pong;
  ASSERT_TRUE(client.Command({"PING"}, [&](const redisReply* r) { pong = ReplyString(r); }));
  ASSERT_TRUE(loop.RunUntil([&] { return !pong.empty(); }));
  EXPECT_EQ(pong, "PONG");
}

TEST(RedisClientTest, RefusesAServerTheSentinelsNameThatIsNotAMaster) {
  RedisServer master;
  RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
  // A sentinel that (wrongly, as right after a failover) names the replica.
  Sentinel sentinel("m2", replica.port());
  Loop loop;
  std::vector<std::string> details;
  RedisClient client(loop.base(), SentinelOptions({sentinel.port()}, "m2"),
                     [&](RedisClient::State, const std::string& d) { details.push_back(d); });
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] {
    for (const std::string& d : details) {
      if (d.find("ROLE is slave, not master") != std::string::npos) return true;
    }
    return false;
  }));
  EXPECT_NE(client.state(), RedisClient::State::kUp);
}

TEST(RedisClientTest, NoSentinelAnsweringKeepsItDownAndSaysWhy) {
  Loop loop;
  RedisClient client(loop.base(), SentinelOptions({Sentinel::FreeLoopbackPort()}, "m3"), nullptr);
  client.Start();
  ASSERT_TRUE(loop.RunUntil([&] {
    return client.detail().find("no sentinel named master m3") != std::string::npos;
  })) << client.detail();
  EXPECT_EQ(client.state(), RedisClient::State::kDown);
}

TEST(RedisScriptTest, PublishAssignsIdsInOrderAndSurvivesAScriptFlush) {
  RedisServer redis;
  Loop loop;
  std::vector<std::string> heard;
  RedisClient sub(loop.base(), Options(redis.port()), nullptr,
                  [&](std::string_view, std::string_view, std::string_view payload) {
                    heard.emplace_back(payload);
                  });
  RedisClient cmd(loop.base(), Options(redis.port()), nullptr);
  sub.Subscribe("SUBSCRIBE", "h:all");
  sub.Start();
  cmd.Start();
  ASSERT_TRUE(loop.RunUntil([&] {
    return sub.state() == RedisClient::State::kUp && cmd.state() == RedisClient::State::kUp;
  }));
  // Wait for the SUBSCRIBE to land: PUBSUB NUMSUB says 1.
  ASSERT_TRUE(loop.RunUntil([&] {
    long long n = -1;
    cmd.Command({"PUBSUB", "NUMSUB", "h:all"}, [&](const redisReply* r) {
      n = r && r->elements == 2 ? r->element[1]->integer : 0;
    });
    loop.RunUntil([&] { return n >= 0; }, 200);
    return n == 1;
  }));
  std::vector<long long> ids;
  std::vector<std::string> epochs;
  auto publish = [&](const std::string& body) {
    ASSERT_TRUE(
        PublishScript().Run(cmd, {"h:seq", "h:s:a/b", "h:active", "h:epoch", "h:all", "h:tindex"},
                            {"a/b", body, "1000", "1", "77"}, [&](const redisReply* r) {
                              ASSERT_NE(r, nullptr);
                              ASSERT_EQ(r->type, REDIS_REPLY_ARRAY) << ReplyString(r);
                              ids.push_back(r->element[0]->integer);
                              epochs.push_back(ReplyString(r->element[1]));
                            }));
  };
  publish("{\"x\":1}");  // the first run meets NOSCRIPT and loads the script
  publish("{\"x\":2}");
  ASSERT_TRUE(loop.RunUntil([&] { return ids.size() == 2; }));
  bool flushed = false;
  cmd.Command({"SCRIPT", "FLUSH"}, [&](const redisReply*) { flushed = true; });
  ASSERT_TRUE(loop.RunUntil([&] { return flushed; }));
  publish("{\"x\":3}");
  ASSERT_TRUE(loop.RunUntil([&] { return ids.size() == 3 && heard.size() == 3; }));
  EXPECT_EQ(ids, (std::vector<long long>{1, 2, 3}));
  EXPECT_EQ(epochs, (std::vector<std::string>{"77", "77", "77"}));
  EXPECT_EQ(heard[0], "1 77 {\"x\":1}");
  EXPECT_EQ(heard[2], "3 77 {\"x\":3}");
  std::vector<std::string> stream_ids;
  bool read = false;
  cmd.Command({"XRANGE", "h:s:a/b", "-", "+"}, [&](const redisReply* r) {
    for (size_t i = 0; r && i < r->elements; ++i) {
      stream_ids.push_back(ReplyString(r->element[i]->element[0]));
    }
    read = true;
  });
  ASSERT_TRUE(loop.RunUntil([&] { return read; }));
  EXPECT_EQ(stream_ids, (std::vector<std::string>{"1-0", "2-0", "3-0"}));
}

}  // namespace
}  // namespace herald
