// Helpers of the journal's tests: a temporary directory, records in the
// EventBuffer format, opening a journal, submitting and reading batches.
#ifndef ENCORE_TESTS_PERSISTENCE_JOURNAL_TEST_SUPPORT_H_
#define ENCORE_TESTS_PERSISTENCE_JOURNAL_TEST_SUPPORT_H_

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"

namespace encore {

inline constexpr std::chrono::milliseconds kWaitForever{60'000};

// A fresh directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/encore-journal-XXXXXX";
    const char* made = mkdtemp(name);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `count` EventBuffer-format records (u16 type | u16 size | payload), the
// payloads filled from `seed`, of varying sizes.
inline std::vector<uint8_t> MakeRecords(uint32_t count, uint32_t seed) {
  std::vector<uint8_t> bytes;
  for (uint32_t i = 0; i < count; ++i) {
    const uint16_t type = static_cast<uint16_t>(1 + (seed + i) % 7);
    const uint16_t size = static_cast<uint16_t>(8 + (seed * 31 + i * 17) % 90);
    const uint16_t header[2] = {type, size};
    const auto* header_bytes = reinterpret_cast<const uint8_t*>(header);
    bytes.insert(bytes.end(), header_bytes, header_bytes + 4);
    for (uint16_t b = 0; b < size; ++b) bytes.push_back(static_cast<uint8_t>(seed * 7 + i * 3 + b));
  }
  return bytes;
}

struct Batch {
  uint64_t first_lsn;
  uint32_t count;
  std::vector<uint8_t> records;
  bool operator==(const Batch&) const = default;
};

inline std::unique_ptr<RocksDbJournal> OpenJournal(
    const std::string& path, Durability durability = Durability::kSync,
    uint64_t log_segment_bytes = RocksDbJournalOptions().log_segment_bytes) {
  RocksDbJournalOptions options;
  options.path = path;
  options.durability = durability;
  options.log_segment_bytes = log_segment_bytes;
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
  EXPECT_TRUE(journal.ok()) << journal.status();
  return journal.ok() ? *std::move(journal) : nullptr;
}

// Submits `count` events to `shard` after its last LSN; returns the batch.
inline Batch SubmitBatch(RocksDbJournal& journal, uint32_t shard, uint32_t count, uint32_t seed) {
  Batch batch{journal.LastLsn(shard) + 1, count, MakeRecords(count, seed)};
  journal.Submit(shard, batch.first_lsn, count, batch.records);
  return batch;
}

inline absl::StatusOr<std::vector<Batch>> ReadAll(RocksDbJournal& journal, uint32_t shard,
                                                  uint64_t from_lsn = 1) {
  std::vector<Batch> batches;
  absl::Status status = journal.ReadShard(
      shard, from_lsn, [&](uint64_t first_lsn, std::span<const uint8_t> records, uint32_t count) {
        batches.push_back(Batch{first_lsn, count, {records.begin(), records.end()}});
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return batches;
}

}  // namespace encore

#endif  // ENCORE_TESTS_PERSISTENCE_JOURNAL_TEST_SUPPORT_H_
