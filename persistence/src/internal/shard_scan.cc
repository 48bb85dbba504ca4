#include "internal/shard_scan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "internal/log_format.h"

namespace encore::persistence::internal {

ShardScan::ShardScan(uint32_t shard, uint64_t from_lsn, uint64_t deleted_before,
                     const RecordsFn& fn)
    : shard_(shard),
      from_lsn_(std::max<uint64_t>(from_lsn, 1)),
      deleted_before_(deleted_before),
      fn_(fn),
      expected_(from_lsn_) {}

absl::Status ShardScan::Take(uint64_t first_lsn, std::string_view value) {
  const absl::StatusOr<uint32_t> peeked = PeekBatchCount(value, shard_, first_lsn);
  if (!peeked.ok()) return peeked.status();
  const uint64_t end_lsn = first_lsn + *peeked;  // One past its last event.
  if (end_lsn <= deleted_before_) return absl::OkStatus();
  if (first_lsn <= from_lsn_) {
    // A batch starting at or before from_lsn: the latest such is where the
    // scan starts (what it holds before from_lsn is cut below).
    expected_ = end_lsn;
    if (end_lsn <= from_lsn_) return absl::OkStatus();  // Wholly before from_lsn.
  } else if (first_lsn != expected_) {
    return absl::DataLossError(absl::StrCat("gap in the log at shard ", shard_, ": expected lsn ",
                                            expected_, ", found ", first_lsn));
  } else {
    expected_ = end_lsn;
  }
  const absl::StatusOr<BatchView> batch = DecodeBatch(value, shard_, first_lsn);
  if (!batch.ok()) return batch.status();
  std::span<const uint8_t> records = batch->records;
  uint32_t count = batch->count;
  if (first_lsn < from_lsn_) {  // Cut the events before from_lsn.
    const auto skipped = static_cast<uint32_t>(from_lsn_ - first_lsn);
    records = records.subspan(RecordOffset(records, skipped));
    count -= skipped;
    first_lsn = from_lsn_;
  }
  return fn_(first_lsn, records, count);
}

}  // namespace encore::persistence::internal
