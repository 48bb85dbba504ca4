// SnapshotBuffer: the bytes of a snapshot, for a runtime that takes one
// snapshot after another into the same buffer.
//
// Its memory comes straight from mmap and grows with mremap: growing moves
// page tables, never bytes, and a page written once stays mapped for the next
// snapshot. A std::vector instead re-allocates, copies what it holds and
// faults every page of the new block in again each time it grows, which for
// a snapshot of hundreds of megabytes cost the shard thread more than its
// requests did (docs/PERFORMANCE.md). Prefault() lets another thread pay for
// the first touch of the room the next snapshot is expected to need.
//
// Thread safety: none; one thread at a time (the shard while it serializes,
// the snapshot thread while it stores and prefaults).
#ifndef ENCORE_SNAPSHOT_BUFFER_H_
#define ENCORE_SNAPSHOT_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace encore {

class SnapshotBuffer {
 public:
  SnapshotBuffer() = default;
  ~SnapshotBuffer();
  SnapshotBuffer(const SnapshotBuffer&) = delete;
  SnapshotBuffer& operator=(const SnapshotBuffer&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

  // Empties the buffer and keeps its memory.
  void Clear() { size_ = 0; }
  // Appends `bytes` bytes and returns where they start, for the caller to
  // fill. Throws std::bad_alloc when no memory can be mapped.
  uint8_t* Append(size_t bytes) {
    if (capacity_ - size_ < bytes) Grow(size_ + bytes);
    uint8_t* start = data_ + size_;
    size_ += bytes;
    return start;
  }
  // Makes room for at least `bytes` bytes and faults their pages in now
  // (MADV_POPULATE_WRITE, or a write to each page where the kernel lacks
  // it), so that filling them later takes no page fault. The contents are
  // unchanged. False, and nothing faulted, when the memory cannot be had: it
  // is only an optimization.
  bool Prefault(size_t bytes);

 private:
  void Grow(size_t min_capacity);  // Throws std::bad_alloc on failure.
  bool TryGrow(size_t min_capacity);

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace encore

#endif  // ENCORE_SNAPSHOT_BUFFER_H_
