// The server under overload, in-process on loopback: far more connections
// and requests in flight than its limits allow.
//
// - Connections past connections_max are closed at accept and counted, while
//   the admitted ones keep being served, and a freed slot is taken again.
// - A client pipelining far past in_flight_max is not read any further while
//   its requests are stuck (backpressure), and every request is still
//   answered exactly once (its effect counted once) when they move again.
// - A client that never reads its replies stops being read once
//   output_bytes_max is queued; the process's memory stays bounded while a
//   well-behaved client is served.
// - Idle connections, with or without a Hello, are closed after
//   idle_timeout_ms and their slots freed.
// - A flood of all of it at once: the p99 latency of a well-behaved client
//   and the peak RSS are printed for the record (only sanity-checked).
// - Heavy clients filling a small engine ring: a client sending one request
//   at a time is served every time (no BUSY), the heavy ones are held back
//   instead of refused, and every request is answered once.
//
// Memory is read from /proc/self/status (VmRSS, VmHWM). The bounds are
// asserted only in builds without a sanitizer: ASan keeps freed memory in
// its quarantine, so there RSS says little about what is live.
//
// Waits are on outcomes: blocking receives (with a socket timeout as a hang
// guard), or WaitUntil, a deadline-bounded poll of a server counter.
#include <sys/ioctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "encore/clock.h"
#include "encore/commands.h"
#include "encore/net/client.h"
#include "encore/net/protocol.h"
#include "encore/net/server.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/loopback_server.h"
#include "support/raw_connection.h"

#if defined(__SANITIZE_ADDRESS__)
#define ENCORE_OVERLOAD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ENCORE_OVERLOAD_SANITIZED 1
#endif
#endif
#ifndef ENCORE_OVERLOAD_SANITIZED
#define ENCORE_OVERLOAD_SANITIZED 0
#endif

namespace encore::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Longest a WaitUntil waits for the server to reach a state.
constexpr auto kWaitLimit = std::chrono::seconds(20);
// Seats of the schedule whose seat maps the slow readers ask for: one
// reply is one byte per seat, so 500 KB.
constexpr uint32_t kBigScheduleSeats = 500'000;

// Polls `done` until it holds or kWaitLimit passes; true if it held.
bool WaitUntil(const std::function<bool()>& done) {
  const SteadyClock::time_point deadline = SteadyClock::now() + kWaitLimit;
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); 0 if unreadable.
uint64_t ProcessMemoryKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

net::ServerOptions Limits() {
  net::ServerOptions options;
  options.idle_timeout_ms = 0;
  return options;
}

std::unique_ptr<net::Client> Connect(uint16_t port) {
  net::ClientOptions options;
  options.port = port;
  absl::StatusOr<std::unique_ptr<net::Client>> client = net::Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

ResultCode CallCode(net::Client& client, const Command& command) {
  absl::StatusOr<net::DecodedResponse> response = client.Call(command);
  return response.ok() ? response->code : ResultCode::kUnavailable;
}

Points BalanceOf(net::Client& client, UserId user) {
  absl::StatusOr<net::DecodedResponse> response = client.Call(MakeBalance(user));
  EXPECT_TRUE(response.ok() && response->code == ResultCode::kOk);
  return response.ok() ? response->reply.balance : -1;
}

// A schedule on sale now with no admission limit (an entrant is ACTIVE at
// once), created through the admin port.
void CreateOpenSchedule(LoopbackServer& server, uint32_t seats) {
  std::unique_ptr<net::Client> admin = Connect(server.admin_port());
  ASSERT_NE(admin, nullptr);
  const ScheduleConfig config = OnSaleNowConfig(kSchedule, seats);
  ASSERT_EQ(CallCode(*admin, MakeCreateConcert(kConcert, "Overload", 1)), ResultCode::kOk);
  ASSERT_EQ(CallCode(*admin, MakeCreateSchedule(config, 2)), ResultCode::kOk);
}

// `count` charges of 1 point to `user`, request ids first_id.., keys 1..
std::vector<uint8_t> ChargeBurst(UserId user, uint64_t first_id, uint32_t count) {
  std::vector<uint8_t> frames;
  for (uint32_t i = 0; i < count; ++i) {
    net::AppendCommandRequest(first_id + i, MakeCharge(user, 1, 1 + i), &frames);
  }
  return frames;
}

// Receives `count` replies to ids first_id.. and checks each comes once, OK
// or BUSY; returns how many were OK (-1 if the stream broke).
int64_t ReceiveEachOnce(RawConnection& connection, uint64_t first_id, uint32_t count) {
  std::vector<uint8_t> seen(count, 0);
  int64_t ok = 0;
  for (uint32_t received = 0; received < count; ++received) {
    std::optional<net::DecodedResponse> response = connection.Receive();
    if (!response.has_value()) {
      ADD_FAILURE() << "stream ended after " << received << " of " << count << " replies";
      return -1;
    }
    const uint64_t index = response->id - first_id;
    if (response->id < first_id || index >= count || seen[index] != 0) {
      ADD_FAILURE() << "unexpected or repeated reply id " << response->id;
      return -1;
    }
    seen[index] = 1;
    if (response->code == ResultCode::kOk) {
      ++ok;
    } else {
      EXPECT_EQ(response->code, ResultCode::kBusy) << "id " << response->id;
    }
  }
  return ok;
}

TEST(OverloadTest, ConnectionsPastTheLimitAreRefusedWhileAdmittedOnesAreServed) {
  constexpr uint32_t kConnectionsMax = 8;
  constexpr uint32_t kRefusedAttempts = 200;
  net::ServerOptions options = Limits();
  options.connections_max = kConnectionsMax;
  LoopbackServer server(nullptr, 2, options);

  std::vector<std::unique_ptr<net::Client>> admitted;
  for (uint32_t i = 0; i < kConnectionsMax; ++i) {
    admitted.push_back(Connect(server.client_port()));
    ASSERT_NE(admitted.back(), nullptr);
  }
  uint32_t closed_at_once = 0;
  for (uint32_t attempt = 0; attempt < kRefusedAttempts; ++attempt) {
    RawConnection extra(server.client_port());
    ASSERT_TRUE(extra.connected());
    if (extra.ReceivesClose()) ++closed_at_once;
    // The admitted connections are served all along.
    if (attempt % 25 == 0) {
      for (uint32_t i = 0; i < kConnectionsMax; ++i) {
        EXPECT_EQ(CallCode(*admitted[i], MakeCharge(100 + i, 1, 1 + attempt)), ResultCode::kOk);
      }
    }
  }
  EXPECT_EQ(closed_at_once, kRefusedAttempts);
  net::Server::Stats stats = server.server().stats();
  EXPECT_EQ(stats.connections_refused, kRefusedAttempts);
  EXPECT_EQ(stats.connections_accepted, kConnectionsMax);
  EXPECT_EQ(stats.connections_open, kConnectionsMax);
  for (uint32_t i = 0; i < kConnectionsMax; ++i) EXPECT_EQ(BalanceOf(*admitted[i], 100 + i), 8);

  // A slot freed by a client that leaves is taken by the next one.
  admitted.pop_back();
  ASSERT_TRUE(
      WaitUntil([&] { return server.server().stats().connections_open == kConnectionsMax - 1; }));
  std::unique_ptr<net::Client> next = Connect(server.client_port());
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(CallCode(*next, MakeCharge(200, 5, 1)), ResultCode::kOk);
  std::printf("[ figures  ] connections refused past connections_max=%u: %llu\n", kConnectionsMax,
              static_cast<unsigned long long>(server.server().stats().connections_refused));
}

TEST(OverloadTest, PipelinePastInFlightMaxIsNotReadWhileStuckAndEachRequestIsAnsweredOnce) {
  constexpr uint32_t kInFlightMax = 16;
  // About 5 MB of requests: more than the socket buffers hold.
  constexpr uint32_t kRequests = 50'000;
  constexpr UserId kUser = 42;
  net::ServerOptions options = Limits();
  options.io_threads = 1;
  options.in_flight_max = kInFlightMax;
  LoopbackServer server(nullptr, 1, options);
  RawConnection flooder(server.client_port());
  ASSERT_EQ(flooder.Hello().kind, net::ResponseKind::kHello);

  // Stall the only shard: nothing the flooder sends can complete.
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
  const uint64_t requests_before = server.server().stats().requests;

  const std::vector<uint8_t> burst = ChargeBurst(kUser, 1'000, kRequests);
  std::atomic<bool> sent_all{false};
  std::thread sender([&] {
    EXPECT_TRUE(flooder.Send(burst));
    sent_all.store(true);
  });
  // The server takes exactly in_flight_max requests, then stops reading: the
  // rest stays in the socket, so the sender blocks (or its bytes wait in the
  // kernel, unread).
  ASSERT_TRUE(WaitUntil([&] {
    return server.server().stats().requests == requests_before + kInFlightMax;
  })) << server.server().stats().requests - requests_before;
  ASSERT_TRUE(WaitUntil([&] {
    int unsent = 0;
    return sent_all.load() || (::ioctl(flooder.fd(), TIOCOUTQ, &unsent) == 0 && unsent > 0);
  }));
  // A second connection on the same I/O thread is served meanwhile, so that
  // thread has run its loop with the flooder's bytes pending.
  RawConnection other(server.client_port());
  ASSERT_EQ(other.Hello().kind, net::ResponseKind::kHello);
  EXPECT_EQ(server.server().stats().requests, requests_before + kInFlightMax + 1);
  EXPECT_FALSE(sent_all.load()) << "5 MB of requests fit in the socket buffers: raise kRequests";

  release.set_value();
  staller.join();
  const int64_t ok = ReceiveEachOnce(flooder, 1'000, kRequests);
  sender.join();
  EXPECT_EQ(ok, kRequests) << "with in_flight_max below the ring size nothing is BUSY";
  // Each OK charge took effect once, and nothing else did.
  std::unique_ptr<net::Client> checker = Connect(server.client_port());
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(BalanceOf(*checker, kUser), ok);
}

TEST(OverloadTest, SlowReaderIsNotReadPastOutputBytesMaxAndMemoryStaysBounded) {
  constexpr uint32_t kSeatMapRequests = 300;
  constexpr UserId kSlowUser = 7;
  net::ServerOptions options = Limits();
  options.output_bytes_max = net::kOutputBytesMaxMin;
  LoopbackServer server(nullptr, 2, options);
  CreateOpenSchedule(server, kBigScheduleSeats);
  std::unique_ptr<net::Client> good = Connect(server.client_port());
  ASSERT_NE(good, nullptr);

  RawConnection slow(server.client_port(), /*receive_buffer_bytes=*/4096);
  ASSERT_EQ(slow.Hello().kind, net::ResponseKind::kHello);
  const net::DecodedResponse entered = slow.Command(2, MakeEnterQueue(kSchedule, kSlowUser, 1));
  ASSERT_EQ(entered.code, ResultCode::kOk);
  // One seat map through the good client first, so the steady state (read
  // workers' builders, allocator arenas) is in the baseline.
  {
    absl::StatusOr<net::DecodedResponse> warm =
        good->SeatMap(kSchedule, kSlowUser, entered.reply.token);
    ASSERT_TRUE(warm.ok() && warm->code == ResultCode::kOk);
    ASSERT_EQ(warm->seats.size(), kBigScheduleSeats);
  }
  const uint64_t rss_before_kib = ProcessMemoryKib("VmRSS");
  const uint64_t requests_before = server.server().stats().requests;

  std::vector<uint8_t> requests;
  for (uint32_t i = 0; i < kSeatMapRequests; ++i) {
    net::AppendSeatMapRequest(100 + i, kSchedule, kSlowUser, entered.reply.token, &requests);
  }
  ASSERT_TRUE(slow.Send(requests));  // About 30 KB: fits in the socket buffers.

  // The good client is served while the slow one is stuck. Its round trips
  // also give the server time to take all it will take from the slow one:
  // keep calling until a round of calls sees no change.
  uint64_t good_requests = 0;
  uint64_t slow_taken = 0;
  UserId charge_key = 1;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(CallCode(*good, MakeCharge(9, 1, charge_key++)), ResultCode::kOk);
      ++good_requests;
    }
    const uint64_t taken = server.server().stats().requests - requests_before - good_requests;
    if (round >= 5 && taken == slow_taken) break;
    slow_taken = taken;
  }
  const uint64_t rss_after_kib = ProcessMemoryKib("VmRSS");
  const int64_t growth_kib =
      static_cast<int64_t>(rss_after_kib) - static_cast<int64_t>(rss_before_kib);
  std::printf(
      "[ figures  ] slow reader: %llu of %u seat maps (%u KB each) taken; RSS %llu -> %llu KiB "
      "(%+lld KiB); VmHWM %llu KiB\n",
      static_cast<unsigned long long>(slow_taken), kSeatMapRequests, kBigScheduleSeats / 1000,
      static_cast<unsigned long long>(rss_before_kib),
      static_cast<unsigned long long>(rss_after_kib), static_cast<long long>(growth_kib),
      static_cast<unsigned long long>(ProcessMemoryKib("VmHWM")));
  EXPECT_GT(slow_taken, 0u);
  // Taking them all would mean buffering 150 MB of replies for a client that
  // reads none.
  EXPECT_LT(slow_taken, kSeatMapRequests);
  if (!ENCORE_OVERLOAD_SANITIZED) {
    // What may be held for it: output_bytes_max, plus the reads in flight
    // (500 KB each), swapped between the output and the write buffer, plus
    // allocator slack. Everything it asked for would be 150 MB.
    EXPECT_LT(growth_kib, 32 * 1024);
  }
  EXPECT_EQ(BalanceOf(*good, 9), static_cast<Points>(good_requests));

  // Once it goes, its slot and buffers go too.
  slow.Close();
  EXPECT_TRUE(WaitUntil([&] { return server.server().stats().connections_open == 1; }))
      << server.server().stats().connections_open;
}

TEST(OverloadTest, IdleConnectionsAreClosedAfterTheTimeoutAndTheirSlotsFreed) {
  net::ServerOptions options;
  options.connections_max = 2;
  options.idle_timeout_ms = 200;
  LoopbackServer server(nullptr, 2, options);

  RawConnection silent_after_hello(server.client_port());
  ASSERT_EQ(silent_after_hello.Hello().kind, net::ResponseKind::kHello);
  RawConnection never_spoke(server.client_port());
  ASSERT_TRUE(never_spoke.connected());
  // Both slots are held: a third is refused at once.
  RawConnection third(server.client_port());
  EXPECT_TRUE(third.ReceivesClose());
  EXPECT_EQ(server.server().stats().connections_refused, 1u);

  // Neither sends anything: both are closed by the timeout.
  EXPECT_TRUE(silent_after_hello.ReceivesClose());
  EXPECT_TRUE(never_spoke.ReceivesClose());
  ASSERT_TRUE(WaitUntil([&] { return server.server().stats().connections_open == 0; }));
  EXPECT_EQ(server.server().stats().connections_idle_closed, 2u);

  // The slots are free again: two new connections are both served.
  RawConnection first(server.client_port());
  RawConnection second(server.client_port());
  ASSERT_EQ(first.Hello().kind, net::ResponseKind::kHello);
  ASSERT_EQ(second.Hello().kind, net::ResponseKind::kHello);
  EXPECT_EQ(first.Command(2, MakeCharge(1, 10, 1)).code, ResultCode::kOk);
  EXPECT_EQ(second.Command(2, MakeBalance(1)).reply.balance, 10);
  EXPECT_EQ(server.server().stats().connections_refused, 1u);
}

// One connection pipelining `requests` charges as fast as the server takes
// them, on its own sender thread, while its receiver checks each reply.
class Flooder {
 public:
  Flooder(uint16_t port, UserId user, uint32_t requests)
      : connection_(port), user_(user), requests_(requests) {}

  // False if the connection was refused.
  bool Start() {
    if (connection_.Hello().kind != net::ResponseKind::kHello) return false;
    sender_ = std::thread([this] {
      const std::vector<uint8_t> burst = ChargeBurst(user_, kFirstId, requests_);
      EXPECT_TRUE(connection_.Send(burst));
    });
    receiver_ = std::thread([this] { ok_ = ReceiveEachOnce(connection_, kFirstId, requests_); });
    return true;
  }
  // REQUIRES: Start() returned true. Returns how many charges were OK.
  int64_t Join() {
    sender_.join();
    receiver_.join();
    return ok_;
  }
  UserId user() const { return user_; }

 private:
  static constexpr uint64_t kFirstId = 10;
  RawConnection connection_;
  UserId user_;
  uint32_t requests_;
  std::thread sender_;
  std::thread receiver_;
  int64_t ok_ = -1;
};

TEST(OverloadTest, UnderAFloodAdmittedWorkIsServedAndMemoryStaysBounded) {
  constexpr uint32_t kConnectionsMax = 40;
  constexpr uint32_t kFlooders = 24;
  constexpr uint32_t kRequestsPerFlooder = 4'000;
  constexpr uint32_t kSlowReaders = 4;
  constexpr uint32_t kRefusedAttempts = 200;
  constexpr uint32_t kGoodCalls = 1'000;
  net::ServerOptions options = Limits();
  options.connections_max = kConnectionsMax;
  options.in_flight_max = 32;
  options.output_bytes_max = net::kOutputBytesMaxMin;
  LoopbackServer server(nullptr, 2, options);
  CreateOpenSchedule(server, kBigScheduleSeats);
  std::unique_ptr<net::Client> good = Connect(server.client_port());
  ASSERT_NE(good, nullptr);
  // The admin connection that created the schedule has gone.
  ASSERT_TRUE(WaitUntil([&] { return server.server().stats().connections_open == 1; }));
  const uint64_t hwm_before_kib = ProcessMemoryKib("VmHWM");

  // Slow readers asking for seat maps they never read.
  std::vector<std::unique_ptr<RawConnection>> slow_readers;
  for (uint32_t i = 0; i < kSlowReaders; ++i) {
    slow_readers.push_back(std::make_unique<RawConnection>(server.client_port(), 4096));
    RawConnection& slow = *slow_readers.back();
    ASSERT_EQ(slow.Hello().kind, net::ResponseKind::kHello);
    const UserId user = 500 + i;
    const net::DecodedResponse entered = slow.Command(2, MakeEnterQueue(kSchedule, user, 1));
    ASSERT_EQ(entered.code, ResultCode::kOk);
    std::vector<uint8_t> requests;
    for (uint32_t r = 0; r < 200; ++r) {
      net::AppendSeatMapRequest(100 + r, kSchedule, user, entered.reply.token, &requests);
    }
    ASSERT_TRUE(slow.Send(requests));
  }
  std::vector<std::unique_ptr<Flooder>> flooders;
  for (uint32_t i = 0; i < kFlooders; ++i) {
    flooders.push_back(
        std::make_unique<Flooder>(server.client_port(), 1'000 + i, kRequestsPerFlooder));
    ASSERT_TRUE(flooders.back()->Start());
  }
  // Fill the remaining slots with silent connections, then try many more.
  std::vector<std::unique_ptr<RawConnection>> squatters;
  for (uint32_t i = 1 + kSlowReaders + kFlooders; i < kConnectionsMax; ++i) {
    squatters.push_back(std::make_unique<RawConnection>(server.client_port()));
    ASSERT_EQ(squatters.back()->Hello().kind, net::ResponseKind::kHello);
  }
  uint32_t refused = 0;
  std::vector<uint64_t> latencies_us;
  latencies_us.reserve(kGoodCalls);
  uint32_t good_ok = 0;
  uint32_t good_busy = 0;
  for (uint32_t call = 0; call < kGoodCalls; ++call) {
    if (call % 5 == 0 && refused < kRefusedAttempts) {
      RawConnection extra(server.client_port());
      if (extra.ReceivesClose()) ++refused;
    }
    const SteadyClock::time_point start = SteadyClock::now();
    const ResultCode code = CallCode(*good, MakeCharge(9, 1, 1 + call));
    latencies_us.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count()));
    if (code == ResultCode::kOk) {
      ++good_ok;
    } else {
      EXPECT_EQ(code, ResultCode::kBusy);
      ++good_busy;
    }
  }
  int64_t flood_ok = 0;
  for (auto& flooder : flooders) {
    const int64_t ok = flooder->Join();
    EXPECT_GE(ok, 0);
    EXPECT_EQ(BalanceOf(*good, flooder->user()), ok);
    flood_ok += ok;
  }
  const uint64_t hwm_after_kib = ProcessMemoryKib("VmHWM");
  std::sort(latencies_us.begin(), latencies_us.end());
  const uint64_t p50_us = latencies_us[latencies_us.size() / 2];
  const uint64_t p99_us = latencies_us[latencies_us.size() * 99 / 100];
  std::printf(
      "[ figures  ] flood: %u pipelining + %u slow-reading + %zu silent connections, %u refused "
      "(server counted %llu); %lld of %u flood charges OK; good client %u OK %u BUSY, p50 %llu "
      "us, p99 %llu us, max %llu us; VmHWM %llu -> %llu KiB\n",
      kFlooders, kSlowReaders, squatters.size(), refused,
      static_cast<unsigned long long>(server.server().stats().connections_refused),
      static_cast<long long>(flood_ok), kFlooders * kRequestsPerFlooder, good_ok, good_busy,
      static_cast<unsigned long long>(p50_us), static_cast<unsigned long long>(p99_us),
      static_cast<unsigned long long>(latencies_us.back()),
      static_cast<unsigned long long>(hwm_before_kib),
      static_cast<unsigned long long>(hwm_after_kib));
  EXPECT_EQ(refused, kRefusedAttempts);
  EXPECT_EQ(server.server().stats().connections_refused, kRefusedAttempts);
  EXPECT_EQ(good_ok + good_busy, kGoodCalls);
  EXPECT_GT(good_ok, 0u);
  EXPECT_EQ(BalanceOf(*good, 9), good_ok);
  // Sanity only (not a benchmark): admitted work is answered within seconds.
  EXPECT_LT(p99_us, 5'000'000u);
  if (!ENCORE_OVERLOAD_SANITIZED) {
    // 4 slow readers asked for 400 MB of seat maps; 24 flooders had 96,000
    // requests in the air.
    EXPECT_LT(hwm_after_kib - hwm_before_kib, 128 * 1024u);
  }
}

// A connection pipelining bursts of charges until told to stop (or until
// kBurstsMax bursts), kWindow unanswered at most, on its own sender thread,
// while its receiver takes every reply and counts OK and BUSY. (Without the
// window the loopback socket buffers would hold megabytes of requests to
// drain after the stop.)
class HeavyClient {
 public:
  static constexpr uint32_t kBurst = 256;
  static constexpr uint32_t kWindow = 4 * kBurst;
  static constexpr uint32_t kBurstsMax = 20'000;

  HeavyClient(uint16_t port, UserId user) : connection_(port), user_(user) {}

  bool Start() {
    if (connection_.Hello().kind != net::ResponseKind::kHello) return false;
    sender_ = std::thread([this] {
      for (uint32_t burst = 0; burst < kBurstsMax && !stop_.load(); ++burst) {
        if (sent_.load() - received_.load() + kBurst > kWindow) {
          std::this_thread::sleep_for(std::chrono::microseconds(500));
          --burst;
          continue;
        }
        const uint64_t first = 10 + uint64_t{burst} * kBurst;
        std::vector<uint8_t> frames;
        for (uint32_t i = 0; i < kBurst; ++i) {
          net::AppendCommandRequest(first + i, MakeCharge(user_, 1, first + i), &frames);
        }
        if (!connection_.Send(frames)) break;
        sent_.fetch_add(kBurst);
      }
      sender_done_.store(true);
    });
    receiver_ = std::thread([this] {
      for (;;) {
        const bool done = sender_done_.load();
        if (received_ == sent_.load()) {
          if (done) return;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        std::optional<net::DecodedResponse> response = connection_.Receive();
        if (!response.has_value()) {
          broken_ = true;
          return;
        }
        received_.fetch_add(1);
        if (response->code == ResultCode::kOk) {
          ++ok_;
        } else if (response->code == ResultCode::kBusy) {
          ++busy_;
        } else {
          broken_ = true;
        }
      }
    });
    return true;
  }
  void Stop() { stop_.store(true); }
  void Join() {
    sender_.join();
    receiver_.join();
  }
  UserId user() const { return user_; }
  uint64_t ok() const { return ok_; }
  uint64_t busy() const { return busy_; }
  bool broken() const { return broken_; }

 private:
  RawConnection connection_;
  UserId user_;
  std::thread sender_;
  std::thread receiver_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> sender_done_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> received_{0};
  // The receiver's; read after Join.
  uint64_t ok_ = 0;
  uint64_t busy_ = 0;
  bool broken_ = false;
};

TEST(OverloadTest, ALightClientIsServedWhileHeavyOnesFillTheEngineRing) {
  // A ring of 16 slots behind one I/O thread, and 32 connections pipelining
  // 256 charges at a time: the ring is full all along.
  constexpr uint32_t kHeavy = 32;
  constexpr uint32_t kControlCalls = 500;
  constexpr auto kControlTimeMax = std::chrono::seconds(3);
  constexpr UserId kControlUser = 77;
  EngineOptions engine_options;
  engine_options.shards = 1;
  engine_options.ring_capacity = kRingCapacityMin;
  engine_options.batch_max = kRingCapacityMin;
  net::ServerOptions options = Limits();
  options.io_threads = 1;
  LoopbackServer server(engine_options, options);
  std::unique_ptr<net::Client> control = Connect(server.client_port());
  ASSERT_NE(control, nullptr);

  std::vector<std::unique_ptr<HeavyClient>> heavy;
  for (uint32_t i = 0; i < kHeavy; ++i) {
    heavy.push_back(std::make_unique<HeavyClient>(server.client_port(), 2'000 + i));
    ASSERT_TRUE(heavy.back()->Start());
  }
  // Let the flood fill the ring first.
  ASSERT_TRUE(WaitUntil([&] { return server.server().stats().requests > 20 * kRingCapacityMin; }));
  // One request at a time, while the heavy ones keep pipelining.
  uint32_t control_ok = 0;
  uint32_t control_busy = 0;
  std::vector<uint64_t> latencies_us;
  const SteadyClock::time_point control_start = SteadyClock::now();
  for (uint32_t call = 0;
       call < kControlCalls && SteadyClock::now() - control_start < kControlTimeMax; ++call) {
    const SteadyClock::time_point start = SteadyClock::now();
    const ResultCode code = CallCode(*control, MakeCharge(kControlUser, 1, 1 + call));
    latencies_us.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count()));
    if (code == ResultCode::kOk) {
      ++control_ok;
    } else {
      EXPECT_EQ(code, ResultCode::kBusy);
      ++control_busy;
    }
  }
  const auto control_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - control_start)
          .count();
  for (auto& client : heavy) client->Stop();
  uint64_t heavy_ok = 0;
  uint64_t heavy_busy = 0;
  for (auto& client : heavy) {
    client->Join();
    EXPECT_FALSE(client->broken());
    EXPECT_EQ(BalanceOf(*control, client->user()), static_cast<Points>(client->ok()));
    heavy_ok += client->ok();
    heavy_busy += client->busy();
  }
  const uint64_t deferred = server.server().stats().commands_deferred;
  std::sort(latencies_us.begin(), latencies_us.end());
  const uint64_t p50_us = latencies_us.empty() ? 0 : latencies_us[latencies_us.size() / 2];
  const uint64_t p99_us = latencies_us.empty() ? 0 : latencies_us[latencies_us.size() * 99 / 100];
  std::printf(
      "[ figures  ] fairness: ring %u, %u heavy connections pipelining %u at a time: %llu OK, "
      "%llu BUSY; control client one at a time: %u OK, %u BUSY in %lld ms, p50 %llu us, p99 "
      "%llu us; %llu commands held for a ring slot\n",
      kRingCapacityMin, kHeavy, HeavyClient::kBurst, static_cast<unsigned long long>(heavy_ok),
      static_cast<unsigned long long>(heavy_busy), control_ok, control_busy,
      static_cast<long long>(control_ms), static_cast<unsigned long long>(p50_us),
      static_cast<unsigned long long>(p99_us), static_cast<unsigned long long>(deferred));
  // The ring was full while the control client called.
  EXPECT_GT(deferred, 0u);
  EXPECT_GT(heavy_ok, uint64_t{kControlCalls});
  // The light client gets every call served; the heavy ones are slowed (not
  // read while their command waits for a slot), not refused.
  EXPECT_EQ(control_busy, 0u);
  EXPECT_EQ(control_ok + control_busy, latencies_us.size());
  EXPECT_GE(control_ok, 100u);
  EXPECT_EQ(BalanceOf(*control, kControlUser), control_ok);
  EXPECT_EQ(heavy_busy, 0u);
}

}  // namespace
}  // namespace encore::testing
