// POST /event: the es-web-notify publish (shout and whisper).
#include <algorithm>
#include <memory>
#include <vector>

#include "auth/acl.h"
#include "auth/bind_key.h"
#include "auth/jwt.h"
#include "auth/secret.h"
#include "handlers/handlers.h"
#include "handlers/subscribe_request.h"
#include "server/context.h"
#include "server/core/space.h"
#include "server/hub.h"
#include "server/net/api_auth.h"
#include "server/util/json.h"

namespace herald {
namespace {

struct Target {
  std::string topic;
  uint64_t whisper = 0;
  bool binded = false;   // a bound publish: the topic's ACL decides
  std::string password;  // for the ACL's pub_password
  AclRecordRef acl;
};

// The space form of a target, {"space": "shop", "channel": "orders"}: the
// channel's topic in the space namespace (server/core/space.h). Sets *topic to
// nullptr when the item names no space.
Status ParseSpaceTarget(const cJSON* item, std::string* topic) {
  const cJSON* space = cJSON_GetObjectItemCaseSensitive(item, "space");
  const cJSON* channel = cJSON_GetObjectItemCaseSensitive(item, "channel");
  if (!space && !channel) return Status::Ok();
  if (cJSON_GetObjectItemCaseSensitive(item, "topic")) {
    return Status::BadRequest("Either topic or space and channel");
  }
  if (!cJSON_IsString(space) || !IsValidSpaceName(space->valuestring)) {
    return Status::BadRequest("Invalid space");
  }
  if (!cJSON_IsString(channel) || channel->valuestring[0] == '\0') {
    return Status::BadRequest("Invalid channel");
  }
  *topic = SpaceTopic(space->valuestring, channel->valuestring);
  return Status::Ok();
}

Result<std::vector<Target>> ParseTargets(const cJSON* ep, const Limits& limits) {
  if (!cJSON_IsArray(ep)) return Status::BadRequest("Event Points should be an array");
  if (cJSON_GetArraySize(ep) == 0) return Status::BadRequest("Event Points should not be empty");
  if (cJSON_GetArraySize(ep) > limits.max_filters_per_connection) {
    return Status::BadRequest("Too many event points (at most " +
                              std::to_string(limits.max_filters_per_connection) + ")");
  }
  std::vector<Target> out;
  const cJSON* item;
  cJSON_ArrayForEach(item, ep) {
    Target t;
    const cJSON* topic = item;
    std::string space_topic;
    if (cJSON_IsObject(item)) {
      Status space = ParseSpaceTarget(item, &space_topic);
      if (!space.ok()) return space;
      topic = cJSON_GetObjectItemCaseSensitive(item, "topic");
      if (!topic && space_topic.empty()) return Status::BadRequest("Topic missing");
      const cJSON* whisper = cJSON_GetObjectItemCaseSensitive(item, "whisper");
      if (whisper && !cJSON_IsNull(whisper)) {
        auto id = JsonUint53(whisper);
        if (!id || *id == 0) return Status::BadRequest("Whisper should be a connection id");
        t.whisper = *id;
      }
      t.binded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "binded"));
      const cJSON* password = cJSON_GetObjectItemCaseSensitive(item, "password");
      if (password && !cJSON_IsNull(password)) {
        if (!cJSON_IsString(password)) return Status::BadRequest("Password should be a string");
        t.password = password->valuestring;
      }
    }
    if (!space_topic.empty()) {
      t.topic = std::move(space_topic);
    } else {
      if (!cJSON_IsString(topic)) return Status::BadRequest("Topic should be a string");
      t.topic = topic->valuestring;
      Status reserved = CheckNotReserved(t.topic);
      if (!reserved.ok()) return reserved;
    }
    Status s = ValidateFilter(t.topic, limits);
    if (!s.ok()) return s;
    out.push_back(std::move(t));
  }
  return out;
}

// Bound targets: the bind key says who publishes; each bound topic must be
// registered in the ACL, admit the user in `pub` and match its password.
Status AuthorizeBoundPublish(const ServerContext& ctx, const cJSON* root,
                             std::vector<Target>* targets) {
  bool any = false;
  for (const Target& t : *targets) any |= t.binded;
  if (!any) return Status::Ok();
  const cJSON* bind_key = cJSON_GetObjectItemCaseSensitive(root, "bind_key");
  if (!bind_key || cJSON_IsNull(bind_key)) {
    // As es-web-notify: "binded" only works with a bind key; without one the
    // publish is a plain one (it reaches no bound subscription).
    for (Target& t : *targets) t.binded = false;
    return Status::Ok();
  }
  if (!cJSON_IsString(bind_key)) return Status::BadRequest("Bind key should be a string");
  auto id = DecodeBindKey(ctx.bind_key_private_key.get(), bind_key->valuestring, NowMs(),
                          ctx.config.auth.bind_key_max_age_ms);
  if (!id.ok()) return id.status();
  const Principal who{true, id->uid};
  for (Target& t : *targets) {
    if (!t.binded) continue;
    if (HasWildcard(t.topic)) {
      return Status::BadRequest("Binded event points cannot have wildcards: " + t.topic);
    }
    // Atomic: with auth.acl_source redis the bridge thread swaps it.
    const std::shared_ptr<const Acl> acl = std::atomic_load(&ctx.acl);
    t.acl = acl ? acl->Find(t.topic) : nullptr;
    if (!t.acl) return Status::Forbidden("Event point is not registered: " + t.topic);
    if (!t.acl->MayPublish(who)) return Status::Forbidden("Not allowed to publish to " + t.topic);
    if (!t.acl->PasswordOk(t.password)) {
      return Status::Forbidden("Wrong password for " + t.topic);
    }
  }
  return Status::Ok();
}

// What the publisher's credentials let it publish to: everything (a static
// token), or the filters of a publisher JWT's `publish` claim.
struct PublishGrant {
  bool everything = false;
  std::vector<std::string> filters;
};

// A publisher JWT (Authorization: Bearer <jwt> that is not a static token):
// its `publish` claim lists the topic filters it may publish to; anything
// outside them is a 403 (CheckPublishGrant).
Result<PublishGrant> PublisherGrant(const ServerContext& ctx, const HttpRequest& req) {
  // Listeners let /event through with any Authorization header when JWTs are
  // configured (ListenerChecksToken), so everything but a JWT gets the static check here.
  const std::string_view given = ctx.config.auth.JwtEnabled() ? req.BearerToken() : "";
  bool static_token = false;
  for (const std::string& t : ctx.config.tokens) static_token |= SecretsEqual(t, given);
  if (given.empty() || static_token || std::count(given.begin(), given.end(), '.') != 2) {
    if (AuthorizePrivate(ctx.config, req)) return PublishGrant{true, {}};
    return Status::Unauthorized("Missing or wrong token");
  }
  auto claims = VerifyJwt(given, ctx.jwt_keys, ctx.jwt_policy, NowMs() / 1000);
  if (!claims.ok()) return Status::Unauthorized("unauthorized: " + claims.status().reason());
  if (!claims->has_publish) return Status::Forbidden("Token grants no publish");
  return PublishGrant{false, std::move(claims->publish)};
}

// A wildcard target must be granted literally, since the symmetric
// TopicsMatch would let `+` slip past `news/#`.
Status CheckPublishGrant(const PublishGrant& grant, const std::vector<Target>& targets) {
  if (grant.everything) return Status::Ok();
  for (const Target& t : targets) {
    bool allowed = false;
    for (const std::string& f : grant.filters) {
      allowed |= HasWildcard(t.topic) ? f == t.topic : TopicsMatch(f, t.topic);
    }
    if (!allowed) return Status::Forbidden("Not allowed to publish to " + t.topic);
  }
  return Status::Ok();
}

// The event's {"type","detail"} as subscribers get it: the publisher's own
// text of both values (docs/protocol.md, "Payloads pass through"), only
// minified and made pure ASCII. No `detail` in the publish, none delivered.
// REQUIRES: IsStrictJson(object_text).
Result<std::string> EventJsonOf(std::string_view object_text, const Limits& limits) {
  auto e = JsonMemberText(object_text, "e");
  if (!e || e->front() != '{') return Status::BadRequest("Event should be an object");
  auto type = JsonMemberText(*e, "type");
  if (!type || type->front() != '"') return Status::BadRequest("Event type should be a string");
  std::string out = "{\"type\":" + *PassThroughJson(*type);
  if (auto detail = JsonMemberText(*e, "detail")) out += ",\"detail\":" + *PassThroughJson(*detail);
  out += "}";
  if (static_cast<int64_t>(out.size()) > limits.max_event_bytes) {
    return Status::TooLarge("Event too large: " + std::to_string(out.size()) +
                            " bytes encoded, limits.max_event_bytes is " +
                            std::to_string(limits.max_event_bytes));
  }
  return out;
}

Result<std::string> EventJson(const std::string& body, const Limits& limits) {
  // Stricter than cJSON (which the rest of the body went through): what is
  // forwarded must be JSON that every client parses.
  if (!IsStrictJson(body)) return Status::BadRequest("Invalid JSON in body");
  return EventJsonOf(body, limits);
}

struct ParsedPublish {
  std::vector<Target> targets;
  std::string e_json;
};

Result<ParsedPublish> ParsePublish(ServerContext& ctx, const HttpRequest& req) {
  if (req.method != "POST") return Status::BadRequest("Method is not POST");
  if (!IsValidUtf8(req.body)) return Status::BadRequest("Body is not valid UTF-8");
  CJsonPtr root = ParseJson(req.body);
  if (!root || !cJSON_IsObject(root.get())) return Status::BadRequest("Invalid JSON in body");
  auto targets =
      ParseTargets(cJSON_GetObjectItemCaseSensitive(root.get(), "ep"), ctx.config.limits);
  if (!targets.ok()) return targets.status();
  auto grant = PublisherGrant(ctx, req);
  if (!grant.ok()) return grant.status();
  Status jwt = CheckPublishGrant(*grant, *targets);
  if (!jwt.ok()) return jwt;
  Status bound = AuthorizeBoundPublish(ctx, root.get(), &*targets);
  if (!bound.ok()) return bound;
  // Encoded once here; every worker and subscriber shares these bytes.
  auto e_json = EventJson(req.body, ctx.config.limits);
  if (!e_json.ok()) return e_json.status();
  return ParsedPublish{std::move(*targets), std::move(*e_json)};
}

// The answers of one request's appends, one per target, gathered on the
// caller's loop: the reply goes out once the last one is in.
struct PublishReplies {
  std::vector<uint64_t> seqs;
  Status failed;  // the first failure, if any
  size_t waiting = 0;
  uint32_t epoch = 0;
};

// The store could not take the event (a shared store unreachable): nothing
// of a failed target was delivered; the publisher retries.
HttpResponse StoreFailedReply(const Status& failed) {
  HttpResponse resp =
      HttpResponse::FromStatus(Status::Unavailable("Store unavailable: " + failed.reason()));
  resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

HttpResponse PublishReply(const PublishReplies& r) {
  if (!r.failed.ok()) return StoreFailedReply(r.failed);
  std::string ids = "[";
  for (uint64_t seq : r.seqs) {
    if (ids.size() > 1) ids += ",";
    ids += JsonString(FormatEventId(r.epoch, seq));
  }
  ids += "]";
  return HttpResponse::Json("{\"id\":" + JsonString(FormatEventId(r.epoch, r.seqs.front())) +
                            ",\"ids\":" + ids + "}");
}

// Answers through `done` once the store has taken every target (in target
// order: the store assigns ids in the order of the appends).
void Publish(ServerContext& ctx, const HttpRequest& req, Responder done) {
  auto parsed = ParsePublish(ctx, req);
  if (!parsed.ok()) return done(HttpResponse::FromStatus(parsed.status()));
  auto replies = std::make_shared<PublishReplies>();
  replies->seqs.resize(parsed->targets.size());
  replies->waiting = parsed->targets.size();
  replies->epoch = ctx.hub->epoch();
  // The reply is complete once the last append completes, which may be
  // inside the last Publish call (CallerPostOrRun).
  const PostFn post = ctx.hub->CallerPostOrRun();
  for (size_t i = 0; i < parsed->targets.size(); ++i) {
    Target& t = parsed->targets[i];
    ctx.topic_rates.Note(t.topic, NowMs());  // for the dashboard's top topics
    ctx.hub->Publish(std::move(t.topic), parsed->e_json, t.whisper, std::move(t.acl), false, post,
                     [&ctx, replies, i, done](Status s, uint64_t seq) {
                       if (!s.ok() && replies->failed.ok()) replies->failed = std::move(s);
                       replies->seqs[i] = seq;
                       if (--replies->waiting > 0) return;
                       // The epoch the store answered under (Redis that lost
                       // its data has a new one, learnt from this very reply).
                       replies->epoch = ctx.hub->epoch();
                       done(PublishReply(*replies));
                     });
  }
}

// Batch publish: the body is a JSON array of publish objects, each as a
// single POST /event would send it. Every target of every item is one event.
// All items are parsed and authorized before any is published; the store
// takes the batch in one step (Store::AppendBatch), so its ids are
// consecutive in body order.
Status ItemError(size_t index, const Status& s) {
  return s.WithContext("Batch item " + std::to_string(index) + ": ");
}

// One item of a batch, from its text. Only `ep` goes through cJSON (and the
// whole item when it names a bind key): the `detail` tree a full parse would
// build is never used, and building and freeing it was a fifth of a batch's
// CPU. REQUIRES: IsStrictJson(text).
Result<ParsedPublish> ParseBatchItem(ServerContext& ctx, std::string_view text,
                                     const PublishGrant& grant) {
  if (text.front() != '{') return Status::BadRequest("Batch items should be objects");
  const auto ep_text = JsonMemberText(text, "ep");
  CJsonPtr ep = ep_text ? ParseJson(std::string(*ep_text)) : nullptr;
  auto targets = ParseTargets(ep.get(), ctx.config.limits);
  if (!targets.ok()) return targets.status();
  Status s = CheckPublishGrant(grant, *targets);
  if (!s.ok()) return s;
  if (JsonMemberText(text, "bind_key")) {
    CJsonPtr item = ParseJson(std::string(text));
    s = AuthorizeBoundPublish(ctx, item.get(), &*targets);
    if (!s.ok()) return s;
  }
  auto e_json = EventJsonOf(text, ctx.config.limits);
  if (!e_json.ok()) return e_json.status();
  return ParsedPublish{std::move(*targets), std::move(*e_json)};
}

Result<std::vector<ParsedPublish>> ParseBatch(ServerContext& ctx, const HttpRequest& req) {
  if (!IsStrictJson(req.body)) return Status::BadRequest("Invalid JSON in body");
  auto texts = JsonArrayItemTexts(req.body);
  if (!texts) return Status::BadRequest("Invalid JSON in body");
  if (texts->empty()) return Status::BadRequest("Batch should not be empty");
  auto grant = PublisherGrant(ctx, req);
  if (!grant.ok()) return grant.status();
  const int64_t max_events = ctx.config.limits.max_batch_events;
  std::vector<ParsedPublish> items;
  items.reserve(texts->size());
  int64_t events = 0;
  for (size_t i = 0; i < texts->size(); ++i) {
    auto item = ParseBatchItem(ctx, (*texts)[i], *grant);
    if (!item.ok()) return ItemError(i, item.status());
    events += static_cast<int64_t>(item->targets.size());
    if (events > max_events) {
      return Status::TooLarge("Batch too large: more than " + std::to_string(max_events) +
                              " events, limits.max_batch_events");
    }
    items.push_back(std::move(*item));
  }
  return items;
}

// {"events": [<each item's answer, as a single publish's>]}: item k's
// targets have the ids first_seq + (targets before it) onwards.
HttpResponse BatchReply(const std::vector<size_t>& targets_per_item, uint32_t epoch,
                        uint64_t first_seq) {
  // Appended in place: a batch of thousands answers thousands of ids.
  auto append_id = [epoch](std::string* out, uint64_t seq) {
    out->push_back('"');
    AppendEventId(out, epoch, seq);  // hex and digits: nothing to escape
    out->push_back('"');
  };
  std::string out = "{\"events\":[";
  out.reserve(16 + targets_per_item.size() * 60);
  uint64_t seq = first_seq;
  for (size_t k = 0; k < targets_per_item.size(); ++k) {
    if (k > 0) out += ',';
    out += "{\"id\":";
    append_id(&out, seq);
    out += ",\"ids\":[";
    for (size_t t = 0; t < targets_per_item[k]; ++t, ++seq) {
      if (t > 0) out += ',';
      append_id(&out, seq);
    }
    out += "]}";
  }
  out += "]}";
  return HttpResponse::Json(std::move(out));
}

void PublishBatch(ServerContext& ctx, const HttpRequest& req, Responder done) {
  auto items = ParseBatch(ctx, req);
  if (!items.ok()) return done(HttpResponse::FromStatus(items.status()));
  std::vector<Hub::BatchItem> events;
  std::vector<size_t> targets_per_item;
  targets_per_item.reserve(items->size());
  const int64_t now = NowMs();
  for (ParsedPublish& item : *items) {
    targets_per_item.push_back(item.targets.size());
    for (Target& t : item.targets) {
      ctx.topic_rates.Note(t.topic, now);  // for the dashboard's top topics
      events.push_back(
          Hub::BatchItem{std::move(t.topic), item.e_json, t.whisper, std::move(t.acl)});
    }
  }
  const uint32_t epoch = ctx.hub->epoch();
  ctx.hub->PublishBatch(
      std::move(events), ctx.hub->CallerPostOrRun(),
      [done, epoch, targets_per_item = std::move(targets_per_item)](Status s, uint64_t first) {
        if (!s.ok()) return done(StoreFailedReply(s));
        done(BatchReply(targets_per_item, epoch, first));
      });
}

// A bound publish may cost an RSA decryption and a PBKDF2 derivation (tens of
// ms): it runs on the background thread, so the loop that took the request
// keeps its streams flowing. A mention of the key anywhere in the body is
// enough to go there; the answer is the same either way.
bool MayBeSlow(const HttpRequest& req) {
  return req.body.find("\"bind_key\"") != std::string::npos;
}

// A body that starts with `[` is a batch; anything else is the single form.
bool IsBatch(const HttpRequest& req) {
  const size_t start = req.body.find_first_not_of(" \t\r\n");
  return start != std::string::npos && req.body[start] == '[';
}

void PublishAndAnswer(ServerContext& ctx, const HttpRequest& req, const Responder& done) {
  Responder answer = [&ctx, done](HttpResponse resp) {
    // A store failure (5xx) is not the publisher's fault.
    if (resp.status >= 400 && resp.status < 500) Add(ctx.stats.rejected_bad);
    done(std::move(resp));
  };
  if (!IsBatch(req)) return Publish(ctx, req, std::move(answer));
  if (req.method != "POST") {
    return answer(HttpResponse::FromStatus(Status::BadRequest("Method is not POST")));
  }
  if (!IsValidUtf8(req.body)) {
    return answer(HttpResponse::FromStatus(Status::BadRequest("Body is not valid UTF-8")));
  }
  PublishBatch(ctx, req, std::move(answer));
}

}  // namespace

void RegisterPublishHandlers(ServerContext& ctx) {
  ctx.private_routes.Add(
      "/event",
      [&ctx](const HttpRequest& req, Responder done) {
        if (!MayBeSlow(req) || !ctx.background) return PublishAndAnswer(ctx, req, done);
        ctx.background->Post([&ctx, req, done] { PublishAndAnswer(ctx, req, done); });
      },
      true);
}

}  // namespace herald
