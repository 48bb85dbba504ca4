// The journal's on-disk format: keys and record values (see the table in
// encore/rocksdb_journal.h). Pure encoding and checks, no I/O. Thread-safe.
//
// Versioning: every value starts with a u16 format version. A reader refuses
// a version it does not know (DataLoss) rather than guess; a new layout gets a
// new version and the reader learns both.
#ifndef ENCORE_PERSISTENCE_INTERNAL_LOG_FORMAT_H_
#define ENCORE_PERSISTENCE_INTERNAL_LOG_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace encore::persistence::internal {

inline constexpr char kBatchKind = 'E';
inline constexpr char kSnapshotKind = 'S';
// Version 2: records may be packed (encore/event_buffer.h). Version 1, read
// still, holds raw records only.
inline constexpr uint16_t kBatchFormatVersion = 2;
inline constexpr uint16_t kBatchFormatVersionUnpacked = 1;
inline constexpr uint16_t kSnapshotFormatVersion = 1;

// kind u8 | shard u32 BE | lsn u64 BE
inline constexpr size_t kKeyBytes = 1 + 4 + 8;
// version u16 | count u32 | crc32c u32 (of count and records)
inline constexpr size_t kBatchHeaderBytes = 2 + 4 + 4;
// version u16 | crc32c u32 (of the bytes)
inline constexpr size_t kSnapshotHeaderBytes = 2 + 4;
// An EventBuffer record: type u16 | payload size u16 | payload; the type's
// top bit marks a packed payload.
inline constexpr size_t kRecordHeaderBytes = 4;
inline constexpr uint16_t kPackedRecordFlag = 0x8000;

using Key = std::array<char, kKeyBytes>;

struct DecodedKey {
  char kind;
  uint32_t shard;
  uint64_t lsn;
};

Key EncodeKey(char kind, uint32_t shard, uint64_t lsn);
inline std::string_view AsView(const Key& key) { return {key.data(), key.size()}; }
// nullopt if `key` is not kKeyBytes long.
std::optional<DecodedKey> DecodeKey(std::string_view key);

using BatchHeader = std::array<char, kBatchHeaderBytes>;
// The header to store in front of `records` (count events).
BatchHeader EncodeBatchHeader(uint32_t count, std::span<const uint8_t> records);

struct BatchView {
  uint32_t count;
  std::span<const uint8_t> records;  // Points into the decoded value.
};
// Checks version, checksum and record framing; DataLoss naming shard and lsn.
[[nodiscard]] absl::StatusOr<BatchView> DecodeBatch(std::string_view value, uint32_t shard,
                                                    uint64_t first_lsn);
// The count in the header, checking the version and size only (no checksum):
// enough to know where a batch ends.
[[nodiscard]] absl::StatusOr<uint32_t> PeekBatchCount(std::string_view value, uint32_t shard,
                                                      uint64_t first_lsn);

// Offset in `records` of record number `index` (0-based); nullopt if the
// records end first. REQUIRES: `records` framing already checked.
size_t RecordOffset(std::span<const uint8_t> records, uint32_t index);

using SnapshotHeader = std::array<char, kSnapshotHeaderBytes>;
// The header to store in front of the snapshot `bytes` (written apart from
// them: a snapshot of hundreds of megabytes is not copied behind it).
SnapshotHeader EncodeSnapshotHeader(std::span<const uint8_t> bytes);
// The snapshot bytes (pointing into `value`), or DataLoss.
[[nodiscard]] absl::StatusOr<std::span<const uint8_t>> DecodeSnapshot(std::string_view value,
                                                                      uint32_t shard, uint64_t lsn);

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_LOG_FORMAT_H_
