// Request: a command on its way from a producer to a shard, as its ring
// carries it.
//
// Thread safety: a value; copied through a Ring.
#ifndef ENCORE_RUNTIME_REQUEST_H_
#define ENCORE_RUNTIME_REQUEST_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "encore/command.h"

namespace encore::internal {

// The bytes of a Command that client commands use: every field before
// `policy`. Only the admin commands read past them (policy, title,
// schedule_config): see Core::Apply and CoreState::Fingerprint.
inline constexpr size_t kCommandHeadBytes = offsetof(Command, policy);
constexpr bool NeedsWholeCommand(CommandType type) {
  return type == CommandType::kCreateConcert || type == CommandType::kCreateSchedule ||
         type == CommandType::kSetAdmissionPolicy;
}

// The ring carries the command's head only (112 of its 400 bytes: each
// request crosses from the producer's core to the shard's in 2 cache lines
// instead of 7); an admin command also goes whole, on the producer's
// whole-command ring to the same shard, pushed just before.
struct Request {
  alignas(8) std::array<uint8_t, kCommandHeadBytes> head;
  uint64_t tag;
  // A copy of a broadcast command (CREATE_CONCERT goes to every shard): its
  // completion only settles the ring accounting and is not handed out.
  bool silent;
  bool whole;  // Take the command from the whole-command ring.
};
static_assert(std::is_trivially_copyable_v<Request>);
static_assert(offsetof(Command, hold_proof) < kCommandHeadBytes,
              "RELEASE_HOLD's proof must travel in the head");

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_REQUEST_H_
