#include "internal/log_end.h"

#include <cstdint>
#include <span>

#include "absl/strings/str_cat.h"
#include "internal/crc32c.h"

namespace encore::persistence::internal {
namespace {

constexpr uint32_t kVersion = 1;
constexpr size_t kFixedBytes = 4 + 8 + 8 + 4;
constexpr size_t kShardBytes = 4 + 8;

void Put(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t Get(std::string_view in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= uint64_t{static_cast<uint8_t>(in[at + static_cast<size_t>(i)])} << (8 * i);
  }
  return value;
}

uint32_t Checksum(std::string_view bytes) {
  return Crc32c({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace

std::string EncodeLogEnd(const SegmentLog::Extent& extent) {
  std::string out;
  Put(kVersion, 4, &out);
  Put(extent.segment, 8, &out);
  Put(extent.bytes, 8, &out);
  Put(extent.last_lsn.size(), 4, &out);
  for (const auto& [shard, lsn] : extent.last_lsn) {
    Put(shard, 4, &out);
    Put(lsn, 8, &out);
  }
  Put(Checksum(out), 4, &out);
  return out;
}

absl::StatusOr<SegmentLog::Extent> DecodeLogEnd(std::string_view value) {
  const auto corrupt = [](const char* why) {
    return absl::DataLossError(absl::StrCat("the journal's log end mark is corrupt: ", why));
  };
  if (value.size() < kFixedBytes + 4) return corrupt("too short");
  const uint64_t shards = Get(value, 20, 4);
  if (value.size() != kFixedBytes + shards * kShardBytes + 4) return corrupt("wrong size");
  const std::string_view body = value.substr(0, value.size() - 4);
  if (Checksum(body) != Get(value, body.size(), 4)) return corrupt("bad checksum");
  if (const uint64_t version = Get(value, 0, 4); version != kVersion) {
    return absl::DataLossError(absl::StrCat("unknown log end mark version ", version));
  }
  SegmentLog::Extent extent;
  extent.segment = Get(value, 4, 8);
  extent.bytes = Get(value, 12, 8);
  for (uint64_t i = 0; i < shards; ++i) {
    const size_t at = kFixedBytes + i * kShardBytes;
    extent.last_lsn[static_cast<uint32_t>(Get(value, at, 4))] = Get(value, at + 4, 8);
  }
  return extent;
}

}  // namespace encore::persistence::internal
