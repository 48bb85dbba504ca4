// WireTemplate: the frame of one fixed-shape message, encoded once, then
// copied and patched for every message of that shape.
//
// A flatbuffers table built with every field present (the builder's
// ForceDefaults) has the same layout whatever its scalar values: the same
// vtable, the same field offsets, the same size. So the frames of the hot
// messages (a command request, a command reply) need no builder per message:
// the codec builds one template per shape at first use, notes where each
// scalar field lies, and encodes a message as a copy of the template and one
// store per field. What goes on the wire is byte for byte what the builder
// would have written with ForceDefaults (tests/net/wire_template_test.cc), so
// the peer's Verifier and readers see an ordinary buffer.
//
// Thread safety: immutable once built; shared by all threads.
#ifndef ENCORE_NET_SRC_WIRE_TEMPLATE_H_
#define ENCORE_NET_SRC_WIRE_TEMPLATE_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "encore/net/protocol.h"

namespace encore::net::internal {

// Flatbuffers stores scalars little-endian; the stores below copy native
// bytes.
static_assert(std::endian::native == std::endian::little,
              "WireTemplate stores scalars in native byte order");

// A template that is not the shape its builder promised is a programmer
// error (every message encoded from it would be wrong): prints `what` and
// aborts unless `condition`.
void CheckTemplate(bool condition, const char* what);

class WireTemplate {
 public:
  // Where a field lies in the frame: 0 means the shape has no such field (the
  // frame's first bytes are its header, never a field).
  using Offset = uint32_t;
  static constexpr Offset kAbsent = 0;

  WireTemplate() = default;
  // `frame`: one whole frame (header and payload), its payload a whole
  // number of 8-byte words (flatbuffers pads a buffer with 8-byte scalars so).
  explicit WireTemplate(std::vector<uint8_t> frame);

  const uint8_t* payload() const { return frame_.data() + kFrameHeaderBytes; }
  size_t frame_bytes() const { return frame_.size(); }

  // The frame offset of the scalar or struct field in vtable slot `field` of
  // the table at `table` (a pointer into payload(), as the generated
  // accessors return it). REQUIRES: the field is present (checked).
  Offset FieldOffset(const void* table, uint16_t field) const;
  // The frame offset of `address`, a pointer into payload().
  Offset OffsetOf(const void* address) const;

  // Says that the `bytes` at `offset` hold a field's value: they may differ
  // from message to message, every other byte is the shape's.
  void MarkField(Offset offset, uint32_t bytes);
  // True when `payload` is this shape with any field values: its size and
  // every byte outside the marked fields are the template's. Such a buffer
  // passes the flatbuffers Verifier, which checks offsets, sizes and union
  // types but no scalar's value, exactly as the template does; so a match
  // needs no Verifier pass.
  bool Matches(std::span<const uint8_t> payload) const;

  // Appends a copy of the frame to `out`; returns where it starts, for Store.
  size_t AppendTo(std::vector<uint8_t>* out) const {
    const size_t start = out->size();
    out->insert(out->end(), frame_.begin(), frame_.end());
    return start;
  }

  // Writes `value` over the field at `offset` of the frame at `start` of
  // `out`. A kAbsent offset stores nothing.
  template <typename T>
  static void Store(std::vector<uint8_t>* out, size_t start, Offset offset, T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (offset == kAbsent) return;
    std::memcpy(out->data() + start + offset, &value, sizeof(value));
  }

 private:
  std::vector<uint8_t> frame_;
  // The payload as 8-byte words, and per word the bits of its shape's bytes
  // (0x00 over a field's bytes, 0xff elsewhere).
  std::vector<uint64_t> words_;
  std::vector<uint64_t> shape_mask_;
};

// protocol.cc: the builder's frames with every field present, which the
// templates reproduce byte for byte.
void BuildCommandRequestFrame(uint64_t id, const Command& command, std::vector<uint8_t>* out);
void BuildCommandResponseFrame(uint64_t id, const Reply& reply, std::vector<uint8_t>* out);

// wire_shapes.cc: the frames from templates. A command request has a fixed
// shape unless it carries a string or a list of its own size (create
// concert, create schedule, set policy) or has an unknown type: then false,
// and nothing is appended. Every command reply has one shape.
bool AppendTemplatedCommandRequest(uint64_t id, const Command& command, std::vector<uint8_t>* out);
void AppendTemplatedCommandResponse(uint64_t id, const Reply& reply, std::vector<uint8_t>* out);
// True when a payload is one of those templates' shapes (WireTemplate::Matches):
// it needs no Verifier pass before it is read.
bool IsTemplatedCommandRequest(std::span<const uint8_t> payload);
bool IsTemplatedCommandResponse(std::span<const uint8_t> payload);

}  // namespace encore::net::internal

#endif  // ENCORE_NET_SRC_WIRE_TEMPLATE_H_
