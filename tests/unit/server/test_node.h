// TestNode: a node without listeners' traffic, for unit tests of the parts that need real
// workers — running loops (listening on a loopback port nobody connects to), a real Hub with
// the memory store, the node's ServerContext. RunOn() runs code on a worker's loop and waits
// for its result; tasks and events share a worker's inbox, so everything published or posted
// to that worker before the call has been dispatched when the code runs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "server/context.h"
#include "server/hub.h"
#include "server/net/net_address.h"
#include "server/worker.h"

namespace herald {

class TestNode {
 public:
  // Adjust ctx().config before Start (history limits, poll.max_batch...).
  ServerContext& ctx() { return ctx_; }
  Hub& hub() { return *ctx_.hub; }
  Worker& worker(size_t w) { return *ctx_.workers[w]; }

  // `store`: the Hub's store (default: the memory store of ctx().config.history).
  void Start(int workers, std::unique_ptr<Store> store = nullptr) {
    ctx_.config.listen = HostPort{"127.0.0.1", 0};
    uint16_t port = 0;
    auto fd = ListenSocket(ctx_.config.listen, "listen", &port);
    ASSERT_TRUE(fd.ok());
    listen_fd_ = *fd;
    for (int i = 0; i < workers; ++i) {
      ctx_.workers.push_back(std::make_unique<Worker>(i, &ctx_));
      ASSERT_TRUE(ctx_.workers.back()->Init(listen_fd_).ok());
    }
    ctx_.hub =
        store ? std::make_unique<Hub>(&ctx_, std::move(store)) : std::make_unique<Hub>(&ctx_);
    for (auto& w : ctx_.workers) w->Start();
  }

  ~TestNode() {
    for (auto& w : ctx_.workers) w->Shutdown();
    for (auto& w : ctx_.workers) w->Join();
    ctx_.workers.clear();
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  template <class Fn>
  auto RunOn(size_t w, Fn fn) {
    using R = decltype(fn());
    // Shared with the task: the worker may still be inside set_value when get() returns.
    auto done = std::make_shared<std::promise<R>>();
    auto result = done->get_future();
    ctx_.workers[w]->Post([done, fn = std::move(fn)]() mutable {
      if constexpr (std::is_void_v<R>) {
        fn();
        done->set_value();
      } else {
        done->set_value(fn());
      }
    });
    return result.get();
  }

  // Publishes from the test thread and waits for the store's answer; returns the seq (0 if the
  // store failed). The completion runs on the store's thread (the memory store: this one).
  uint64_t Publish(const std::string& topic, std::string_view e_json, uint64_t whisper = 0) {
    auto done = std::make_shared<std::promise<uint64_t>>();
    auto result = done->get_future();
    hub().Publish(
        topic, e_json, whisper, nullptr, false, [](std::function<void()> f) { f(); },
        [done](Status s, uint64_t seq) { done->set_value(s.ok() ? seq : 0); });
    return result.get();
  }

  // The seq of the last event worker `w` has dispatched (after whatever was posted before).
  uint64_t LastDispatched(size_t w) {
    Worker* worker = ctx_.workers[w].get();
    return RunOn(w, [worker] { return worker->last_dispatched_seq(); });
  }

 private:
  ServerContext ctx_;
  int listen_fd_ = -1;
};

}  // namespace herald
