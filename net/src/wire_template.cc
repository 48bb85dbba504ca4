#include "wire_template.h"

#include <cstdio>
#include <cstdlib>

namespace encore::net::internal {
void CheckTemplate(bool condition, const char* what) {
  if (__builtin_expect(!condition, 0)) {
    std::fprintf(stderr, "WireTemplate: %s\n", what);
    std::abort();
  }
}

namespace {

template <typename T>
T Load(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

}  // namespace

WireTemplate::WireTemplate(std::vector<uint8_t> frame) : frame_(std::move(frame)) {
  CheckTemplate(frame_.size() >= kFrameHeaderBytes, "no frame header");
  const size_t payload_bytes = frame_.size() - kFrameHeaderBytes;
  CheckTemplate(payload_bytes % sizeof(uint64_t) == 0, "payload not a whole number of words");
  words_.resize(payload_bytes / sizeof(uint64_t));
  std::memcpy(words_.data(), payload(), payload_bytes);
  shape_mask_.assign(words_.size(), ~uint64_t{0});
}

void WireTemplate::MarkField(Offset offset, uint32_t bytes) {
  CheckTemplate(offset >= kFrameHeaderBytes && offset + bytes <= frame_.size(), "field outside");
  for (uint32_t i = 0; i < bytes; ++i) {
    const size_t at = offset - kFrameHeaderBytes + i;
    shape_mask_[at / sizeof(uint64_t)] &= ~(uint64_t{0xff} << (8 * (at % sizeof(uint64_t))));
  }
}

bool WireTemplate::Matches(std::span<const uint8_t> payload) const {
  if (payload.size() != words_.size() * sizeof(uint64_t)) return false;
  uint64_t differences = 0;
  for (size_t i = 0; i < words_.size(); ++i) {
    differences |=
        (Load<uint64_t>(payload.data() + i * sizeof(uint64_t)) ^ words_[i]) & shape_mask_[i];
  }
  return differences == 0;
}

WireTemplate::Offset WireTemplate::FieldOffset(const void* table, uint16_t field) const {
  // A table starts with the signed distance back to its vtable; the vtable
  // holds its own size, the table's size, then one u16 offset per field
  // (0: absent).
  const uint8_t* start = static_cast<const uint8_t*>(table);
  const uint8_t* vtable = start - Load<int32_t>(start);
  CheckTemplate(field < Load<uint16_t>(vtable), "field beyond the vtable");
  const uint16_t in_table = Load<uint16_t>(vtable + field);
  CheckTemplate(in_table != 0, "field absent from the template");
  return OffsetOf(start + in_table);
}

WireTemplate::Offset WireTemplate::OffsetOf(const void* address) const {
  const uint8_t* at = static_cast<const uint8_t*>(address);
  CheckTemplate(at >= payload() && at < frame_.data() + frame_.size(), "address outside the frame");
  return static_cast<Offset>(at - frame_.data());
}

}  // namespace encore::net::internal
