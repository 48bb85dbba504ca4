// ChunkedVector: an append-only array kept in fixed-size chunks.
//
// Growing never moves an element or copies the array: a push that finds the
// last chunk full allocates the next one, whose pages the kernel maps as they
// are first written. It is for state that only grows (ledger entries,
// payments). A std::vector there doubled by copying: at 4M payments the
// ledger's copy faulted in hundreds of MB at once, in the shard thread, and
// stalled every request for up to a second (docs/PERFORMANCE.md).
//
// Elements are trivially copyable (the snapshot writes their bytes).
#ifndef ENCORE_INTERNAL_CHUNKED_VECTOR_H_
#define ENCORE_INTERNAL_CHUNKED_VECTOR_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

namespace encore::internal {

template <typename T, size_t kChunkBits = 14>
class ChunkedVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  static constexpr size_t kChunkSize = size_t{1} << kChunkBits;

  class ConstIterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    ConstIterator() = default;
    ConstIterator(const ChunkedVector* owner, size_t index) : owner_(owner), index_(index) {}
    const T& operator*() const { return (*owner_)[index_]; }
    const T* operator->() const { return &(*owner_)[index_]; }
    ConstIterator& operator++() {
      ++index_;
      return *this;
    }
    ConstIterator operator++(int) {
      ConstIterator before = *this;
      ++index_;
      return before;
    }
    friend bool operator==(const ConstIterator& a, const ConstIterator& b) {
      return a.index_ == b.index_;
    }

   private:
    const ChunkedVector* owner_ = nullptr;
    size_t index_ = 0;
  };

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Elements the allocated chunks hold.
  size_t capacity() const { return chunks_.size() * kChunkSize; }

  T& operator[](size_t index) { return chunks_[index >> kChunkBits][index & (kChunkSize - 1)]; }
  const T& operator[](size_t index) const {
    return chunks_[index >> kChunkBits][index & (kChunkSize - 1)];
  }
  T& back() { return (*this)[size_ - 1]; }
  const T& back() const { return (*this)[size_ - 1]; }

  void push_back(const T& value) {
    if ((size_ & (kChunkSize - 1)) == 0) AddChunk();
    (*this)[size_] = value;
    ++size_;
  }

  // Appends `count` elements from their bytes at `bytes`, which need not be
  // aligned for T (a snapshot being loaded).
  void AppendBytes(const uint8_t* bytes, size_t count) {
    while (count > 0) {
      if ((size_ & (kChunkSize - 1)) == 0) AddChunk();
      const size_t room = kChunkSize - (size_ & (kChunkSize - 1));
      const size_t taken = count < room ? count : room;
      std::memcpy(&(*this)[size_], bytes, taken * sizeof(T));
      size_ += taken;
      bytes += taken * sizeof(T);
      count -= taken;
    }
  }

  void clear() {
    chunks_.clear();
    size_ = 0;
  }

  // Calls fn(std::span<const T>) for the elements, chunk by chunk, in order.
  template <typename Fn>
  void ForEachChunk(Fn fn) const {
    for (size_t first = 0; first < size_; first += kChunkSize) {
      const size_t count = size_ - first < kChunkSize ? size_ - first : kChunkSize;
      fn(std::span<const T>(chunks_[first >> kChunkBits].get(), count));
    }
  }

  ConstIterator begin() const { return ConstIterator(this, 0); }
  ConstIterator end() const { return ConstIterator(this, size_); }

 private:
  void AddChunk() {
    // Default-initialized, not zeroed: a page is first touched when an
    // element is written to it, not all at once here.
    chunks_.push_back(std::make_unique_for_overwrite<T[]>(kChunkSize));
  }

  std::vector<std::unique_ptr<T[]>> chunks_;
  size_t size_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_CHUNKED_VECTOR_H_
