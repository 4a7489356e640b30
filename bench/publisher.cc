#include "bench/publisher.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace herald_bench {

Publisher::~Publisher() = default;

bool Publisher::Open(uint32_t n) {
  while (conns_.size() < n) {
    auto c = std::make_unique<Conn>();
    c->pub = this;
    c->dst = &cfg_.pubs[conns_.size() % cfg_.pubs.size()];
    c->body.reset(evbuffer_new());
    if (!Connect(c.get())) return false;
    conns_.push_back(std::move(c));
  }
  return true;
}

bool Publisher::Connect(Conn* c) {
  c->bev.reset(bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE));
  if (!c->bev) return false;
  c->http.Reset();
  c->busy = false;
  bufferevent_setcb(c->bev.get(), OnRead, nullptr, OnEvent, c);
  bufferevent_enable(c->bev.get(), EV_READ | EV_WRITE);
  sockaddr_in dst = c->dst->addr;
  return bufferevent_socket_connect(c->bev.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) ==
         0;
}

void Publisher::Publish(const std::string& topic, int phase) {
  queue_.push_back({topic, phase});
  Pump();
}

void Publisher::Pump() {
  for (auto& c : conns_) {
    if (queue_.empty()) return;
    if (c->busy || !c->bev) continue;
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    Send(c.get(), p);
  }
}

void Publisher::Send(Conn* c, const Pending& p) {
  char detail[64];
  snprintf(detail, sizeof detail, "{\"t\":%llu,\"p\":%d}",
           static_cast<unsigned long long>(RealtimeUs()), p.phase);
  // The same JSON goes to both servers; Nchan relays it verbatim as the message.
  std::string body =
      "{\"ep\":[\"" + p.topic + "\"],\"e\":{\"type\":\"bench\",\"detail\":" + detail + "}}";
  evbuffer* out = bufferevent_get_output(c->bev.get());
  if (cfg_.server != ServerKind::kHerald) {  // Nchan's form; the floor speaks it too
    std::string path = cfg_.pub_path;
    size_t at = path.find("{topic}");
    if (at != std::string::npos) path.replace(at, 7, p.topic);
    evbuffer_add_printf(out,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        path.c_str(), c->dst->host.c_str(), body.size());
  } else {
    evbuffer_add_printf(out,
                        "POST /event HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                        c->dst->host.c_str(), cfg_.token.c_str(), body.size());
  }
  evbuffer_add(out, body.data(), body.size());
  c->busy = true;
  ++in_flight_;
  ++sent;
}

void Publisher::OnRead(bufferevent*, void* arg) {
  Conn* c = static_cast<Conn*>(arg);
  Publisher* pub = c->pub;
  HttpResponseParser::Result r = c->http.Feed(bufferevent_get_input(c->bev.get()), c->body.get());
  if (r.error) {
    OnEvent(c->bev.get(), BEV_EVENT_ERROR, c);
    return;
  }
  if (!r.complete) return;
  size_t len = evbuffer_get_length(c->body.get());
  std::string body(len, '\0');
  evbuffer_remove(c->body.get(), body.data(), len);
  int status = c->http.status();
  if (status >= 200 && status < 300) {
    ++pub->ok;
    if (pub->record_ids) {
      CJsonPtr j(cJSON_ParseWithLength(body.data(), body.size()));
      const cJSON* id = cJSON_GetObjectItemCaseSensitive(j.get(), "id");
      pub->ids.push_back(cJSON_IsString(id) ? id->valuestring : "");
    }
  } else {
    ++pub->failed;
    pub->last_fail_status = status;
    pub->last_fail_body = body.substr(0, 200);
  }
  c->busy = false;
  --pub->in_flight_;
  if (!c->http.keep_alive()) {
    c->bev.reset();
    ++pub->reconnects;
    pub->Connect(c);
  } else {
    c->http.Reset();
  }
  pub->Pump();
  if (pub->on_response) pub->on_response();
}

void Publisher::OnEvent(bufferevent*, short what, void* arg) {
  Conn* c = static_cast<Conn*>(arg);
  if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) return;
  Publisher* pub = c->pub;
  if (c->busy) {
    // Not retried: the server may have accepted it, and a duplicate would
    // distort the delivery count more than a reported failure does.
    ++pub->failed;
    pub->last_fail_status = -1;
    c->busy = false;
    --pub->in_flight_;
  }
  c->bev.reset();
  if (++pub->reconnects_ <= 1000) {
    ++pub->reconnects;
    pub->Connect(c);
  }
  pub->Pump();
  if (pub->on_response) pub->on_response();
}

}  // namespace herald_bench
