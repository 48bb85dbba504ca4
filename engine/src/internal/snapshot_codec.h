// SnapshotWriter / SnapshotReader: the little-endian binary encoding of a
// core snapshot. The reader checks every length against what is left, so a
// truncated or corrupted snapshot is refused (DataLoss), never read past.
#ifndef ENCORE_INTERNAL_SNAPSHOT_CODEC_H_
#define ENCORE_INTERNAL_SNAPSHOT_CODEC_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "encore/snapshot_buffer.h"
#include "internal/chunked_vector.h"

namespace encore::internal {

class SnapshotWriter {
 public:
  explicit SnapshotWriter(SnapshotBuffer* out) : out_(out) {}

  // A trivially copyable value with no padding bytes (the static_assert keeps
  // uninitialized padding out of snapshots).
  template <typename T>
  void Put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T>);
    std::memcpy(out_->Append(sizeof(T)), &value, sizeof(T));
  }
  template <typename T>
  void PutVector(const std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T>);
    Put<uint64_t>(values.size());
    if (values.empty()) return;
    std::memcpy(out_->Append(values.size() * sizeof(T)), values.data(), values.size() * sizeof(T));
  }
  // The same bytes as PutVector of the same elements.
  template <typename T, size_t kChunkBits>
  void PutVector(const ChunkedVector<T, kChunkBits>& values) {
    static_assert(std::has_unique_object_representations_v<T>);
    Put<uint64_t>(values.size());
    values.ForEachChunk([&](std::span<const T> chunk) {
      std::memcpy(out_->Append(chunk.size_bytes()), chunk.data(), chunk.size_bytes());
    });
  }

 private:
  SnapshotBuffer* out_;
};

class SnapshotReader {
 public:
  explicit SnapshotReader(std::span<const uint8_t> in) : in_(in) {}

  template <typename T>
  bool Get(T* value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (in_.size() - offset_ < sizeof(T)) return Fail();
    std::memcpy(value, in_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  // The first `bytes` bytes of *value, the rest left as they are.
  // REQUIRES: bytes <= sizeof(T).
  template <typename T>
  bool GetBytes(T* value, size_t bytes) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (in_.size() - offset_ < bytes) return Fail();
    std::memcpy(static_cast<void*>(value), in_.data() + offset_, bytes);
    offset_ += bytes;
    return true;
  }
  template <typename T>
  bool GetVector(std::vector<T>* values, uint64_t max_count) {
    uint64_t count = 0;
    if (!GetCount(&count, sizeof(T)) || count > max_count) return Fail();
    values->resize(count);
    if (count > 0) std::memcpy(values->data(), in_.data() + offset_, count * sizeof(T));
    offset_ += count * sizeof(T);
    return true;
  }
  // REQUIRES: *values is empty.
  template <typename T, size_t kChunkBits>
  bool GetVector(ChunkedVector<T, kChunkBits>* values, uint64_t max_count) {
    uint64_t count = 0;
    if (!GetCount(&count, sizeof(T)) || count > max_count) return Fail();
    values->AppendBytes(in_.data() + offset_, count);
    offset_ += count * sizeof(T);
    return true;
  }
  // Reads a count of elements of `element_bytes` each that must still fit in
  // what is left: a corrupt count can never make the caller allocate more
  // than the snapshot could hold.
  bool GetCount(uint64_t* count, size_t element_bytes) {
    return Get(count) && HasRoom(*count, element_bytes);
  }
  // True when `count` elements of `element_bytes` each fit in what is left.
  bool HasRoom(uint64_t count, size_t element_bytes) {
    if (count > (in_.size() - offset_) / element_bytes) return Fail();
    return true;
  }
  // Marks the snapshot invalid (for a value that cannot be right).
  bool Fail() {
    failed_ = true;
    return false;
  }
  bool done() const { return offset_ == in_.size(); }
  [[nodiscard]] absl::Status status(const char* what) const {
    if (failed_) return absl::DataLossError(std::string("snapshot is corrupt in ") + what);
    return absl::OkStatus();
  }

 private:
  std::span<const uint8_t> in_;
  size_t offset_ = 0;
  bool failed_ = false;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_SNAPSHOT_CODEC_H_
