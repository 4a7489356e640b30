// HeldRequests against a real evhttp server and client on loopback, one
// event_base: a held request answered later, a client that leaves first, and
// shutdown.
#include "server/held_requests.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/http.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <vector>

#include "server/util/c_handles.h"

namespace herald {
namespace {

constexpr timeval kGuard = {10, 0};  // a broken test fails instead of hanging

class HeldRequestsTest : public testing::Test {
 protected:
  void SetUp() override {
    base_.reset(event_base_new());
    http_.reset(evhttp_new(base_.get()));
    ASSERT_TRUE(base_ && http_);
    evhttp_set_gencb(http_.get(), &HeldRequestsTest::OnRequest, this);
    evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http_.get(), "127.0.0.1", 0);
    ASSERT_NE(bound, nullptr);
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    ASSERT_EQ(
        getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&addr), &len),
        0);
    port_ = ntohs(addr.sin_port);
  }

  void TearDown() override {
    held_.reset();  // before http_, which owns the requests
    if (client_) evhttp_connection_free(client_);
  }

  // Sends GET / from a new client connection and runs the loop until the
  // server holds it; returns the token.
  uint64_t RequestAndHold() {
    client_ = evhttp_connection_base_new(base_.get(), nullptr, "127.0.0.1", port_);
    evhttp_request* req = evhttp_request_new(&HeldRequestsTest::OnResponse, this);
    EXPECT_EQ(evhttp_make_request(client_, req, EVHTTP_REQ_GET, "/"), 0);
    RunUntilBreak();
    return token_;
  }

  void RunUntilBreak() {
    event_base_loopexit(base_.get(), &kGuard);
    event_base_dispatch(base_.get());
  }

  static void OnRequest(evhttp_request* req, void* arg) {
    auto* self = static_cast<HeldRequestsTest*>(arg);
    self->token_ = self->held_->Hold(req, [self](uint64_t token, evhttp_request* r) {
      self->ended_.push_back(token);
      self->ended_with_request_ = r != nullptr;
      if (r) evhttp_send_reply(r, 503, "Shutting down", nullptr);
      if (!r) event_base_loopbreak(self->base_.get());
    });
    event_base_loopbreak(self->base_.get());
  }

  static void OnResponse(evhttp_request* req, void* arg) {
    auto* self = static_cast<HeldRequestsTest*>(arg);
    self->status_ = req ? evhttp_request_get_response_code(req) : -1;
    event_base_loopbreak(self->base_.get());
  }

  EventBasePtr base_;
  EvhttpPtr http_;
  std::unique_ptr<HeldRequests> held_ = std::make_unique<HeldRequests>(30);
  evhttp_connection* client_ = nullptr;
  uint16_t port_ = 0;
  uint64_t token_ = 0;
  int status_ = 0;
  std::vector<uint64_t> ended_;
  bool ended_with_request_ = false;
};

TEST_F(HeldRequestsTest, ReleasedRequestIsAnsweredByTheCaller) {
  const uint64_t token = RequestAndHold();
  ASSERT_NE(token, 0u);
  ASSERT_NE(held_->Get(token), nullptr);
  evhttp_request* req = held_->Release(token);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(held_->Get(token), nullptr);
  EXPECT_EQ(held_->Release(token), nullptr);  // once only
  evhttp_send_reply(req, 200, "OK", nullptr);
  RunUntilBreak();
  EXPECT_EQ(status_, 200);
  EXPECT_TRUE(ended_.empty());  // released: on_end never runs
}

TEST_F(HeldRequestsTest, TokensNameTheirOwnRequest) {
  const uint64_t first = RequestAndHold();
  evhttp_connection* first_client = client_;
  const uint64_t second = RequestAndHold();  // a second client connection
  ASSERT_NE(first, second);
  EXPECT_EQ(held_->size(), 2u);
  evhttp_request* req = held_->Release(second);
  ASSERT_NE(req, nullptr);
  EXPECT_NE(held_->Get(first), nullptr);
  EXPECT_NE(held_->Get(first), req);
  evhttp_send_reply(req, 204, "No Content", nullptr);
  RunUntilBreak();
  EXPECT_EQ(status_, 204);
  evhttp_connection_free(first_client);  // still held: TearDown detaches it
}

TEST_F(HeldRequestsTest, EndAllHandsEveryRequestToItsOnEnd) {
  const uint64_t token = RequestAndHold();
  held_->EndAll();
  EXPECT_EQ(ended_, std::vector<uint64_t>{token});
  EXPECT_TRUE(ended_with_request_);
  EXPECT_EQ(held_->size(), 0u);
  RunUntilBreak();  // until the client has the answer on_end sent
  EXPECT_EQ(status_, 503);
}

}  // namespace
}  // namespace herald
