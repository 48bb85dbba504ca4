// The journal's CRC32C and on-disk encoding (persistence/src/internal).
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "internal/crc32c.h"
#include "internal/log_format.h"

namespace encore::persistence::internal {
namespace {

std::span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(Crc32cTest, KnownVectors) {
  // The check value of CRC-32C, and the RFC 3720 (iSCSI) vectors.
  EXPECT_EQ(Crc32c(Bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::vector<uint8_t>(32, 0x00)), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::vector<uint8_t>(32, 0xFF)), 0x62A8AB43u);
  std::vector<uint8_t> ascending(32);
  for (uint8_t i = 0; i < 32; ++i) ascending[i] = i;
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c({}), 0u);
}

TEST(Crc32cTest, ExtendEqualsWholeAndHardwareEqualsTable) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  const std::span<const uint8_t> all(data);
  for (size_t split : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    EXPECT_EQ(Crc32cExtend(Crc32c(all.first(split)), all.subspan(split)), Crc32c(all)) << split;
    EXPECT_EQ(Crc32cExtendPortable(0, all.first(split)), Crc32c(all.first(split))) << split;
  }
}

TEST(LogFormatTest, KeysAreBigEndianSoThatByteOrderIsLsnOrder) {
  const Key key = EncodeKey(kBatchKind, 0x01020304u, 0x05060708090A0B0Cull);
  const std::string expected("E\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C", kKeyBytes);
  EXPECT_EQ(std::string(AsView(key)), expected);
  EXPECT_LT(AsView(EncodeKey(kBatchKind, 1, 255)), AsView(EncodeKey(kBatchKind, 1, 256)));
  EXPECT_LT(AsView(EncodeKey(kBatchKind, 1, ~0ull)), AsView(EncodeKey(kBatchKind, 2, 0)));
  const std::optional<DecodedKey> decoded = DecodeKey(AsView(key));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->kind, 'E');
  EXPECT_EQ(decoded->shard, 0x01020304u);
  EXPECT_EQ(decoded->lsn, 0x05060708090A0B0Cull);
  EXPECT_FALSE(DecodeKey("short").has_value());
}

TEST(LogFormatTest, BatchHeaderLayout) {
  const std::string records("\x01\x00\x02\x00zz", 6);  // One record: type 1, 2 bytes.
  const BatchHeader header = EncodeBatchHeader(1, Bytes(records));
  EXPECT_EQ(std::string(header.data(), 6), std::string("\x02\x00\x01\x00\x00\x00", 6));
  std::string value(header.data(), header.size());
  value += records;
  const absl::StatusOr<BatchView> batch = DecodeBatch(value, 3, 10);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->count, 1u);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(batch->records.data()), batch->records.size()),
      records);
}

// A version 1 value: what EncodeBatchHeader wrote before records could be packed.
std::string VersionOneValue(uint32_t count, const std::string& records) {
  const BatchHeader header = EncodeBatchHeader(count, Bytes(records));
  std::string value(header.data(), header.size());
  value[0] = 1;  // The version is not in the checksum, which covers count and records.
  return value + records;
}

TEST(LogFormatTest, VersionOneLogsAreStillRead) {
  const std::string records("\x01\x00\x02\x00zz", 6);  // A raw record, as version 1 wrote it.
  const absl::StatusOr<BatchView> batch = DecodeBatch(VersionOneValue(1, records), 3, 10);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->count, 1u);
}

TEST(LogFormatTest, APackedRecordInAVersionOneValueIsCorrupt) {
  const std::string packed("\x01\x80\x02\x00zz", 6);  // Type 1 with the packed flag.
  EXPECT_EQ(DecodeBatch(VersionOneValue(1, packed), 3, 10).status().message(),
            "corrupt record at shard 3 lsn 10");
  const BatchHeader header = EncodeBatchHeader(1, Bytes(packed));
  EXPECT_TRUE(DecodeBatch(std::string(header.data(), header.size()) + packed, 3, 10).ok());
}

TEST(LogFormatTest, FramingMustMatchTheCount) {
  const std::string records("\x01\x00\x02\x00zz", 6);
  const BatchHeader header = EncodeBatchHeader(2, Bytes(records));  // Says 2, holds 1.
  const std::string value = std::string(header.data(), header.size()) + records;
  const absl::StatusOr<BatchView> batch = DecodeBatch(value, 3, 10);
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(batch.status().message(), "corrupt record at shard 3 lsn 10");
}

TEST(LogFormatTest, SnapshotRoundTripAndCorruption) {
  const std::string bytes = "state bytes";
  const SnapshotHeader header = EncodeSnapshotHeader(Bytes(bytes));
  std::string value = std::string(header.data(), header.size()) + bytes;
  const absl::StatusOr<std::span<const uint8_t>> decoded = DecodeSnapshot(value, 1, 9);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(decoded->data()), decoded->size()), bytes);
  value.back() ^= 1;
  EXPECT_EQ(DecodeSnapshot(value, 1, 9).status().message(), "corrupt snapshot at shard 1 lsn 9");
}

}  // namespace
}  // namespace encore::persistence::internal
