// encored's limit flags end to end (--queue-waiting-max, --accounts-max,
// --ledger-entries-max reach the engine and hold across a restart; a value
// out of range is refused at start), and what a waiting user costs the
// server process: its RSS growth per user entered through the wire, the
// idempotency record and the journal included (printed, for
// docs/PERFORMANCE.md; ENCORE_MEMORY_USERS sets the count).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "encore/commands.h"
#include "encore/net/client.h"
#include "gtest/gtest.h"
#include "reliability/process_support.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr ConcertId kMemoryConcert = 9;
constexpr ScheduleId kMemorySchedule = 90;

std::unique_ptr<net::Client> Connect(uint16_t port) {
  net::ClientOptions options;
  options.port = port;
  auto client = net::Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

ResultCode CodeOf(net::Client& client, const Command& command) {
  const absl::StatusOr<net::DecodedResponse> response = client.Call(command);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? response->code : ResultCode::kUnavailable;
}

// A schedule on sale whose queue admits one user at a time, with the longest
// heartbeat timeout, so everyone else waits for the whole test.
void CreateOneActiveSchedule(net::Client& admin) {
  ScheduleConfig config = OnSaleNowConfig(kMemorySchedule, 10);
  config.concert = kMemoryConcert;
  config.policy.active_max = 1;
  config.heartbeat_timeout_ms = kHeartbeatTimeoutMaxMs;
  ASSERT_EQ(CodeOf(admin, MakeCreateConcert(kMemoryConcert, "Memory", 1)), ResultCode::kOk);
  ASSERT_EQ(CodeOf(admin, MakeCreateSchedule(config, 2)), ResultCode::kOk);
}

uint64_t ResidentBytes(pid_t pid) {
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST(MemoryLimitsTest, TheLimitFlagsReachTheEngineAndHoldAcrossARestart) {
  TempDir dir;
  const std::vector<std::string> flags = {"--data-dir",           dir.path() + "/data",
                                          "--durability",         "async",
                                          "--huge-pages",         "off",
                                          "--queue-waiting-max",  "2",
                                          "--accounts-max",       "2",
                                          "--ledger-entries-max", "2"};
  {
    EncoredProcess encored(flags);
    ASSERT_TRUE(encored.listening()) << encored.output();
    auto admin = Connect(encored.admin_port());
    auto client = Connect(encored.port());
    ASSERT_NE(admin, nullptr);
    ASSERT_NE(client, nullptr);
    CreateOneActiveSchedule(*admin);
    // User 1 ACTIVE, users 2 and 3 WAITING: the queue is full.
    for (UserId user = 1; user <= 3; ++user) {
      ASSERT_EQ(CodeOf(*client, MakeEnterQueue(kMemorySchedule, user, 10 + user)), ResultCode::kOk);
    }
    EXPECT_EQ(CodeOf(*client, MakeEnterQueue(kMemorySchedule, 4, 14)), ResultCode::kQueueFull);
    for (RequestKey key = 20; key < 23; ++key) {
      ASSERT_EQ(CodeOf(*client, MakeCharge(1, 100, key)), ResultCode::kOk);
    }
    ASSERT_EQ(CodeOf(*client, MakeCharge(2, 100, 23)), ResultCode::kOk);
    EXPECT_EQ(CodeOf(*client, MakeCharge(3, 100, 24)), ResultCode::kAccountsFull);
    EXPECT_EQ(encored.Stop(), 0) << encored.output();
  }
  EncoredProcess encored(flags);
  ASSERT_TRUE(encored.listening()) << encored.output();
  auto client = Connect(encored.port());
  ASSERT_NE(client, nullptr);
  // The same keys are decided again (refusals are not recorded), the same way.
  EXPECT_EQ(CodeOf(*client, MakeEnterQueue(kMemorySchedule, 4, 14)), ResultCode::kQueueFull);
  EXPECT_EQ(CodeOf(*client, MakeCharge(3, 100, 24)), ResultCode::kAccountsFull);
  const absl::StatusOr<net::DecodedResponse> ledger = client->Ledger(1, 0, 10);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  ASSERT_EQ(ledger->ledger.size(), 2u);
  EXPECT_EQ(ledger->ledger[0].balance_after, 300);
  EXPECT_EQ(encored.Stop(), 0) << encored.output();
}

TEST(MemoryLimitsTest, ALimitOutOfRangeIsRefusedAtStart) {
  TempDir dir;
  for (const char* flag : {"--accounts-max", "--ledger-entries-max", "--queue-waiting-max"}) {
    EncoredProcess encored({"--data-dir", dir.path() + "/data", "--durability", "none", flag, "0"});
    EXPECT_FALSE(encored.listening()) << flag;
    EXPECT_TRUE(encored.WaitForOutput(std::string(flag) + " must be 1 .. ", 30'000))
        << encored.output();
  }
}

TEST(MemoryLimitsTest, AWaitingUserThroughTheServerCostsLessThanItUsedTo) {
  if (kSanitized)
    GTEST_SKIP() << "a sanitizer's shadow memory swamps the RSS per user; Release only";
  const uint64_t users = EnvNumber("ENCORE_MEMORY_USERS", 200'000);
  TempDir dir;
  EncoredProcess encored({"--data-dir", dir.path() + "/data", "--durability", "async",
                          "--huge-pages", "off", "--snapshot-every-events", "0"});
  ASSERT_TRUE(encored.listening()) << encored.output();
  auto admin = Connect(encored.admin_port());
  auto client = Connect(encored.port());
  ASSERT_NE(admin, nullptr);
  ASSERT_NE(client, nullptr);
  CreateOneActiveSchedule(*admin);
  // Warm the connection's buffers before the first reading.
  ASSERT_EQ(CodeOf(*client, MakeEnterQueue(kMemorySchedule, 1, 100)), ResultCode::kOk);
  const uint64_t before = ResidentBytes(encored.pid());
  for (uint64_t i = 0; i < users; ++i) {
    const absl::StatusOr<net::DecodedResponse> response =
        client->Call(MakeEnterQueue(kMemorySchedule, 2 + i, 101 + i));
    ASSERT_TRUE(response.ok() && response->code == ResultCode::kOk) << "user " << 2 + i;
  }
  const uint64_t after = ResidentBytes(encored.pid());
  const double per_user =
      (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(users);
  std::printf("%llu waiting users through encored: RSS %llu -> %llu bytes, %.1f bytes per user\n",
              static_cast<unsigned long long>(users), static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(after), per_user);
  // An independent measurement found 548 bytes per user before the compact
  // idempotency records and chunked queue entries.
  if (users >= 100'000) {
    EXPECT_LT(per_user, 300.0);
  }
  EXPECT_EQ(encored.Stop(), 0) << encored.output();
}

}  // namespace
}  // namespace encore::testing
