// Damage to the end of the log, which once read as a shorter log and lost
// acknowledged operations without a word: a length field damaged in the
// middle of the last segment (it read as a torn tail), the last segment cut
// to half or deleted (nothing recorded how far the log went), and the
// metadata database deleted (encored started with a new queue-token key).
// Each is refused by `encore-wal verify` and by encored (exit 1, DATA_LOSS
// naming what and where) and changes nothing on disk; `encore-wal cut`, the
// operator's word, then ends the log where it is whole, and both start again.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "encore/engine.h"
#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"
#include "reliability/process_support.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSegmentBytes = 4096;

// A data directory as encored leaves it (default token key, kept with the
// data), its log in segments of 4 KiB: a short sale, one group per command.
// Returns the last LSN of shard 0.
uint64_t WriteSale(const std::string& data) {
  RocksDbJournalOptions journal_options;
  journal_options.path = data;
  journal_options.log_segment_bytes = kSegmentBytes;
  auto journal = RocksDbJournal::Open(journal_options);
  EXPECT_TRUE(journal.ok()) << journal.status();
  if (!journal.ok()) return 0;
  EngineOptions options;
  options.journal = journal->get();
  options.snapshot_every_events = 0;
  auto engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return 0;
  auto producer = std::move(*(*engine)->NewProducer());
  EXPECT_TRUE(producer->Call(CreateConcertCommand(kConcert, "Damage", 1)).ok());
  EXPECT_TRUE(producer->Call(CreateScheduleCommand(OnSaleNowConfig(kSchedule, 200), 2)).ok());
  RequestKey key = 10;
  for (UserId user = 1; user <= 60; ++user) {
    EXPECT_TRUE(producer->Call(ChargeCommand(user, 9'000, ++key)).ok());
    const Reply entered = producer->Call(EnterCommand(kSchedule, user, ++key));
    const Reply held = producer->Call(
        HoldCommand(kSchedule, user, entered.token, {static_cast<SeatIndex>(user)}, ++key));
    EXPECT_TRUE(producer->Call(PayCommand(kSchedule, user, entered.token, held.hold, ++key)).ok());
  }
  (*engine)->Close();
  const uint64_t last_lsn = (*engine)->shard_stats(0).last_lsn;
  engine->reset();
  EXPECT_TRUE((*journal)->Close().ok());
  return last_lsn;
}

std::vector<std::string> Segments(const std::string& data) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(data + "/log")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("segment-") && name.ends_with(".log")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The offsets of the groups in a segment file (payload_bytes u32 LE | crc
// u32 | payload, after a 16-byte header).
std::vector<uint64_t> GroupOffsets(const std::string& file) {
  const std::string bytes = ReadFile(file);
  std::vector<uint64_t> offsets;
  for (uint64_t at = 16; at + 8 <= bytes.size();) {
    offsets.push_back(at);
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i) length |= uint32_t{static_cast<uint8_t>(bytes[at + i])} << (8 * i);
    at += 8 + length;
  }
  return offsets;
}

// Every file's name and size in the log and snapshot directories, and
// whether the database's CURRENT is there.
std::vector<std::pair<std::string, uintmax_t>> Listing(const std::string& data) {
  std::vector<std::pair<std::string, uintmax_t>> files;
  for (const char* directory : {"/log", "/snapshots"}) {
    for (const auto& entry : fs::directory_iterator(data + directory)) {
      files.emplace_back(entry.path().string(), entry.file_size());
    }
  }
  files.emplace_back("CURRENT", fs::exists(data + "/CURRENT") ? 1 : 0);
  std::sort(files.begin(), files.end());
  return files;
}

int RunWal(const std::string& command, const std::string& data, const std::string& out) {
  const pid_t pid = Spawn({ENCORE_WAL_BINARY, command, data}, -1, out);
  const std::optional<int> status = WaitExit(pid, 60'000);
  if (!status) {
    kill(pid, SIGKILL);
    return -1;
  }
  return ExitCodeOf(*status);
}

// encored on `data` must refuse to start: exit 1, `expected` in its output.
void ExpectEncoredRefuses(const std::string& data, const std::string& expected) {
  EncoredProcess server({"--data-dir", data, "--durability", "sync"});
  EXPECT_FALSE(server.listening()) << server.output();
  EXPECT_EQ(server.Stop(), 1) << server.output();  // It has exited: reaps it.
  EXPECT_NE(server.output().find("DATA_LOSS"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find(expected), std::string::npos) << server.output();
}

struct Damage {
  const char* name;
  std::function<void(const std::string& data)> apply;
  std::string expected;  // In the refusal, with {file} for the last segment.
  bool cuttable;
};

TEST(DamagedLogTest, EachDamageIsRefusedUntilTheOperatorCutsIt) {
  const std::vector<Damage> damages = {
      {"a length field damaged in the middle of the last segment",
       [](const std::string& data) {
         const std::string last = Segments(data).back();
         const std::vector<uint64_t> groups = GroupOffsets(last);
         ASSERT_GE(groups.size(), 3u);
         const int fd = ::open(last.c_str(), O_WRONLY);
         ASSERT_GE(fd, 0);
         const uint8_t length[4] = {0xff, 0xff, 0xff, 0x7f};
         ASSERT_EQ(::pwrite(fd, length, 4, static_cast<off_t>(groups[groups.size() / 2])), 4);
         ::close(fd);
       },
       "so it is damage, not a torn write", true},
      {"the last segment cut to half",
       [](const std::string& data) {
         const std::string last = Segments(data).back();
         fs::resize_file(last, fs::file_size(last) / 2);
       },
       "were cut short or deleted", true},
      {"the last segment deleted",
       [](const std::string& data) { fs::remove(Segments(data).back()); },
       "were cut short or deleted", true},
      {"the metadata database's CURRENT deleted",
       [](const std::string& data) { fs::remove(data + "/CURRENT"); }, "is missing (no CURRENT",
       false},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.name);
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const std::string data = dir.path() + "/data";
    const uint64_t last_lsn = WriteSale(data);
    ASSERT_GT(last_lsn, 400u);
    ASSERT_GE(Segments(data).size(), 4u);
    ASSERT_EQ(RunWal("verify", data, dir.path() + "/verify-whole.txt"), 0)
        << ReadFile(dir.path() + "/verify-whole.txt");

    damage.apply(data);
    const auto damaged = Listing(data);
    const std::string refused = dir.path() + "/verify-damaged.txt";
    EXPECT_EQ(RunWal("verify", data, refused), 1) << ReadFile(refused);
    EXPECT_NE(ReadFile(refused).find(damage.expected), std::string::npos) << ReadFile(refused);
    EXPECT_EQ(ReadFile(refused).find("invariants ok"), std::string::npos) << ReadFile(refused);
    ExpectEncoredRefuses(data, damage.expected);
    EXPECT_EQ(Listing(data), damaged) << "a refusal changes nothing on disk";

    if (!damage.cuttable) continue;
    const std::string cut = dir.path() + "/cut.txt";
    EXPECT_EQ(RunWal("cut", data, cut), 0) << ReadFile(cut);
    EXPECT_NE(ReadFile(cut).find("invariants ok"), std::string::npos) << ReadFile(cut);
    EXPECT_EQ(ReadFile(cut).find("nothing to cut"), std::string::npos) << ReadFile(cut);
    EXPECT_EQ(RunWal("verify", data, refused), 0) << ReadFile(refused);
    EncoredProcess server({"--data-dir", data, "--durability", "sync"});
    EXPECT_TRUE(server.listening()) << server.output();
    EXPECT_EQ(server.Stop(), 0) << server.output();
  }
}

}  // namespace
}  // namespace encore::testing
