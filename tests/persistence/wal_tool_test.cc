// encore-wal on a real data directory: verify passes, replay prints the same
// state hash per shard as the engine that wrote it, dump prints every event.
#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>

#include "encore/engine.h"
#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

// Runs a shell command; returns its exit code and stdout.
int RunShell(const std::string& command, std::string* out) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t got;
  while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out->append(buffer, got);
  const int status = pclose(pipe);
  return WEXITSTATUS(status);
}

TEST(WalToolTest, VerifyReplayAndDumpAgreeWithTheEngine) {
  char dir_template[] = "/tmp/encore-wal-XXXXXX";
  const std::string path = std::string(mkdtemp(dir_template)) + "/data";
  std::vector<uint64_t> hashes;
  uint64_t events = 0;
  {
    RocksDbJournalOptions journal_options;
    journal_options.path = path;
    auto journal = RocksDbJournal::Open(journal_options);
    ASSERT_TRUE(journal.ok()) << journal.status();
    EngineOptions options;
    options.shards = 2;
    options.journal = journal->get();
    options.token_key = TestCoreOptions().token_key;
    options.snapshot_every_events = 50;
    options.snapshot_log_ratio = 0;  // Every 50 events, whatever the log's size.
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    auto producer = std::move(*(*engine)->NewProducer());
    ASSERT_TRUE(producer->Call(CreateConcertCommand(kConcert, "Wal", 1)).ok());
    const ScheduleConfig config = OnSaleNowConfig(kSchedule, 20);
    ASSERT_TRUE(producer->Call(CreateScheduleCommand(config, 2)).ok());
    RequestKey key = 10;
    for (UserId user = 1; user <= 12; ++user) {
      ASSERT_TRUE(producer->Call(ChargeCommand(user, 9'000, ++key)).ok());
      const Reply entered = producer->Call(EnterCommand(kSchedule, user, ++key));
      const Reply held = producer->Call(
          HoldCommand(kSchedule, user, entered.token, {static_cast<SeatIndex>(user)}, ++key));
      ASSERT_TRUE(
          producer->Call(PayCommand(kSchedule, user, entered.token, held.hold, ++key)).ok());
    }
    (*engine)->Close();
    for (uint32_t shard = 0; shard < 2; ++shard) {
      (*engine)->Inspect(shard, [&](const Core& core) { hashes.push_back(core.StateHash()); });
      events +=
          (*engine)->shard_stats(shard).last_lsn - (*engine)->shard_stats(shard).last_snapshot_lsn;
    }
    engine->reset();
    ASSERT_TRUE((*journal)->Close().ok());
  }
  const std::string tool = ENCORE_WAL_BINARY;
  std::string verify;
  EXPECT_EQ(RunShell(tool + " verify " + path, &verify), 0) << verify;
  EXPECT_NE(verify.find("invariants ok"), std::string::npos) << verify;
  std::string replay;
  EXPECT_EQ(RunShell(tool + " replay " + path, &replay), 0) << replay;
  for (uint64_t hash : hashes) {
    char expected[32];
    std::snprintf(expected, sizeof(expected), "hash %016" PRIx64, hash);
    EXPECT_NE(replay.find(expected), std::string::npos) << expected << " not in:\n" << replay;
  }
  std::string dump;
  EXPECT_EQ(RunShell(tool + " dump " + path, &dump), 0) << dump;
  // Event lines start with their shard number; notes do not.
  uint64_t event_lines = 0;
  for (size_t start = 0; start < dump.size();) {
    const size_t end = dump.find('\n', start);
    if (std::isdigit(static_cast<unsigned char>(dump[start]))) ++event_lines;
    start = end == std::string::npos ? dump.size() : end + 1;
  }
  EXPECT_EQ(event_lines, events) << "dump prints one line per event after the snapshots";
  EXPECT_NE(dump.find("SEATS_HELD"), std::string::npos);
  std::string usage;
  EXPECT_EQ(RunShell(tool + " frobnicate " + path, &usage), 2);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

}  // namespace
}  // namespace encore::testing
