// RedisClient: one connection to Redis on a libevent loop (hiredis's async
// API and its libevent adapter), kept alive: AUTH and SELECT on every
// connect, a connect timeout, a command timeout, and reconnection with
// exponential backoff and jitter (so a fleet of nodes does not reconnect in
// lock-step after a Redis restart).
//
// hiredis 0.14 has neither connect nor command timeouts in its async API, so
// both are timers here: the connect timer drops an attempt that has not
// answered PING in time; a watchdog drops the connection when the oldest
// unanswered command is older than the command timeout (replies come in
// order, so the oldest one is enough). Dropping fails every pending command
// (its callback gets a null reply) and schedules a reconnect.
//
// With Sentinel (endpoint.sentinels non-empty) every connect first asks the
// sentinels, in turn, for the master's address (SENTINEL
// get-master-addr-by-name, asynchronously, each within the connect timeout),
// connects there and checks with ROLE that it is a master: a demoted master
// (or a replica the sentinels have not yet re-pointed) takes no writes. A
// READONLY error on any command also drops the connection, so the next
// connect asks the sentinels again.
//
// Subscriptions (SUBSCRIBE, PSUBSCRIBE) are remembered and sent again after
// each reconnect; messages arrive on the `on_message` callback. A
// subscription is confirmed once Redis has answered every SUBSCRIBE sent for
// it on the current connection: from then on, every message published to it
// reaches this client (the `on_subscribed` callback says when). Use one
// client for commands and another for subscriptions: a connection in
// subscribe mode accepts no other command (Redis's rule).
//
// Threading: everything, callbacks included, runs on the loop thread of the
// event_base it was built with.
#pragma once

#include <event2/event.h>
#include <hiredis/async.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/store/redis_url.h"
#include "server/util/c_handles.h"
#include "server/util/status.h"

namespace herald {

struct RedisClientOptions {
  RedisEndpoint endpoint;
  int connect_timeout_ms = 2000;
  int command_timeout_ms = 2000;
  int backoff_min_ms = 100;
  int backoff_max_ms = 5000;
};

class RedisClient {
 public:
  enum class State { kConnecting, kUp, kDown };
  // A reply, or null when the command failed without one (disconnected,
  // timed out, or the client was destroyed).
  using ReplyFn = std::function<void(const redisReply*)>;
  // `channel` is where the message was published; `pattern` is empty for a
  // SUBSCRIBE, the matching pattern for a PSUBSCRIBE.
  using MessageFn =
      std::function<void(std::string_view channel, std::string_view pattern, std::string_view)>;
  using StateFn = std::function<void(State, const std::string& detail)>;
  // kind: "SUBSCRIBE" or "PSUBSCRIBE"; channel: the channel or pattern.
  using SubscribedFn = std::function<void(const std::string& kind, std::string_view channel)>;

  RedisClient(event_base* base, RedisClientOptions options, StateFn on_state,
              MessageFn on_message = nullptr);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void Start();
  State state() const { return state_; }
  const std::string& detail() const { return detail_; }
  int64_t round_trips() const { return round_trips_; }
  int64_t reconnects() const { return reconnects_; }
  // Where the client connects (or last connected): "host:port"; with
  // Sentinel, the master the sentinels named.
  std::string address() const;

  // Sends a command when the client is up; returns false (and never calls
  // `done`) when it is not. Pipelined: many commands may be in flight.
  bool Command(const std::vector<std::string>& argv, ReplyFn done);
  // kind: "SUBSCRIBE" or "PSUBSCRIBE". Remembered across reconnects.
  void Subscribe(const std::string& kind, const std::string& channel);
  void Unsubscribe(const std::string& kind, const std::string& channel);
  size_t subscriptions() const { return subscriptions_.size(); }
  // Whether Redis has confirmed this subscription on the current connection.
  bool Confirmed(const std::string& kind, std::string_view channel) const;
  // Called when a subscription becomes confirmed (after each reconnect too).
  void SetSubscribedCallback(SubscribedFn fn) { on_subscribed_ = std::move(fn); }
  // Calls fn(kind, channel, confirmed) for every subscription held, in order.
  template <class Fn>
  void ForEachSubscription(Fn&& fn) const {
    for (const auto& [key, kind] : subscriptions_) {
      fn(kind, std::string_view(key).substr(kind.size() + 1), confirmed_.count(key) > 0);
    }
  }

 private:
  struct Pending;
  void Connect();
  void ConnectTo(const std::string& host, int port);
  // Sentinel: asks sentinel `index` for the master; on failure the next one.
  void AskSentinel(size_t index, std::string why);
  void OnSentinelAnswer(const redisReply* reply);
  void EndSentinelQuery();
  void Drop(const std::string& why);
  void ScheduleReconnect();
  void SetState(State state, std::string detail);
  bool Send(const std::vector<std::string>& argv, ReplyFn done);
  void SendSubscription(const std::string& kind, const std::string& channel);
  void Handshake();
  void OnMessageReply(const redisReply* reply);
  void OnSubscribeReply(const std::string& kind, std::string_view channel);
  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnSubscriptionReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnSentinelReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnSentinelConnect(const redisAsyncContext* ac, int status);
  static void OnTimer(evutil_socket_t, short, void* arg);
  static void OnReconnectTimer(evutil_socket_t, short, void* arg);

  event_base* base_;
  RedisClientOptions options_;
  StateFn on_state_;
  MessageFn on_message_;
  SubscribedFn on_subscribed_;
  // Not a unique_ptr: hiredis frees the context itself after a failed
  // connect or a disconnect; Drop() frees it when we end it.
  redisAsyncContext* ctx_ = nullptr;
  // The sentinel being asked, if any (hiredis frees it after its reply or
  // a failed connect; EndSentinelQuery frees it when we give up on it).
  redisAsyncContext* sentinel_ctx_ = nullptr;
  size_t sentinel_index_ = 0;
  std::string sentinel_errors_;  // why each sentinel asked so far failed
  std::string host_;             // the server connected to (the master, with Sentinel)
  int port_ = 0;
  State state_ = State::kConnecting;
  std::string detail_;
  int64_t connect_started_ms_ = 0;
  std::deque<int64_t> sent_ms_;  // send times of unanswered commands, oldest first
  std::map<std::string, std::string> subscriptions_;  // "KIND channel" -> kind
  // Current connection only. Replies due counts every SUBSCRIBE sent, even
  // for a subscription dropped since: a reply to an older SUBSCRIBE (before
  // an UNSUBSCRIBE) must not confirm a newer one.
  std::map<std::string, int, std::less<>> replies_due_;
  std::set<std::string, std::less<>> confirmed_;
  EventPtr timer_;            // connect timeout and command watchdog
  EventPtr reconnect_timer_;  // the backoff wait
  int backoff_ms_ = 0;
  std::mt19937 rng_;
  int64_t round_trips_ = 0;
  int64_t reconnects_ = 0;
  uint64_t generation_ = 0;  // a reply from an older connection is not a round trip of this one
};

const char* RedisStateName(RedisClient::State state);

// A reply's text (a bulk string or a status), empty for anything else.
std::string_view ReplyText(const redisReply* r);
// What a caller answers when `client` (may be null) is not up or a command
// got no reply: unavailable, "Redis <its last error>" or "Redis down".
Status RedisUnavailable(const RedisClient* client);
Status RedisUnavailable(const std::string& detail);

}  // namespace herald
