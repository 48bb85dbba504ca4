// The log's end mark: how far the segment log was known to be on disk
// (SegmentLog::DurableExtent), kept in the RocksDB database under the key
// "L", apart from the segment files. A lost tail of the log cannot erase it:
// at open, a log that ends short of it (a segment cut short or deleted) is
// DataLoss instead of a silent restart from an earlier point.
//
//   value  version u32 = 1 | segment u64 | bytes u64 | shards u32
//          | per shard: shard u32 | last_lsn u64 | crc32c u32 of all before
//          (little-endian)
#ifndef ENCORE_PERSISTENCE_INTERNAL_LOG_END_H_
#define ENCORE_PERSISTENCE_INTERNAL_LOG_END_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "internal/segment_log.h"

namespace encore::persistence::internal {

inline constexpr char kLogEndKey[] = "L";

std::string EncodeLogEnd(const SegmentLog::Extent& extent);
// DataLoss if `value` is not a whole mark of a known version.
[[nodiscard]] absl::StatusOr<SegmentLog::Extent> DecodeLogEnd(std::string_view value);

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_LOG_END_H_
