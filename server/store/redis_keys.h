// How the Redis store lays herald out in Redis (docs/architecture.md, "The
// Redis store"). Every key and channel starts with the configured prefix
// (store.redis_key_prefix, default "herald:"), so several herald clusters can
// share one Redis.
//
//   <p>seq          INCR counter: the one global id sequence
//   <p>epoch        random value set when Redis had none: a change means Redis
//                   lost its data and every cursor is void (`reset`)
//   <p>topics       sorted set, topic -> last publish (ms)
//   <p>tindex       sorted set, plain topic -> 0: the names, for reads by
//                   wildcard filter (ZRANGEBYLEX on the filter's literal
//                   prefix needs one score for all)
//   <p>wtopics      sorted set, wildcard topic (house/#) -> 0: small; every
//                   read lists it (two-way matching)
//   <p>s:<topic>    stream of the topic's history, entry id "<seq>-0"
//   <p>t:<topic>    channel a publish to a plain topic goes to
//   <p>w            channel a publish to a wildcard topic (house/#) goes to:
//                   every node with subscribers listens (two-way matching)
//   <p>n:<node>     channel of one node: whispers and kicks for its connids
//   <p>nodes        sorted set, node id -> the ms (Redis's clock) its
//                   heartbeat expires at: the live nodes score above now
//   <p>pc:<node>    hash, presence topic -> that node's connections counted
//                   for it (@CONNECTION@ events, `available`); expires with
//                   the node's heartbeat (3 TTLs, so a dead node is reaped)
//   <p>q            channel of requests to every node (/disconnect, /connections)
//   <p>q:<node>     channel of requests to one node (a connid's)
//   <p>r:<node>     channel of the answers to a node's requests
//   <p>tk:<ticket>  claims of a ticket (POST /ticket), PX its TTL, GETDEL'd
//                   by the node that redeems it (server/redis_tickets.h)
//   <p>ps:<connid>  hash of a long-poll session: `node` (its owner now, read
//                   by the publish script to route whispers) and `rec` (what
//                   another node needs to adopt it); PX session TTL
//                   (server/poll_share.h)
//   <p>pm:<node>    channel of one node: "<connid>" a session it held moved
//                   away, "kick <connid> <reason>" a /disconnect for it
//   <p>acl          hash of bound topics' ACL records (auth.acl_source redis):
//                   field = topic, value = the ACL file's record JSON
//   <p>acl:changed  channel: a publish (any payload) makes every node reload
//                   <p>acl (server/redis_acl.h)
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/util/status.h"

namespace herald {

class RedisKeys {
 public:
  explicit RedisKeys(std::string prefix) : p_(std::move(prefix)) {}
  std::string seq() const { return p_ + "seq"; }
  std::string epoch() const { return p_ + "epoch"; }
  std::string topics() const { return p_ + "topics"; }
  std::string topic_index() const { return p_ + "tindex"; }
  std::string wildcard_topics() const { return p_ + "wtopics"; }
  std::string stream(std::string_view topic) const { return p_ + "s:" + std::string(topic); }
  std::string channel(std::string_view topic) const { return p_ + "t:" + std::string(topic); }
  std::string wildcard_channel() const { return p_ + "w"; }
  std::string node_channel(int node) const { return p_ + "n:" + std::to_string(node); }
  const std::string& prefix() const { return p_; }
  std::string nodes() const { return p_ + "nodes"; }
  std::string presence_counts(int node) const { return p_ + "pc:" + std::to_string(node); }
  std::string requests() const { return p_ + "q"; }
  std::string requests(int node) const { return p_ + "q:" + std::to_string(node); }
  std::string replies(int node) const { return p_ + "r:" + std::to_string(node); }
  std::string node_channel_prefix() const { return p_ + "n:"; }
  std::string ticket(std::string_view t) const { return p_ + "tk:" + std::string(t); }
  std::string poll_session(uint64_t connid) const { return p_ + "ps:" + std::to_string(connid); }
  std::string poll_moves(int node) const { return poll_moves_prefix() + std::to_string(node); }
  std::string poll_moves_prefix() const { return p_ + "pm:"; }
  std::string acl() const { return p_ + "acl"; }
  std::string acl_changed() const { return p_ + "acl:changed"; }
  // The PSUBSCRIBE pattern for a wildcard filter: a glob that matches the
  // channel of every topic the filter matches, and possibly more (Redis's `*`
  // crosses `/`); the node then filters exactly.
  std::string pattern(std::string_view filter) const;
  // Which topic a message's channel names; empty for the other channels.
  std::string_view TopicOf(std::string_view channel) const;

 private:
  std::string p_;
};

// What travels through Redis for one event (the stream entry and the
// published message): everything a node needs to rebuild the Event. The
// `{"type","detail"}` JSON is carried byte for byte, never re-encoded.
struct StoredEvent {
  std::string topic;
  int64_t iat_ms = 0;
  uint64_t whisper = 0;
  bool presence = false;
  bool bound = false;  // a bound publish: the receiving node applies its ACL record
  std::string e_json;
};

// A whole decimal number (a reply's or a message's field); false on any
// other character.
template <class T>
bool ParseDecimal(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "<topic length>:<topic><iat> <whisper> <flags> <e_json>": length-prefixed
// so a topic may hold any byte, and the JSON is the rest of the string.
std::string EncodeStoredEvent(const StoredEvent& ev);
Result<StoredEvent> DecodeStoredEvent(std::string_view data);

}  // namespace herald
