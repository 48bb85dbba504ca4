// EventBuffer: an append-only byte buffer of event records.
//
// Record layout (little-endian, as on every platform Encore supports):
//   u16 type | u16 payload size | payload (the event struct's bytes)
// Not thread-safe; one writer. Clear() keeps the capacity, so a shard that
// reuses one buffer per batch does not allocate once warmed up.
#ifndef ENCORE_EVENT_BUFFER_H_
#define ENCORE_EVENT_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "encore/event.h"

namespace encore {

// One record read from a buffer. `payload` points into the buffer.
struct EventView {
  EventType type;
  std::span<const uint8_t> payload;

  // REQUIRES: type == T::kType and payload.size() == sizeof(T).
  template <typename T>
  T As() const {
    T event;
    std::memcpy(&event, payload.data(), sizeof(T));
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
    const EventView view{static_cast<EventType>(header[0]),
                         records.subspan(offset + kEventHeaderBytes, header[1])};
    if (!fn(view)) break;
    offset += kEventHeaderBytes + header[1];
  }
  return offset;
}

class EventBuffer {
 public:
  static constexpr size_t kHeaderBytes = kEventHeaderBytes;

  template <typename T>
  void Append(const T& event) {
    static_assert(kIsEvent<T>);
    static_assert(sizeof(T) <= UINT16_MAX);
    const size_t offset = bytes_.size();
    bytes_.resize(offset + kHeaderBytes + sizeof(T));
    const uint16_t header[2] = {static_cast<uint16_t>(T::kType), static_cast<uint16_t>(sizeof(T))};
    std::memcpy(bytes_.data() + offset, header, kHeaderBytes);
    std::memcpy(bytes_.data() + offset + kHeaderBytes, &event, sizeof(T));
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
