// POST /disconnect (private): ends every connection matching one selector
// (connid, user, clid or space) on every worker, saying `disconnect` with the
// given reason. Answers {"closed": n}. With Redis, on every live node (a
// connid: on its own node).
#include <string>
#include <vector>

#include "auth/bound_topics.h"
#include "handlers/handlers.h"
#include "handlers/poll_share.h"
#include "server/context.h"
#include "server/core/connid.h"
#include "server/hub.h"
#include "server/util/json.h"
#include "server/util/log.h"
#include "server/worker.h"

namespace herald {
namespace {

constexpr size_t kMaxReasonBytes = 64;

struct Selector {
  enum Kind { kConnId, kUser, kClid, kSpace } kind = kConnId;
  uint64_t connid = 0;
  std::string value;
  std::string reason = "kicked";

  bool Matches(const Connection& c) const {
    switch (kind) {
      case kConnId:
        return c.id() == connid;
      case kUser:
        return c.user == value;
      case kClid:
        return c.clid == value;
      case kSpace:
        return c.space == value;
    }
    return false;
  }
};

bool IsShortPrintable(const std::string& s) {
  if (s.empty() || s.size() > kMaxReasonBytes) return false;
  for (unsigned char ch : s) {
    if (ch < 0x20 || ch > 0x7e) return false;
  }
  return true;
}

Result<Selector> ParseSelector(const std::string& body) {
  CJsonPtr root = ParseJson(body);
  if (!root || !cJSON_IsObject(root.get())) return Status::BadRequest("Invalid JSON in body");
  Selector sel;
  int selectors = 0;
  const cJSON* item;
  cJSON_ArrayForEach(item, root.get()) {
    const std::string key = item->string ? item->string : "";
    if (key == "reason") {
      if (!cJSON_IsString(item) || !IsShortPrintable(item->valuestring)) {
        return Status::BadRequest("reason should be a printable ASCII string of 1 to " +
                                  std::to_string(kMaxReasonBytes) + " bytes");
      }
      sel.reason = item->valuestring;
      continue;
    }
    ++selectors;
    if (key == "connid") {
      auto id = JsonUint53(item);
      if (!id || *id == 0) return Status::BadRequest("connid should be a connection id");
      sel.kind = Selector::kConnId;
      sel.connid = *id;
    } else if (key == "user" || key == "clid" || key == "space") {
      if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
        return Status::BadRequest(key + " should be a non-empty string");
      }
      sel.kind = key == "user"   ? Selector::kUser
                 : key == "clid" ? Selector::kClid
                                 : Selector::kSpace;
      sel.value = item->valuestring;
    } else {
      return Status::BadRequest("Unknown field: " + key);
    }
  }
  if (selectors != 1) {
    return Status::BadRequest("Give exactly one of connid, user, clid, space");
  }
  return sel;
}

// Loop thread of `w`: closes the matching connections, returns how many.
std::string CloseMatching(Worker& w, const Selector& sel) {
  std::vector<Connection*> victims;
  w.ForEachConnection([&](Connection& c) {
    if (!c.closing && sel.Matches(c)) victims.push_back(&c);
  });
  for (Connection* c : victims) {
    c->close_text = sel.reason;
    // A shared long-poll session's record goes too: no node adopts it again.
    if (c->transport() == Transport::kPoll && w.ctx().poll_share) {
      w.ctx().poll_share->Kick(c->id(), sel.reason);
    }
    w.Close(c, CloseReason::kKicked);
  }
  return std::to_string(victims.size());
}

// Closes this node's matching connections; `done(n)` on some worker's thread.
void CloseLocal(ServerContext& ctx, const Selector& sel, std::function<void(int64_t)> done) {
  GatherFromWorkers(
      ctx, [sel](Worker& w) { return CloseMatching(w, sel); },
      [done](std::vector<std::string> parts) {
        int64_t n = 0;
        for (const std::string& p : parts) n += std::stoll(p);
        done(n);
      });
}

// With Redis: this node closes its own, then asks the other live nodes (a
// connid only its own node) and answers the total, naming the nodes that
// did not answer in time (docs/protocol.md, "POST /disconnect").
void DisconnectAcrossNodes(ServerContext& ctx, const Selector& sel, const std::string& body,
                           Responder done) {
  const bool by_connid = sel.kind == Selector::kConnId;
  const int owner = by_connid ? ConnIdNode(sel.connid) : RedisCluster::kEveryNode;
  auto ask = [&ctx, body, owner, done, post = ctx.hub->CallerPost()](int64_t local) {
    ctx.cluster->Ask("disconnect", body, owner, post, [local, done](RedisCluster::Answers a) {
      int64_t n = local;
      for (const auto& [node, closed] : a.replies) n += std::strtoll(closed.c_str(), nullptr, 10);
      done(HttpResponse::Json("{\"closed\":" + std::to_string(n) + a.UnansweredMember() + "}"));
    });
  };
  if (by_connid && owner != ctx.cluster->node_id()) return ask(0);
  CloseLocal(ctx, sel, [ask, by_connid, done](int64_t n) {
    if (by_connid) return done(HttpResponse::Json("{\"closed\":" + std::to_string(n) + "}"));
    ask(n);
  });
}

void HandleDisconnect(ServerContext& ctx, const HttpRequest& req, Responder done) {
  if (req.method != "POST")
    return done(HttpResponse::FromStatus(Status::BadRequest("Method is not POST")));
  Result<Selector> sel = ParseSelector(req.body);
  if (!sel.ok()) {
    Add(ctx.stats.rejected_bad);
    return done(HttpResponse::FromStatus(sel.status()));
  }
  // By connid, a long-poll session may live on another node now: its owner
  // hears the kick through Redis (handlers/poll_share.h).
  if (sel->kind == Selector::kConnId && ctx.poll_share) {
    ctx.poll_share->Kick(sel->connid, sel->reason);
  }
  if (ctx.cluster) return DisconnectAcrossNodes(ctx, *sel, req.body, done);
  CloseLocal(ctx, *sel, [done](int64_t n) {
    done(HttpResponse::Json("{\"closed\":" + std::to_string(n) + "}"));
  });
}

}  // namespace

void RegisterAdminHandlers(ServerContext& ctx) {
  ctx.private_routes.Add(
      "/disconnect",
      [&ctx](const HttpRequest& req, Responder done) { HandleDisconnect(ctx, req, done); }, true);
  if (!ctx.cluster) return;
  // Another node's /disconnect: close ours, answer how many.
  ctx.cluster->OnRequest("disconnect", [&ctx](std::string_view body, RedisCluster::Reply reply) {
    Result<Selector> sel = ParseSelector(std::string(body));
    if (!sel.ok()) return reply("0");
    CloseLocal(ctx, *sel, [reply](int64_t n) { reply(std::to_string(n)); });
  });
}

}  // namespace herald

namespace herald {

Status AuthorizeBoundSubscribe(const ServerContext& ctx, const std::string& bind_key,
                               const std::vector<std::string>& bound, Principal* who) {
  // Atomic: with auth.acl_source redis the bridge thread swaps it.
  const std::shared_ptr<const Acl> acl = std::atomic_load(&ctx.acl);
  return AuthorizeBoundTopics(ctx.bind_key_private_key.get(), acl.get(), bind_key, bound, NowMs(),
                              ctx.config.auth.bind_key_max_age_ms, who);
}

Status LoadBindKeyAuth(ServerContext& ctx) {
  const AuthConfig& a = ctx.config.auth;
  if (!a.bind_key_private_key.empty()) {
    auto key = LoadBindKeyPrivateKeyFile(a.bind_key_private_key);
    if (!key.ok()) return key.status();
    ctx.bind_key_private_key = std::move(*key);
  }
  if (!a.acl_file.empty()) {
    auto acl = LoadAclFile(a.acl_file);
    if (!acl.ok()) return acl.status();
    ctx.acl = *acl;
    LogInfo("auth", 0, "ACL: %zu bound event points from %s", ctx.acl->size(), a.acl_file.c_str());
  }
  return Status::Ok();
}

}  // namespace herald
