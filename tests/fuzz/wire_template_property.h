// The property that lets a templated payload skip the flatbuffers Verifier
// (net/src/wire_template.h), and the mutations that try to break it. Shared by
// the libFuzzer target (wire_template_fuzz.cc) and its bounded, seeded run in
// ctest (wire_template_fuzz_test.cc); no gtest here.
//
// The property, for any payload: if it matches a request template
// (IsTemplatedCommandRequest) then the Verifier DecodeRequest would otherwise
// run accepts it, and a command it decodes to encodes (through the templates)
// back to exactly these bytes, so the decoded fields are the bytes at the
// template's field offsets. The same for the command reply template,
// DecodeResponse and AppendCommandResponse.
#ifndef ENCORE_TESTS_FUZZ_WIRE_TEMPLATE_PROPERTY_H_
#define ENCORE_TESTS_FUZZ_WIRE_TEMPLATE_PROPERTY_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "encore/net/protocol.h"
#include "encore_generated.h"
#include "flatbuffers/flatbuffers.h"
#include "wire_template.h"

namespace encore::testing {

// A small, fast, seeded generator (splitmix64): the same seed gives the same
// mutations on every platform.
class MutationRandom {
 public:
  explicit MutationRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n) for n far below 2^64. REQUIRES: n > 0.
  uint32_t Below(uint64_t n) { return static_cast<uint32_t>(Next() % n); }

 private:
  uint64_t state_;
};

enum class SampleKind : uint8_t { kRequest, kResponse };

struct WireSample {
  SampleKind kind;
  std::vector<uint8_t> payload;  // Without the frame header.
};

// A value that is often an edge of its type.
inline uint64_t EdgyValue(MutationRandom& random) {
  switch (random.Below(5)) {
    case 0:
      return 0;
    case 1:
      return ~uint64_t{0};
    case 2:
      return uint64_t{1} << 63;
    case 3:
      return random.Below(1000);
    default:
      return random.Next();
  }
}

inline std::vector<uint8_t> PayloadOf(const std::vector<uint8_t>& frame) {
  return std::vector<uint8_t>(frame.begin() + net::kFrameHeaderBytes, frame.end());
}

// Valid payloads of every templated kind: each fixed-shape request (HoldSeats
// at every seat count), `per_kind` times with random field values, and the
// command reply as many times.
inline std::vector<WireSample> TemplatedSamples(MutationRandom& random, int per_kind) {
  std::vector<Command> shapes;
  for (CommandType type : {CommandType::kEnterQueue, CommandType::kQueueStatus,
                           CommandType::kLeaveQueue, CommandType::kReleaseHold, CommandType::kPay,
                           CommandType::kCharge, CommandType::kBalance}) {
    Command command;
    command.type = type;
    shapes.push_back(command);
  }
  for (uint32_t count = 0; count <= kHoldSeatsMax; ++count) {
    Command command;
    command.type = CommandType::kHoldSeats;
    command.seat_count = static_cast<uint8_t>(count);
    shapes.push_back(command);
  }
  std::vector<WireSample> samples;
  for (int round = 0; round < per_kind; ++round) {
    for (Command command : shapes) {
      command.request_key = EdgyValue(random);
      command.user = EdgyValue(random);
      command.schedule = EdgyValue(random);
      command.token = QueueToken{EdgyValue(random), EdgyValue(random)};
      command.hold = EdgyValue(random);
      command.hold_proof = EdgyValue(random);
      command.amount = static_cast<Points>(EdgyValue(random));
      for (uint32_t i = 0; i < command.seat_count; ++i) {
        command.seats[i] = static_cast<SeatIndex>(EdgyValue(random));
      }
      std::vector<uint8_t> frame;
      net::AppendCommandRequest(EdgyValue(random), command, &frame);
      samples.push_back({SampleKind::kRequest, PayloadOf(frame)});
    }
    Reply reply;
    reply.code = static_cast<ResultCode>(random.Below(1 << 16));
    reply.queue_state = static_cast<QueueState>(random.Below(256));
    reply.seat_count = static_cast<uint8_t>(random.Below(256));
    reply.hold = EdgyValue(random);
    reply.hold_deadline_ms = static_cast<TimestampMs>(EdgyValue(random));
    reply.payment = EdgyValue(random);
    reply.amount = static_cast<Points>(EdgyValue(random));
    reply.balance = static_cast<Points>(EdgyValue(random));
    reply.token = QueueToken{EdgyValue(random), EdgyValue(random)};
    reply.position = EdgyValue(random);
    reply.eta_ms = static_cast<int64_t>(EdgyValue(random));
    reply.active_deadline_ms = static_cast<TimestampMs>(EdgyValue(random));
    reply.hold_proof = EdgyValue(random);
    std::vector<uint8_t> frame;
    net::AppendCommandResponse(EdgyValue(random), reply, &frame);
    samples.push_back({SampleKind::kResponse, PayloadOf(frame)});
  }
  return samples;
}

// One to three of: bit flips, a byte set (often to an edge value), a
// truncation, an extension, a splice from another sample (over the same
// offsets, or its tail after this one's head).
inline void Mutate(MutationRandom& random, const std::vector<WireSample>& samples,
                   std::vector<uint8_t>* bytes) {
  const uint32_t steps = 1 + random.Below(3);
  for (uint32_t step = 0; step < steps; ++step) {
    switch (random.Below(6)) {
      case 0:
      case 1: {  // Bit flips.
        if (bytes->empty()) break;
        const uint32_t flips = 1 + random.Below(4);
        for (uint32_t i = 0; i < flips; ++i) {
          (*bytes)[random.Below(bytes->size())] ^= static_cast<uint8_t>(1u << random.Below(8));
        }
        break;
      }
      case 2: {  // A byte set.
        if (bytes->empty()) break;
        static constexpr std::array<uint8_t, 6> kEdges = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
        (*bytes)[random.Below(bytes->size())] = random.Below(2) == 0
                                                    ? kEdges[random.Below(kEdges.size())]
                                                    : static_cast<uint8_t>(random.Next());
        break;
      }
      case 3: {  // A truncation.
        if (bytes->empty()) break;
        bytes->resize(random.Below(bytes->size()));
        break;
      }
      case 4: {  // An extension, by whole words (a template's size) or a few bytes.
        const uint32_t extra =
            random.Below(2) == 0 ? 8 * (1 + random.Below(4)) : 1 + random.Below(7);
        for (uint32_t i = 0; i < extra; ++i) bytes->push_back(static_cast<uint8_t>(random.Next()));
        break;
      }
      default: {  // A splice.
        const std::vector<uint8_t>& other = samples[random.Below(samples.size())].payload;
        if (bytes->empty() || other.empty()) break;
        if (random.Below(2) == 0) {
          // The same offsets: a range of the other sample over this one.
          const size_t limit = std::min(bytes->size(), other.size());
          const size_t from = random.Below(limit);
          const size_t length = 1 + random.Below(limit - from);
          std::memcpy(bytes->data() + from, other.data() + from, length);
        } else {
          // This one's head, the other's tail.
          const size_t head = random.Below(bytes->size() + 1);
          const size_t tail_from = random.Below(other.size() + 1);
          bytes->resize(head);
          bytes->insert(bytes->end(), other.begin() + static_cast<std::ptrdiff_t>(tail_from),
                        other.end());
        }
        break;
      }
    }
  }
}

struct PropertyCounts {
  uint64_t checked = 0;
  uint64_t request_matches = 0;
  uint64_t response_matches = 0;
  uint64_t refused_after_match = 0;  // A match whose values DecodeRequest refuses.
};

// Checks the property on one payload: nullptr when it holds, else what broke.
inline const char* CheckTemplateProperty(std::span<const uint8_t> payload, PropertyCounts* counts) {
  ++counts->checked;
  if (net::internal::IsTemplatedCommandRequest(payload)) {
    ++counts->request_matches;
    flatbuffers::Verifier verifier(payload.data(), payload.size());
    if (!wire::VerifyRequestBuffer(verifier)) {
      return "a payload matches a request template but fails the Verifier";
    }
    const net::DecodeResult decoded = net::DecodeRequest(payload);
    if (decoded.code != ResultCode::kOk) {
      ++counts->refused_after_match;
      return nullptr;
    }
    if (decoded.request.kind != net::RequestKind::kCommand) {
      return "a payload matching a request template decodes to no command";
    }
    std::vector<uint8_t> frame;
    net::AppendCommandRequest(decoded.request.id, decoded.request.command, &frame);
    if (frame.size() != net::kFrameHeaderBytes + payload.size() ||
        std::memcmp(frame.data() + net::kFrameHeaderBytes, payload.data(), payload.size()) != 0) {
      return "a request template match decodes to fields that do not encode back to it";
    }
  }
  if (net::internal::IsTemplatedCommandResponse(payload)) {
    ++counts->response_matches;
    flatbuffers::Verifier verifier(payload.data(), payload.size());
    if (!verifier.VerifyBuffer<wire::Response>(nullptr)) {
      return "a payload matches the reply template but fails the Verifier";
    }
    const absl::StatusOr<net::DecodedResponse> decoded = net::DecodeResponse(payload);
    if (!decoded.ok() || decoded->kind != net::ResponseKind::kCommand) {
      return "a payload matching the reply template decodes to no command reply";
    }
    std::vector<uint8_t> frame;
    net::AppendCommandResponse(decoded->id, decoded->reply, &frame);
    if (frame.size() != net::kFrameHeaderBytes + payload.size() ||
        std::memcmp(frame.data() + net::kFrameHeaderBytes, payload.data(), payload.size()) != 0) {
      return "a reply template match decodes to fields that do not encode back to it";
    }
  }
  return nullptr;
}

}  // namespace encore::testing

#endif  // ENCORE_TESTS_FUZZ_WIRE_TEMPLATE_PROPERTY_H_
