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

class EventBuffer {
 public:
  static constexpr size_t kHeaderBytes = 4;

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
    size_t offset = 0;
    while (offset < bytes_.size()) {
      uint16_t header[2];
      std::memcpy(header, bytes_.data() + offset, kHeaderBytes);
      fn(EventView{static_cast<EventType>(header[0]),
                   std::span<const uint8_t>(bytes_.data() + offset + kHeaderBytes, header[1])});
      offset += kHeaderBytes + header[1];
    }
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t count_ = 0;
};

}  // namespace encore

#endif  // ENCORE_EVENT_BUFFER_H_
