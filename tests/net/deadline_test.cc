// The server's deadlines against slow clients (slowloris), in-process on
// loopback: a byte now and then is not progress.
//
// - Connections trickling a Hello one byte at a time, well inside the idle
//   timeout, are closed at hello_timeout_ms and counted as such, and their
//   slots are taken again.
// - A frame trickled after the Hello is closed at frame_timeout_ms.
// - What is not the client's fault does not count: a connection silent after
//   its Hello stays, a frame sent in two parts in time is served, and a
//   partial frame the server holds back (its in_flight_max reached, the shard
//   stalled) is not timed while held.
//
// The idle timeout is long (kIdleMs) in every test, so that a close before it
// can only come from the deadline under test. Waits are on outcomes, bounded
// by kWaitLimit.
#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "encore/commands.h"
#include "encore/net/protocol.h"
#include "encore/net/server.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/loopback_server.h"
#include "support/raw_connection.h"

namespace encore::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kWaitLimit = std::chrono::seconds(10);
constexpr uint32_t kIdleMs = 5'000;
constexpr uint32_t kDeadlineMs = 250;
// One byte per connection every kTrickle: ten a second would have kept a
// connection open forever before the deadlines.
constexpr auto kTrickle = std::chrono::milliseconds(20);

bool WaitUntil(const std::function<bool()>& done) {
  const SteadyClock::time_point deadline = SteadyClock::now() + kWaitLimit;
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::vector<uint8_t> HelloFrame() {
  std::vector<uint8_t> frame;
  net::AppendHelloRequest(1, net::HelloRequest{net::kProtocolVersion, "slow", ""}, &frame);
  return frame;
}

std::vector<uint8_t> ChargeFrame(uint64_t id, UserId user, uint64_t key) {
  std::vector<uint8_t> frame;
  net::AppendCommandRequest(id, MakeCharge(user, 1, key), &frame);
  return frame;
}

// Sends `frame` one byte per kTrickle, all but its last byte, to every
// connection, until `stop` holds or the bytes run out (the frame must outlast
// the deadline under test); returns how long it trickled.
SteadyClock::duration Trickle(std::vector<std::unique_ptr<RawConnection>>& connections,
                              const std::vector<uint8_t>& frame,
                              const std::function<bool()>& stop) {
  const SteadyClock::time_point start = SteadyClock::now();
  for (size_t i = 0; i + 1 < frame.size() && !stop(); ++i) {
    for (auto& connection : connections) {
      // A send to a connection the server closed may fail: that is the point.
      (void)connection->Send(std::span<const uint8_t>(&frame[i], 1));
    }
    std::this_thread::sleep_for(kTrickle);
  }
  return SteadyClock::now() - start;
}

TEST(DeadlineTest, HelloTrickledByteByByteIsClosedAtTheHelloDeadline) {
  constexpr uint32_t kConnections = 24;
  net::ServerOptions options;
  options.idle_timeout_ms = kIdleMs;
  options.hello_timeout_ms = kDeadlineMs;
  options.connections_max = kConnections;
  LoopbackServer server(nullptr, 1, options);
  const std::vector<uint8_t> hello = HelloFrame();
  ASSERT_GT(hello.size() * kTrickle, std::chrono::milliseconds(3 * kDeadlineMs))
      << "the Hello must outlast the deadline when trickled";

  std::vector<std::unique_ptr<RawConnection>> slow;
  for (uint32_t i = 0; i < kConnections; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server.client_port()));
    ASSERT_TRUE(slow.back()->connected());
  }
  ASSERT_TRUE(WaitUntil([&] { return server.server().stats().connections_open == kConnections; }));
  const SteadyClock::duration trickled = Trickle(slow, hello, [&] {
    return server.server().stats().connections_hello_timeout_closed == kConnections;
  });
  const auto trickled_ms = std::chrono::duration_cast<std::chrono::milliseconds>(trickled).count();
  std::printf(
      "[ figures  ] %u connections trickling a Hello (1 byte / %lld ms): all closed after "
      "%lld ms (hello_timeout_ms %u, idle_timeout_ms %u)\n",
      kConnections, static_cast<long long>(kTrickle.count()), static_cast<long long>(trickled_ms),
      kDeadlineMs, kIdleMs);
  const net::Server::Stats stats = server.server().stats();
  EXPECT_EQ(stats.connections_hello_timeout_closed, kConnections);
  EXPECT_EQ(stats.connections_idle_closed, 0u);
  EXPECT_LT(trickled_ms, kIdleMs / 2);
  for (auto& connection : slow) EXPECT_TRUE(connection->ReceivesClose());
  ASSERT_TRUE(WaitUntil([&] { return server.server().stats().connections_open == 0; }));

  // The table is free again, and a client that says Hello in time stays past
  // the Hello deadline, silent, and is served.
  RawConnection good(server.client_port());
  ASSERT_EQ(good.Hello().kind, net::ResponseKind::kHello);
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * kDeadlineMs));
  EXPECT_EQ(good.Command(2, MakeCharge(5, 7, 1)).code, ResultCode::kOk);
  EXPECT_EQ(server.server().stats().connections_hello_timeout_closed, kConnections);
}

TEST(DeadlineTest, FrameTrickledAfterTheHelloIsClosedAtTheFrameDeadline) {
  net::ServerOptions options;
  options.idle_timeout_ms = kIdleMs;
  options.frame_timeout_ms = kDeadlineMs;
  LoopbackServer server(nullptr, 1, options);

  std::vector<std::unique_ptr<RawConnection>> slow;
  slow.push_back(std::make_unique<RawConnection>(server.client_port()));
  ASSERT_EQ(slow.back()->Hello().kind, net::ResponseKind::kHello);
  const std::vector<uint8_t> charge = ChargeFrame(2, 9, 1);
  ASSERT_GT(charge.size() * kTrickle, std::chrono::milliseconds(3 * kDeadlineMs));
  const SteadyClock::duration trickled = Trickle(
      slow, charge, [&] { return server.server().stats().connections_frame_timeout_closed == 1; });
  std::printf(
      "[ figures  ] a frame trickled after the Hello: closed after %lld ms "
      "(frame_timeout_ms %u)\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(trickled).count()),
      kDeadlineMs);
  EXPECT_EQ(server.server().stats().connections_frame_timeout_closed, 1u);
  EXPECT_EQ(server.server().stats().connections_idle_closed, 0u);
  EXPECT_TRUE(slow.back()->ReceivesClose());

  // A frame in two parts, the second within the deadline, is served; and a
  // silent connection with no partial frame is not timed.
  RawConnection split(server.client_port());
  ASSERT_EQ(split.Hello().kind, net::ResponseKind::kHello);
  const std::vector<uint8_t> frame = ChargeFrame(3, 9, 2);
  const size_t half = frame.size() / 2;
  ASSERT_TRUE(split.Send(std::span<const uint8_t>(frame.data(), half)));
  std::this_thread::sleep_for(std::chrono::milliseconds(kDeadlineMs / 3));
  ASSERT_TRUE(split.Send(std::span<const uint8_t>(frame.data() + half, frame.size() - half)));
  const std::optional<net::DecodedResponse> reply = split.Receive();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->code, ResultCode::kOk);
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * kDeadlineMs));
  EXPECT_EQ(split.Command(4, MakeBalance(9)).reply.balance, 1);
  EXPECT_EQ(server.server().stats().connections_frame_timeout_closed, 1u);
}

TEST(DeadlineTest, PartialFrameHeldBackByTheServerIsNotTimed) {
  net::ServerOptions options;
  options.idle_timeout_ms = kIdleMs;
  options.frame_timeout_ms = kDeadlineMs;
  options.io_threads = 1;
  options.in_flight_max = 1;
  LoopbackServer server(nullptr, 1, options);
  RawConnection client(server.client_port());
  ASSERT_EQ(client.Hello().kind, net::ResponseKind::kHello);

  // Stall the shard: the first charge stays in flight, so the server holds
  // the second and the half frame behind it.
  std::promise<void> stalled;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread staller([&] {
    server.engine().Inspect(0, [&](const Core&) {
      stalled.set_value();
      released.wait();
    });
  });
  stalled.get_future().wait();
  std::vector<uint8_t> bytes = ChargeFrame(2, 11, 1);
  const std::vector<uint8_t> second = ChargeFrame(3, 11, 2);
  bytes.insert(bytes.end(), second.begin(), second.end());
  const std::vector<uint8_t> third = ChargeFrame(4, 11, 3);
  const size_t half = third.size() / 2;
  bytes.insert(bytes.end(), third.begin(), third.begin() + static_cast<ptrdiff_t>(half));
  ASSERT_TRUE(client.Send(bytes));
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * kDeadlineMs));
  release.set_value();
  staller.join();
  // The frame clock starts once the server waits for the rest: it comes in
  // time, and every charge is answered.
  ASSERT_TRUE(client.Send(std::span<const uint8_t>(third.data() + half, third.size() - half)));
  for (int i = 0; i < 3; ++i) {
    const std::optional<net::DecodedResponse> reply = client.Receive();
    ASSERT_TRUE(reply.has_value()) << "reply " << i;
    EXPECT_EQ(reply->code, ResultCode::kOk);
  }
  EXPECT_EQ(client.Command(5, MakeBalance(11)).reply.balance, 3);
  EXPECT_EQ(server.server().stats().connections_frame_timeout_closed, 0u);
}

TEST(DeadlineTest, TimeoutsOutOfRangeAreRefused) {
  net::ServerOptions options;
  options.hello_timeout_ms = net::kTimeoutMsLimit + 1;
  EXPECT_EQ(net::ValidateServerOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options = {};
  options.frame_timeout_ms = net::kTimeoutMsLimit + 1;
  const absl::Status status = net::ValidateServerOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("frame_timeout_ms"), std::string::npos) << status;
  options = {};
  options.hello_timeout_ms = 0;
  options.frame_timeout_ms = 0;
  EXPECT_TRUE(net::ValidateServerOptions(options).ok());
}

}  // namespace
}  // namespace encore::testing
