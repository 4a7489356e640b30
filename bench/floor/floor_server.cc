#include "bench/floor/floor_server.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "bench/floor/request_head.h"

namespace herald_floor {
namespace {

constexpr size_t kMaxHead = 16 * 1024;
constexpr int kMaxEvents = 256;
constexpr std::string_view kSubPrefix = "/sub/";
constexpr std::string_view kPubPrefix = "/pub?";
constexpr std::string_view kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Connection: keep-alive\r\n\r\n";
constexpr std::string_view kAccepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view kNotFound =
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

}  // namespace

FloorServer::FloorServer(int listen_fd)
    : listen_fd_(listen_fd),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

FloorServer::~FloorServer() {
  for (auto& c : conns_) {
    if (c) close(c->fd);
  }
  close(wake_fd_);
  close(epoll_fd_);
  close(listen_fd_);
}

int FloorServer::Run() {
  if (epoll_fd_ < 0 || wake_fd_ < 0) return 1;
  for (int fd : {listen_fd_, wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return 1;
  }
  epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        Accept();
        continue;
      }
      if (fd == wake_fd_) {
        DrainInbox();
        continue;
      }
      Conn* c = size_t(fd) < conns_.size() ? conns_[size_t(fd)].get() : nullptr;
      if (!c) continue;
      if (!c->dead && (events[i].events & EPOLLOUT)) OnWritable(c);
      if (!c->dead && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) OnReadable(c);
    }
    for (Conn* c : dead_) Close(c);
    dead_.clear();
  }
}

void FloorServer::Accept() {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or out of descriptors: the client retries
    if (conns_.size() <= size_t(fd)) conns_.resize(size_t(fd) + 1);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    conns_[size_t(fd)] = std::move(c);
  }
}

void FloorServer::OnReadable(Conn* c) {
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n > 0) {
      // A subscriber says nothing after its request; what it sends is dropped.
      if (!c->subscriber) c->in.append(buf, size_t(n));
      if (size_t(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    MarkDead(c);  // EOF or error
    return;
  }
  if (!c->subscriber && !HandleRequests(c)) MarkDead(c);
}

bool FloorServer::HandleRequests(Conn* c) {
  for (;;) {
    RequestHead head;
    ParseResult r = ParseRequestHead(c->in, &head);
    if (r == ParseResult::kBad || (r == ParseResult::kIncomplete && c->in.size() > kMaxHead)) {
      Send(c, kBadRequest);
      return false;
    }
    if (r == ParseResult::kIncomplete) return true;
    if (c->in.size() < head.head_len + head.body_len) return true;  // body still coming
    std::string_view body(c->in.data() + head.head_len, head.body_len);
    if (head.method == "GET" && head.target.substr(0, kSubPrefix.size()) == kSubPrefix) {
      Subscribe(c, head.target.substr(kSubPrefix.size()));
      return true;
    }
    if (head.method == "POST" && head.target.substr(0, kPubPrefix.size()) == kPubPrefix) {
      std::string topic(QueryParam(head.target, "id"));
      if (!Send(c, kAccepted)) return false;
      Publish(topic, body);
    } else {
      Send(c, kNotFound);
      return false;
    }
    c->in.erase(0, head.head_len + head.body_len);
  }
}

void FloorServer::Subscribe(Conn* c, std::string_view topic) {
  c->subscriber = true;
  c->topic.assign(topic);
  std::string().swap(c->in);  // a stream needs no input buffer
  topics_[c->topic].push_back(c->fd);
  if (!Send(c, kSseHead)) MarkDead(c);
}

void FloorServer::Publish(const std::string& topic, std::string_view body) {
  // Encoded once per event, then one send() per subscriber.
  frame_.assign("id: ");
  frame_.append(std::to_string(next_id_++));
  frame_.append("\ndata: ");
  frame_.append(body);
  frame_.append("\n\n");
  FanOut(topic, frame_);
  for (FloorServer* peer : peers_) peer->Post(topic, frame_);
}

void FloorServer::Post(const std::string& topic, const std::string& frame) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    first = inbox_.empty();
    inbox_.emplace_back(topic, frame);
  }
  uint64_t one = 1;
  // One wake-up per batch: later posts find the inbox non-empty.
  if (first && write(wake_fd_, &one, sizeof one) < 0) perror("eventfd write");
}

void FloorServer::DrainInbox() {
  uint64_t n = 0;
  if (read(wake_fd_, &n, sizeof n) < 0 && errno != EAGAIN) perror("eventfd read");
  std::vector<std::pair<std::string, std::string>> batch;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    batch.swap(inbox_);
  }
  for (const auto& [topic, frame] : batch) FanOut(topic, frame);
}

void FloorServer::FanOut(const std::string& topic, std::string_view frame) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  for (int fd : it->second) {
    Conn* s = conns_[size_t(fd)].get();
    if (!s->dead && !Send(s, frame)) MarkDead(s);
  }
}

bool FloorServer::Send(Conn* c, std::string_view data) {
  if (!c->out.empty()) {
    c->out.append(data);  // keeps the order; OnWritable flushes it
    return true;
  }
  ssize_t n = send(c->fd, data.data(), data.size(), MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN) return false;
    n = 0;
  }
  if (size_t(n) < data.size()) {
    c->out.assign(data.substr(size_t(n)));
    WatchWrites(c, true);
  }
  return true;
}

void FloorServer::OnWritable(Conn* c) {
  ssize_t n = send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN) MarkDead(c);
    return;
  }
  c->out.erase(0, size_t(n));
  if (c->out.empty()) {
    std::string().swap(c->out);
    WatchWrites(c, false);
  }
}

void FloorServer::WatchWrites(Conn* c, bool on) {
  epoll_event ev{};
  ev.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
  ev.data.fd = c->fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void FloorServer::MarkDead(Conn* c) {
  if (c->dead) return;
  c->dead = true;
  dead_.push_back(c);
}

void FloorServer::Close(Conn* c) {
  int fd = c->fd;
  if (c->subscriber) {
    auto it = topics_.find(c->topic);
    if (it != topics_.end()) {
      auto& fds = it->second;
      auto pos = std::find(fds.begin(), fds.end(), fd);
      if (pos != fds.end()) {
        *pos = fds.back();
        fds.pop_back();
      }
      if (fds.empty()) topics_.erase(it);
    }
  }
  close(fd);
  conns_[size_t(fd)].reset();
}

}  // namespace herald_floor
