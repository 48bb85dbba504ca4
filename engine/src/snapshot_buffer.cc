#include "encore/snapshot_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <new>

namespace encore {
namespace {

// The smallest mapping: small snapshots (tests, a new server) stay cheap.
constexpr size_t kMinCapacity = size_t{64} << 10;

size_t PageBytes() {
  static const size_t bytes = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return bytes;
}

size_t RoundUpToPage(size_t bytes) {
  const size_t page = PageBytes();
  return (bytes + page - 1) / page * page;
}

}  // namespace

SnapshotBuffer::~SnapshotBuffer() {
  if (data_ != nullptr) ::munmap(data_, capacity_);
}

void SnapshotBuffer::Grow(size_t min_capacity) {
  if (!TryGrow(min_capacity)) throw std::bad_alloc();
}

bool SnapshotBuffer::TryGrow(size_t min_capacity) {
  // size_ + bytes overflowed, or no page rounding fits: nothing can be mapped.
  if (min_capacity < size_ || min_capacity > SIZE_MAX / 2) return false;
  // Doubling keeps the number of mremap calls logarithmic; each is cheap.
  const size_t wanted =
      RoundUpToPage(std::max({min_capacity, std::min(capacity_, SIZE_MAX / 4) * 2, kMinCapacity}));
  void* grown = data_ == nullptr ? ::mmap(nullptr, wanted, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                 : ::mremap(data_, capacity_, wanted, MREMAP_MAYMOVE);
  if (grown == MAP_FAILED) return false;
  data_ = static_cast<uint8_t*>(grown);
  capacity_ = wanted;
  return true;
}

bool SnapshotBuffer::Prefault(size_t bytes) {
  if (bytes == 0) return true;
  if (capacity_ < bytes && !TryGrow(bytes)) return false;
  const size_t length = RoundUpToPage(bytes);
  if (::madvise(data_, length, MADV_POPULATE_WRITE) == 0) return true;
  if (errno != EINVAL) return false;  // ENOMEM and the like: leave it to the next writer.
  // Kernels before 5.14: read and write back one byte per page. Pages past
  // size() hold nothing yet; the ones before keep their bytes.
  volatile uint8_t* bytes_of = data_;
  for (size_t offset = 0; offset < length; offset += PageBytes()) {
    bytes_of[offset] = bytes_of[offset];
  }
  return true;
}

}  // namespace encore
