#include "server/private_listener.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <future>

#include "server/api_auth.h"
#include "server/context.h"
#include "server/log.h"
#include "server/net_address.h"

namespace herald {
namespace {

struct PendingRequest {
  HttpRequest request;
  bool too_large = false;
};

MHD_Result CollectValue(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* out = static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
  out->emplace_back(key ? key : "", value ? value : "");
  return MHD_YES;
}

std::string ClientIp(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr) return "";
  char host[INET6_ADDRSTRLEN] = {0};
  const sockaddr* sa = info->client_addr;
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  getnameinfo(sa, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
  return host;
}

MHD_Result Send(MHD_Connection* connection, const ServerContext& ctx, const HttpResponse& r) {
  MHD_Response* resp = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (!resp) return MHD_NO;
  if (r.status != 204) MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
  MHD_add_response_header(resp, "Access-Control-Allow-Origin", ctx.config.cors_origin.c_str());
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  for (const auto& [k, v] : r.headers) MHD_add_response_header(resp, k.c_str(), v.c_str());
  MHD_Result ok = MHD_queue_response(connection, static_cast<unsigned>(r.status), resp);
  MHD_destroy_response(resp);
  return ok;
}

HttpResponse Serve(ServerContext& ctx, PendingRequest& p) {
  HttpRequest& req = p.request;
  if (p.too_large) return HttpResponse::Error(413, "Body too large");
  if (req.method == "OPTIONS") {
    HttpResponse r;
    r.status = 204;
    r.headers = {{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                 {"Access-Control-Allow-Headers", "Content-Type, Authorization"}};
    return r;
  }
  const Router::Route* route = ctx.private_routes.Find(req.path);
  if (!route) return HttpResponse::Error(404, "Not found");
  if (ListenerChecksToken(ctx.config, req) && !AuthorizePrivate(ctx.config, req)) {
    return HttpResponse::Error(401, "Missing or wrong token");
  }
  // This is an MHD connection thread: waiting here blocks no event loop.
  std::promise<HttpResponse> answer;
  std::future<HttpResponse> result = answer.get_future();
  route->handler(req, [&answer](HttpResponse r) { answer.set_value(std::move(r)); });
  return result.get();
}

MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url, const char* method,
                     const char*, const char* upload_data, size_t* upload_data_size,
                     void** con_cls) {
  auto* ctx = static_cast<ServerContext*>(cls);
  auto* pending = static_cast<PendingRequest*>(*con_cls);
  if (!pending) {
    pending = new PendingRequest();  // freed in OnCompleted
    pending->request.method = method;
    pending->request.path = url;
    *con_cls = pending;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    std::string& body = pending->request.body;
    if (body.size() + *upload_data_size > static_cast<size_t>(ctx->config.limits.max_body_bytes)) {
      pending->too_large = true;
    } else if (!pending->too_large) {
      body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, CollectValue,
                            &pending->request.query);
  MHD_get_connection_values(connection, MHD_HEADER_KIND, CollectValue, &pending->request.headers);
  pending->request.remote_ip = ClientIp(connection);
  HttpResponse resp = Serve(*ctx, *pending);
  return Send(connection, *ctx, resp);
}

void OnCompleted(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
  delete static_cast<PendingRequest*>(*con_cls);
  *con_cls = nullptr;
}

}  // namespace

Status PrivateListener::Start() {
  const HostPort& hp = ctx_->config.private_listen;
  auto resolved = ResolveListenAddress(hp, "private_listen");
  if (!resolved.ok()) return resolved.status();
  const bool v6 = resolved->family == AF_INET6;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_AUTO | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
  daemon_.reset(MHD_start_daemon(
      flags, hp.port, nullptr, nullptr, &OnRequest, ctx_, MHD_OPTION_SOCK_ADDR, &resolved->addr,
      MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, nullptr, MHD_OPTION_CONNECTION_LIMIT, 512u,
      MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END));
  if (!daemon_) return Status::Error(500, "private_listen: cannot listen on " + hp.ToString());
  return Status::Ok();
}

uint16_t PrivateListener::port() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_.get(), MHD_DAEMON_INFO_BIND_PORT);
  return info ? info->port : 0;
}

}  // namespace herald
