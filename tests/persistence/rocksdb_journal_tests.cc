// RocksDbJournal: write and read back, durability in each mode, truncation,
// snapshots, write failure. The log's files, damaged, torn and from earlier
// versions: segment_log_tests.cc.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"
#include "internal/write_fault.h"
#include "persistence/journal_test_support.h"

namespace encore {
namespace {

TEST(RocksDbJournalTest, BatchesOfTwoShardsReadBackExactlyAfterReopen) {
  TempDir dir;
  std::vector<Batch> written[2];
  {
    std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
    ASSERT_NE(journal, nullptr);
    for (uint32_t i = 0; i < 5; ++i) {
      written[0].push_back(SubmitBatch(*journal, 0, 1 + i * 3, i));
      if (i % 2 == 0) written[1].push_back(SubmitBatch(*journal, 1, 2 + i, 100 + i));
    }
    journal->WaitDurable(0, journal->LastLsn(0), kWaitForever);
    EXPECT_EQ(journal->DurableLsn(0), 1u + 4 + 7 + 10 + 13);
    ASSERT_TRUE(journal->Close().ok());
  }
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->LastLsn(0), 35u);
  EXPECT_EQ(journal->LastLsn(1), 2u + 4 + 6);
  EXPECT_EQ(journal->LastLsn(2), 0u);
  EXPECT_EQ(journal->DurableLsn(1), 12u);  // What is stored was durable.
  for (uint32_t shard = 0; shard < 2; ++shard) {
    absl::StatusOr<std::vector<Batch>> read = ReadAll(*journal, shard);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, written[shard]) << "shard " << shard;
  }
  // Numbering continues after the stored log.
  const Batch next = SubmitBatch(*journal, 1, 3, 9);
  EXPECT_EQ(next.first_lsn, 13u);
  journal->WaitDurable(1, 15, kWaitForever);
  EXPECT_EQ(journal->DurableLsn(1), 15u);
}

TEST(RocksDbJournalTest, ReadFromInsideABatchStartsExactlyThere) {
  TempDir dir;
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path(), Durability::kAsync);
  ASSERT_NE(journal, nullptr);
  SubmitBatch(*journal, 0, 4, 1);                       // 1..4
  const Batch second = SubmitBatch(*journal, 0, 5, 2);  // 5..9
  const Batch third = SubmitBatch(*journal, 0, 2, 3);   // 10..11
  journal->WaitDurable(0, 11, kWaitForever);
  absl::StatusOr<std::vector<Batch>> read = ReadAll(*journal, 0, 7);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  // Events 7..9 of the second batch: its records from the third on.
  const std::vector<uint8_t> tail_of_second = MakeRecords(5, 2);
  const std::vector<uint8_t> first_two = MakeRecords(2, 2);
  EXPECT_EQ((*read)[0].first_lsn, 7u);
  EXPECT_EQ((*read)[0].count, 3u);
  EXPECT_EQ((*read)[0].records,
            std::vector<uint8_t>(tail_of_second.begin() + first_two.size(), tail_of_second.end()));
  EXPECT_EQ((*read)[1], third);
  // Past the end: nothing, no error.
  read = ReadAll(*journal, 0, 12);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
  (void)second;
}

class DurabilityModeTest : public testing::TestWithParam<Durability> {};

TEST_P(DurabilityModeTest, DurableLsnReachesEverySubmittedLsnFromTwoShardThreads) {
  TempDir dir;
  RocksDbJournalOptions options;
  options.path = GetParam() == Durability::kNone ? "" : dir.path();
  options.durability = GetParam();
  options.shards_max = 2;
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
  ASSERT_TRUE(journal.ok()) << journal.status();
  constexpr uint32_t kBatches = 200;
  std::vector<std::thread> shards;
  for (uint32_t shard = 0; shard < 2; ++shard) {
    shards.emplace_back([&, shard] {
      uint64_t lsn = 0;
      for (uint32_t i = 0; i < kBatches; ++i) {
        const uint32_t count = 1 + i % 16;
        const std::vector<uint8_t> records = MakeRecords(count, i);
        (*journal)->Submit(shard, lsn + 1, count, records);
        lsn += count;
        // Like a shard with replies waiting: sometimes wait, mostly go on.
        if (i % 50 == 49) (*journal)->WaitDurable(shard, lsn, kWaitForever);
      }
      (*journal)->WaitDurable(shard, lsn, kWaitForever);
      EXPECT_EQ((*journal)->DurableLsn(shard), lsn) << "shard " << shard;
    });
  }
  for (std::thread& thread : shards) thread.join();
  EXPECT_TRUE((*journal)->status().ok());
  const uint64_t expected_last = (kBatches / 16) * (16 * 17 / 2) + (8 * 9 / 2);
  for (uint32_t shard = 0; shard < 2; ++shard) {
    EXPECT_EQ((*journal)->LastLsn(shard), expected_last);
    absl::StatusOr<std::vector<Batch>> read = ReadAll(**journal, shard);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->size(), GetParam() == Durability::kNone ? 0u : kBatches);
  }
  if (GetParam() != Durability::kNone) {
    const RocksDbJournalStats stats = (*journal)->stats();
    EXPECT_EQ(stats.batches_written, 2 * kBatches);
    EXPECT_EQ(stats.events_written, 2 * expected_last);
    EXPECT_GE(stats.groups_written, 1u);
    EXPECT_LE(stats.groups_written, stats.batches_written);
  }
  EXPECT_TRUE((*journal)->Close().ok());
}

INSTANTIATE_TEST_SUITE_P(AllModes, DurabilityModeTest,
                         testing::Values(Durability::kNone, Durability::kAsync, Durability::kSync),
                         [](const testing::TestParamInfo<Durability>& param_info) {
                           switch (param_info.param) {
                             case Durability::kNone:
                               return std::string("None");
                             case Durability::kAsync:
                               return std::string("Async");
                             case Durability::kSync:
                               return std::string("Sync");
                           }
                           return std::string("Unknown");
                         });

// Writes three batches on shard 0 (lsn 1..3, 4..8, 9..10) and closes.
void WriteThreeBatches(const std::string& path) {
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  SubmitBatch(*journal, 0, 3, 1);
  SubmitBatch(*journal, 0, 5, 2);
  SubmitBatch(*journal, 0, 2, 3);
  ASSERT_TRUE(journal->Close().ok());
}

TEST(RocksDbJournalTest, DeleteBeforeRemovesOnlyWhollyOlderBatches) {
  TempDir dir;
  WriteThreeBatches(dir.path());
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->DeleteBefore(0, 6).ok());  // 6 is in 4..8: that batch stays.
  absl::StatusOr<std::vector<Batch>> read = ReadAll(*journal, 0, 4);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].first_lsn, 4u);
  // Reading from before what is left is a gap, not a silent skip.
  EXPECT_EQ(ReadAll(*journal, 0, 1).status().message(),
            "gap in the log at shard 0: expected lsn 1, found 4");

  ASSERT_TRUE(journal->DeleteBefore(0, 9).ok());  // 4..8 goes, 9..10 stays.
  read = ReadAll(*journal, 0, 9);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].first_lsn, 9u);
  ASSERT_TRUE(journal->PutSnapshot(0, 10, std::vector<uint8_t>{1, 2, 3}).ok());
  ASSERT_TRUE(journal->DeleteBefore(0, 11).ok());  // All of the log.
  read = ReadAll(*journal, 0, 11);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
  ASSERT_TRUE(journal->Close().ok());
  // The snapshot keeps the numbering after the whole log is gone.
  journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->LastLsn(0), 10u);
}

TEST(RocksDbJournalTest, SnapshotsRoundTripAndTheLatestWins) {
  TempDir dir;
  {
    std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path(), Durability::kAsync);
    ASSERT_NE(journal, nullptr);
    auto none = journal->LatestSnapshot(3);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(journal->PutSnapshot(3, 5, std::vector<uint8_t>{1, 2}).ok());
    ASSERT_TRUE(journal->PutSnapshot(3, 9, std::vector<uint8_t>{3, 4, 5}).ok());
    ASSERT_TRUE(journal->PutSnapshot(4, 2, std::vector<uint8_t>{}).ok());
    ASSERT_TRUE(journal->Close().ok());
  }
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path(), Durability::kAsync);
  ASSERT_NE(journal, nullptr);
  auto latest = journal->LatestSnapshot(3);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->first, 9u);
  EXPECT_EQ((*latest)->second, (std::vector<uint8_t>{3, 4, 5}));
  latest = journal->LatestSnapshot(4);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->first, 2u);
  EXPECT_TRUE((*latest)->second.empty());
  EXPECT_EQ(journal->LastLsn(3), 9u);
  EXPECT_EQ(journal->LatestSnapshot(99).status().code(), absl::StatusCode::kInvalidArgument);
}

// Snapshot files are written in 4 KiB blocks through a 1 MiB buffer
// (O_DIRECT, the last block padded, then the file cut to size): sizes around
// those boundaries come back byte for byte, and the file is exactly header +
// bytes long.
TEST(RocksDbJournalTest, SnapshotsOfAnySizeRoundTripExactly) {
  TempDir dir;
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path(), Durability::kSync);
  ASSERT_NE(journal, nullptr);
  constexpr size_t kHeader = 6;
  uint64_t lsn = 0;
  for (const size_t size :
       {size_t{1}, size_t{4090}, size_t{4096} - kHeader, size_t{4096}, (size_t{1} << 20) - kHeader,
        size_t{1} << 20, (size_t{3} << 20) + 4097}) {
    SCOPED_TRACE(size);
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 7 + size);
    ASSERT_TRUE(journal->PutSnapshot(0, ++lsn, bytes).ok());
    const std::string file =
        dir.path() + "/snapshots/shard-0-lsn-" + std::to_string(lsn) + ".snapshot";
    EXPECT_EQ(std::filesystem::file_size(file), size + kHeader);
    auto latest = journal->LatestSnapshot(0);
    ASSERT_TRUE(latest.ok()) << latest.status();
    ASSERT_TRUE(latest->has_value());
    EXPECT_EQ((*latest)->first, lsn);
    EXPECT_TRUE((*latest)->second == bytes);
  }
}

// snapshot_write_bytes_per_s paces the file's writes: 4 full 1 MiB chunks at
// 16 MiB/s cannot be written in less than a quarter second, and the snapshot
// still comes back byte for byte.
TEST(RocksDbJournalTest, SnapshotWritesArePaced) {
  TempDir dir;
  RocksDbJournalOptions options;
  options.path = dir.path();
  options.snapshot_write_bytes_per_s = uint64_t{16} << 20;
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
  ASSERT_TRUE(journal.ok()) << journal.status();
  std::vector<uint8_t> bytes((size_t{4} << 20) + 100);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13 + 1);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*journal)->PutSnapshot(0, 7, bytes).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  auto latest = (*journal)->LatestSnapshot(0);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->first, 7u);
  EXPECT_TRUE((*latest)->second == bytes);
}

TEST(RocksDbJournalTest, SnapshotsAreFilesAndOldOnesAreRemoved) {
  TempDir dir;
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path(), Durability::kSync);
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->PutSnapshot(1, 5, std::vector<uint8_t>(1000, 7)).ok());
  ASSERT_TRUE(journal->PutSnapshot(1, 8, std::vector<uint8_t>(1000, 9)).ok());
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() + "/snapshots")) {
    files.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(files, std::vector<std::string>{"shard-1-lsn-8.snapshot"});
  // A snapshot whose file is gone (or damaged) is DataLoss naming it.
  std::filesystem::remove(dir.path() + "/snapshots/shard-1-lsn-8.snapshot");
  const auto missing = journal->LatestSnapshot(1);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(missing.status().message().find("shard-1-lsn-8.snapshot is missing"), std::string::npos)
      << missing.status();
}

TEST(RocksDbJournalTest, FailedWriteStopsDurabilityForGood) {
  TempDir dir;
  std::atomic<int> writes{0};
  // The fault captures `writes`: it is cleared however the test ends.
  struct ClearWriteFault {
    ~ClearWriteFault() { persistence::internal::SetWriteFault(nullptr); }
  } clear_write_fault;
  RocksDbJournalOptions options;
  options.path = dir.path();
  persistence::internal::SetWriteFault([&writes]() -> absl::Status {
    return writes.fetch_add(1) == 0 ? absl::OkStatus() : absl::UnavailableError("disk on fire");
  });
  {
    absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
    ASSERT_TRUE(journal.ok()) << journal.status();
    SubmitBatch(**journal, 0, 2, 1);
    (*journal)->WaitDurable(0, 2, kWaitForever);
    ASSERT_EQ((*journal)->DurableLsn(0), 2u);
    SubmitBatch(**journal, 0, 3, 2);
    (*journal)->WaitDurable(0, 5, kWaitForever);  // Returns on the failure.
    EXPECT_EQ((*journal)->status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ((*journal)->status().message(), "disk on fire");
    EXPECT_EQ((*journal)->DurableLsn(0), 2u);
    SubmitBatch(**journal, 0, 1, 3);              // Accepted, never durable.
    (*journal)->WaitDurable(0, 6, kWaitForever);  // At once.
    EXPECT_EQ((*journal)->DurableLsn(0), 2u);
    EXPECT_EQ((*journal)->Close().code(), absl::StatusCode::kUnavailable);
  }
  persistence::internal::SetWriteFault(nullptr);
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_EQ((*journal)->LastLsn(0), 2u);  // Only the first group was written.
}

TEST(RocksDbJournalTest, OptionsAreValidated) {
  RocksDbJournalOptions options;
  options.path = "/tmp/unused";
  options.shards_max = 0;
  EXPECT_EQ(RocksDbJournal::Open(options).status().message(),
            "shards_max must be in 1..4096, got 0");
  options.shards_max = 4;
  options.path = "";
  EXPECT_EQ(RocksDbJournal::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.durability = Durability::kNone;
  EXPECT_TRUE(RocksDbJournal::Open(options).ok());
  options.pending_bytes_max = 10;
  EXPECT_EQ(RocksDbJournal::Open(options).status().message(),
            "pending_bytes_max must be at least 65536, got 10");
}

TEST(RocksDbJournalDeathTest, NonContiguousSubmitAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  RocksDbJournalOptions options;
  options.durability = Durability::kNone;
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
  ASSERT_TRUE(journal.ok());
  const std::vector<uint8_t> records = MakeRecords(2, 1);
  (*journal)->Submit(0, 1, 2, records);
  EXPECT_DEATH((*journal)->Submit(0, 4, 2, records),
               "LSNs must be contiguous: shard 0 submitted lsn 4 after 2");
  EXPECT_DEATH((*journal)->Submit(0, 2, 2, records), "LSNs must be contiguous");
}

TEST(RocksDbJournalTest, ClosedJournalRefusesReads) {
  TempDir dir;
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->Close().ok());
  EXPECT_TRUE(journal->Close().ok());  // Again: same answer.
  EXPECT_EQ(ReadAll(*journal, 0).status().code(), absl::StatusCode::kFailedPrecondition);
  journal->WaitDurable(0, 1, kWaitForever);  // At once.
}

}  // namespace
}  // namespace encore
