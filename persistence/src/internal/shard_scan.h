// ShardScan: one shard's stored batches, taken in LSN order, turned into the
// calls of RocksDbJournal::ReadShard: the batches wholly before `from_lsn` or
// truncated are skipped, the one holding from_lsn is cut there, every batch
// delivered is checked (DecodeBatch), and LSNs must follow on (a gap is
// DataLoss). Pure; not thread-safe (one scan, one thread).
#ifndef ENCORE_PERSISTENCE_INTERNAL_SHARD_SCAN_H_
#define ENCORE_PERSISTENCE_INTERNAL_SHARD_SCAN_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace encore::persistence::internal {

class ShardScan {
 public:
  using RecordsFn = std::function<absl::Status(uint64_t first_lsn, std::span<const uint8_t> records,
                                               uint32_t count)>;

  // `deleted_before`: batches whose events all come before it count as
  // deleted (DeleteBefore marks them so before their files go). from_lsn 0 is
  // taken as 1.
  ShardScan(uint32_t shard, uint64_t from_lsn, uint64_t deleted_before, const RecordsFn& fn);

  // One stored batch of the shard: its value (batch header, then records),
  // whose first event is first_lsn. A non-OK status ends the scan.
  [[nodiscard]] absl::Status Take(uint64_t first_lsn, std::string_view value);

 private:
  const uint32_t shard_;
  const uint64_t from_lsn_;
  const uint64_t deleted_before_;
  const RecordsFn& fn_;
  // The LSN the next batch after from_lsn must start at.
  uint64_t expected_;
};

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_SHARD_SCAN_H_
