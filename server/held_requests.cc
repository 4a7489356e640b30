#include "server/held_requests.h"

#include <event2/bufferevent.h>

#include <utility>
#include <vector>

namespace herald {

HeldRequests::~HeldRequests() {
  for (auto& [token, entry] : held_) {
    if (evhttp_connection* evcon = evhttp_request_get_connection(entry->req)) {
      evhttp_connection_set_closecb(evcon, nullptr, nullptr);
    }
  }
}

uint64_t HeldRequests::Hold(evhttp_request* req, End on_end) {
  const uint64_t token = next_token_++;
  auto entry = std::make_unique<Entry>(Entry{this, token, req, std::move(on_end)});
  evhttp_connection* evcon = evhttp_request_get_connection(req);
  // Held for longer than evhttp's idle timeout: no read/write timeout meanwhile.
  bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), nullptr, nullptr);
  evhttp_connection_set_closecb(evcon, &HeldRequests::OnClose, entry.get());
  held_.emplace(token, std::move(entry));
  return token;
}

void HeldRequests::OnClose(evhttp_connection*, void* arg) {
  auto* entry = static_cast<Entry*>(arg);
  HeldRequests* self = entry->owner;
  auto it = self->held_.find(entry->token);
  if (it == self->held_.end()) return;
  std::unique_ptr<Entry> owned = std::move(it->second);
  self->held_.erase(it);
  // evhttp detached the unanswered request from the dying connection;
  // answering it now just frees it.
  evhttp_send_reply_end(owned->req);
  if (owned->on_end) owned->on_end(owned->token, nullptr);
}

evhttp_request* HeldRequests::Get(uint64_t token) const {
  auto it = held_.find(token);
  return it == held_.end() ? nullptr : it->second->req;
}

evhttp_request* HeldRequests::Release(uint64_t token) {
  auto it = held_.find(token);
  if (it == held_.end()) return nullptr;
  evhttp_request* req = it->second->req;
  held_.erase(it);
  if (evhttp_connection* evcon = evhttp_request_get_connection(req)) {
    evhttp_connection_set_closecb(evcon, nullptr, nullptr);
    evhttp_connection_set_timeout(evcon, idle_timeout_s_);
  }
  return req;
}

void HeldRequests::EndAll() {
  std::vector<uint64_t> tokens;
  tokens.reserve(held_.size());
  for (auto& [token, entry] : held_) tokens.push_back(token);
  for (uint64_t token : tokens) {
    auto it = held_.find(token);
    if (it == held_.end()) continue;  // an earlier on_end let it go
    End on_end = std::move(it->second->on_end);
    evhttp_request* req = Release(token);
    if (on_end) on_end(token, req);
  }
}

}  // namespace herald
