// EventBuffer: an append-only byte buffer of event records.
//
// Record layout (little-endian, as on every platform Encore supports):
//   u16 type | u16 payload size | payload
// The top bit of the type field (kPackedEventFlag) says how the payload holds
// the event struct:
//   set ("packed", what Append writes): u32 mask, then the struct's nonzero
//     8-byte words in order. Bit i of the mask stands for word i; a struct
//     whose size is not a multiple of 8 has its last word zero-padded. Most
//     event fields are zero (a one-seat hold fills 1 of 8 seat slots, a reply
//     uses 4 to 6 of its 11 fields), so a record is about 40% smaller than the
//     struct, which is what the journal writes, copies and compacts.
//   clear ("raw"): the struct's bytes, as format 1 logs hold them. Still read.
// Not thread-safe; one writer. Clear() keeps the capacity, so a shard that
// reuses one buffer per batch does not allocate once warmed up.
#ifndef ENCORE_EVENT_BUFFER_H_
#define ENCORE_EVENT_BUFFER_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "encore/event.h"

namespace encore {

inline constexpr uint16_t kPackedEventFlag = 0x8000;
// A packed payload: the mask, then up to this many words.
inline constexpr size_t kPackedMaskBytes = 4;
inline constexpr size_t kPackedWordsMax = 32;

// The 8-byte words of an event struct (the last one zero-padded).
template <typename T>
inline constexpr size_t kEventWords = (sizeof(T) + 7) / 8;

// One record read from a buffer. `payload` points into the buffer.
struct EventView {
  EventType type;
  std::span<const uint8_t> payload;
  bool packed = false;  // See the layout above.

  // The event, or false if the payload cannot hold a T: a raw payload not of
  // sizeof(T) bytes (or kEventRawBytesBefore<T>, zero-extended), or a packed one whose size does
  // not match its mask, whose mask names words past the struct, or whose padding is not zero.
  // REQUIRES: type == T::kType.
  template <typename T>
  bool Decode(T* event) const {
    if (!packed) {
      if (payload.size() != sizeof(T) && payload.size() != kEventRawBytesBefore<T>) return false;
      std::memset(static_cast<void*>(event), 0, sizeof(T));
      std::memcpy(event, payload.data(), payload.size());
      return true;
    }
    constexpr size_t kWords = kEventWords<T>;
    if (payload.size() < kPackedMaskBytes) return false;
    uint32_t mask;
    std::memcpy(&mask, payload.data(), kPackedMaskBytes);
    if (kWords < 32 && (mask >> kWords) != 0) return false;
    if (payload.size() != kPackedMaskBytes + 8 * static_cast<size_t>(std::popcount(mask))) {
      return false;
    }
    uint8_t words[kWords * 8] = {};
    const uint8_t* in = payload.data() + kPackedMaskBytes;
    for (; mask != 0; mask &= mask - 1, in += 8) {
      std::memcpy(words + 8 * std::countr_zero(mask), in, 8);
    }
    for (size_t i = sizeof(T); i < sizeof(words); ++i) {
      if (words[i] != 0) return false;
    }
    std::memcpy(event, words, sizeof(T));
    return true;
  }

  // The event; a zero T if the payload is malformed (for display only: code
  // that must not misread a record uses Decode).
  template <typename T>
  T As() const {
    T event{};
    if (!Decode(&event)) event = T{};
    return event;
  }
};

inline constexpr size_t kEventHeaderBytes = 4;

// Walks records laid out as above: calls fn(EventView) for each whole record
// in order while fn returns true. Returns the bytes walked: records.size()
// when every record was whole and fn never stopped; less when fn stopped or
// the last record is cut short (broken framing).
template <typename Fn>
size_t ForEachEventRecord(std::span<const uint8_t> records, Fn&& fn) {
  size_t offset = 0;
  while (records.size() - offset >= kEventHeaderBytes) {
    uint16_t header[2];
    std::memcpy(header, records.data() + offset, kEventHeaderBytes);
    if (records.size() - offset - kEventHeaderBytes < header[1]) break;
    const EventView view{static_cast<EventType>(header[0] & ~kPackedEventFlag),
                         records.subspan(offset + kEventHeaderBytes, header[1]),
                         (header[0] & kPackedEventFlag) != 0};
    if (!fn(view)) break;
    offset += kEventHeaderBytes + header[1];
  }
  return offset;
}

class EventBuffer {
 public:
  static constexpr size_t kHeaderBytes = kEventHeaderBytes;

  // Appends `event` packed (see the layout above).
  template <typename T>
  void Append(const T& event) {
    static_assert(kIsEvent<T>);
    static_assert(static_cast<uint16_t>(T::kType) < kPackedEventFlag);
    constexpr size_t kWords = kEventWords<T>;
    static_assert(kWords <= kPackedWordsMax);
    uint8_t words[kWords * 8] = {};
    std::memcpy(words, &event, sizeof(T));
    const size_t offset = bytes_.size();
    bytes_.resize(offset + kHeaderBytes + kPackedMaskBytes + kWords * 8);
    uint8_t* const record = bytes_.data() + offset;
    uint8_t* out = record + kHeaderBytes + kPackedMaskBytes;
    uint32_t mask = 0;
    for (size_t i = 0; i < kWords; ++i) {
      uint64_t word;
      std::memcpy(&word, words + 8 * i, 8);
      if (word == 0) continue;
      std::memcpy(out, &word, 8);
      out += 8;
      mask |= uint32_t{1} << i;
    }
    const size_t payload = static_cast<size_t>(out - record) - kHeaderBytes;
    const uint16_t header[2] = {
        static_cast<uint16_t>(static_cast<uint16_t>(T::kType) | kPackedEventFlag),
        static_cast<uint16_t>(payload)};
    std::memcpy(record, header, kHeaderBytes);
    std::memcpy(record + kHeaderBytes, &mask, kPackedMaskBytes);
    bytes_.resize(offset + kHeaderBytes + payload);
    ++count_;
  }

  void Clear() {
    bytes_.clear();
    count_ = 0;
  }
  void Reserve(size_t bytes) { bytes_.reserve(bytes); }

  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::span<const uint8_t> bytes() const { return bytes_; }

  // Calls fn(EventView) for each record in order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    ForEachEventRecord(bytes(), [&](const EventView& view) {
      fn(view);
      return true;
    });
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t count_ = 0;
};

}  // namespace encore

#endif  // ENCORE_EVENT_BUFFER_H_
