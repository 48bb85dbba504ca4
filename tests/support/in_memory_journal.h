// InMemoryJournal: a Journal for tests that replay what the engine wrote.
// Keeps every record, snapshot and metadata value in memory; every event is
// durable as soon as it is submitted. Clone() is what a crash at that moment
// would leave.
//
// Thread safety: every method may be called from any thread (one mutex).
#ifndef ENCORE_TESTS_SUPPORT_IN_MEMORY_JOURNAL_H_
#define ENCORE_TESTS_SUPPORT_IN_MEMORY_JOURNAL_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/journal.h"

namespace encore::testing {

class InMemoryJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override;
  uint64_t DurableLsn(uint32_t shard) const override;
  void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) override;
  [[nodiscard]] absl::Status status() const override { return absl::OkStatus(); }

  [[nodiscard]] absl::StatusOr<std::optional<StoredSnapshot>> LatestSnapshot(
      uint32_t shard) override;
  [[nodiscard]] absl::Status ReadShard(uint32_t shard, uint64_t from_lsn,
                                       const BatchReader& fn) override;
  [[nodiscard]] absl::Status PutSnapshot(uint32_t shard, uint64_t lsn,
                                         std::span<const uint8_t> bytes) override;
  [[nodiscard]] absl::Status DeleteBefore(uint32_t shard, uint64_t lsn) override;
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> GetMetadata(
      const std::string& name) override;
  [[nodiscard]] absl::Status PutMetadata(const std::string& name,
                                         const std::string& value) override;

  // A copy of the records of `shard` so far (not deleted), in LSN order.
  std::vector<uint8_t> Records(uint32_t shard) const;
  // A copy of everything: what a crash at this moment would leave.
  std::unique_ptr<InMemoryJournal> Clone() const;

 private:
  struct Batch {
    uint64_t first_lsn;
    uint32_t count;
    std::vector<uint8_t> records;
  };
  struct Shard {
    std::vector<Batch> batches;
    uint64_t durable = 0;
    std::optional<StoredSnapshot> snapshot;
  };
  Shard& ShardLocked(uint32_t shard);

  mutable std::mutex mutex_;
  std::vector<Shard> shards_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace encore::testing

#endif  // ENCORE_TESTS_SUPPORT_IN_MEMORY_JOURNAL_H_
