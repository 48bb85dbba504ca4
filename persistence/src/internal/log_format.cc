#include "internal/log_format.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "internal/crc32c.h"

namespace encore::persistence::internal {
namespace {

// Little-endian in values (as the EventBuffer records), big-endian in keys
// (so that byte order is LSN order).
template <typename T>
void StoreLittle(T value, char* out) {
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>(value >> (8 * i));
}
template <typename T>
T LoadLittle(const char* in) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(static_cast<uint8_t>(in[i])) << (8 * i);
  return value;
}
template <typename T>
void StoreBig(T value, char* out) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out[i] = static_cast<char>(value >> (8 * (sizeof(T) - 1 - i)));
}
template <typename T>
T LoadBig(const char* in) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

uint32_t BatchCrc(const char* count_bytes, std::span<const uint8_t> records) {
  return Crc32cExtend(Crc32c(AsBytes({count_bytes, 4})), records);
}

absl::Status Corrupt(uint32_t shard, uint64_t lsn) {
  return absl::DataLossError(absl::StrCat("corrupt record at shard ", shard, " lsn ", lsn));
}

// True if `records` is exactly `count` well-formed records. Version 1 came
// before packed records (encore/event_buffer.h), so none of its records may
// carry the packed flag.
bool FramingValid(std::span<const uint8_t> records, uint32_t count, uint16_t version) {
  size_t offset = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (records.size() - offset < kRecordHeaderBytes) return false;
    const uint16_t type =
        LoadLittle<uint16_t>(reinterpret_cast<const char*>(records.data()) + offset);
    if (version == 1 && (type & kPackedRecordFlag) != 0) return false;
    const uint16_t size =
        LoadLittle<uint16_t>(reinterpret_cast<const char*>(records.data()) + offset + 2);
    offset += kRecordHeaderBytes;
    if (records.size() - offset < size) return false;
    offset += size;
  }
  return offset == records.size();
}

}  // namespace

Key EncodeKey(char kind, uint32_t shard, uint64_t lsn) {
  Key key;
  key[0] = kind;
  StoreBig(shard, key.data() + 1);
  StoreBig(lsn, key.data() + 5);
  return key;
}

std::optional<DecodedKey> DecodeKey(std::string_view key) {
  if (key.size() != kKeyBytes) return std::nullopt;
  return DecodedKey{key[0], LoadBig<uint32_t>(key.data() + 1), LoadBig<uint64_t>(key.data() + 5)};
}

BatchHeader EncodeBatchHeader(uint32_t count, std::span<const uint8_t> records) {
  BatchHeader header;
  StoreLittle(kBatchFormatVersion, header.data());
  StoreLittle(count, header.data() + 2);
  StoreLittle(BatchCrc(header.data() + 2, records), header.data() + 6);
  return header;
}

absl::StatusOr<uint32_t> PeekBatchCount(std::string_view value, uint32_t shard,
                                        uint64_t first_lsn) {
  if (value.size() < 2) return Corrupt(shard, first_lsn);
  const uint16_t version = LoadLittle<uint16_t>(value.data());
  if (version != kBatchFormatVersion && version != kBatchFormatVersionUnpacked) {
    return absl::DataLossError(absl::StrCat("unknown record format version ", version, " at shard ",
                                            shard, " lsn ", first_lsn));
  }
  if (value.size() < kBatchHeaderBytes) return Corrupt(shard, first_lsn);
  const uint32_t count = LoadLittle<uint32_t>(value.data() + 2);
  if (count == 0) return Corrupt(shard, first_lsn);
  return count;
}

absl::StatusOr<BatchView> DecodeBatch(std::string_view value, uint32_t shard, uint64_t first_lsn) {
  const absl::StatusOr<uint32_t> count = PeekBatchCount(value, shard, first_lsn);
  if (!count.ok()) return count.status();
  const std::span<const uint8_t> records = AsBytes(value.substr(kBatchHeaderBytes));
  if (LoadLittle<uint32_t>(value.data() + 6) != BatchCrc(value.data() + 2, records) ||
      !FramingValid(records, *count, LoadLittle<uint16_t>(value.data()))) {
    return Corrupt(shard, first_lsn);
  }
  return BatchView{*count, records};
}

size_t RecordOffset(std::span<const uint8_t> records, uint32_t index) {
  size_t offset = 0;
  for (uint32_t i = 0; i < index && offset < records.size(); ++i) {
    offset += kRecordHeaderBytes +
              LoadLittle<uint16_t>(reinterpret_cast<const char*>(records.data()) + offset + 2);
  }
  return offset;
}

SnapshotHeader EncodeSnapshotHeader(std::span<const uint8_t> bytes) {
  SnapshotHeader header;
  StoreLittle(kSnapshotFormatVersion, header.data());
  StoreLittle(Crc32c(bytes), header.data() + 2);
  return header;
}

absl::StatusOr<std::span<const uint8_t>> DecodeSnapshot(std::string_view value, uint32_t shard,
                                                        uint64_t lsn) {
  if (value.size() < kSnapshotHeaderBytes) {
    return absl::DataLossError(absl::StrCat("corrupt snapshot at shard ", shard, " lsn ", lsn));
  }
  const uint16_t version = LoadLittle<uint16_t>(value.data());
  if (version != kSnapshotFormatVersion) {
    return absl::DataLossError(absl::StrCat("unknown snapshot format version ", version,
                                            " at shard ", shard, " lsn ", lsn));
  }
  const std::span<const uint8_t> bytes = AsBytes(value.substr(kSnapshotHeaderBytes));
  if (LoadLittle<uint32_t>(value.data() + 2) != Crc32c(bytes)) {
    return absl::DataLossError(absl::StrCat("corrupt snapshot at shard ", shard, " lsn ", lsn));
  }
  return bytes;
}

}  // namespace encore::persistence::internal
