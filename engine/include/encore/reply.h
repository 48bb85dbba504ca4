// Replies: the output of Core::Apply for one command.
//
// A Reply is trivially copyable and of fixed size. Which fields are set depends
// on the command; `code` is always set.
#ifndef ENCORE_REPLY_H_
#define ENCORE_REPLY_H_

#include <cstdint>
#include <string_view>
#include <type_traits>

#include "encore/command.h"
#include "encore/result_code.h"
#include "encore/types.h"

namespace encore {

// A queue entry's state: X(enumerator, value, name, wire name), `name` being
// how logs and tools print it (QueueStateName) and `wire name` the state in
// net/schema/encore.fbs, which the codec checks against this list.
#define ENCORE_QUEUE_STATES(X)                                                            \
  X(kNone, 0, "NONE", None)                                                               \
  X(kWaiting, 1, "WAITING", Waiting)                                                      \
  X(kActive, 2, "ACTIVE", Active)                                                         \
  X(kDone, 3, "DONE", Done)          /* Paid. */                                          \
  X(kExpired, 4, "EXPIRED", Expired) /* ACTIVE TTL ran out, or dropped for heartbeats. */ \
  X(kLeft, 5, "LEFT", Left)          /* Left explicitly. */

enum class QueueState : uint8_t {
#define ENCORE_X(enumerator, value, name, wire_name) enumerator = value,
  ENCORE_QUEUE_STATES(ENCORE_X)
#undef ENCORE_X
};

// "WAITING", ...; "UNKNOWN" outside the enum.
std::string_view QueueStateName(QueueState state);

struct Reply {
  ResultCode code = ResultCode::kOk;
  CommandType type = CommandType::kBalance;
  QueueState queue_state = QueueState::kNone;
  uint8_t seat_count = 0;
  uint8_t reserved[3] = {0, 0, 0};
  // kHoldSeats, kPay, kReleaseHold.
  HoldId hold = 0;
  TimestampMs hold_deadline_ms = 0;
  // kPay: the payment and the amount debited. kHoldSeats: the hold's price.
  PaymentId payment = 0;
  Points amount = 0;
  // kCharge, kPay, kBalance: the balance after the command.
  Points balance = 0;
  // kEnterQueue, kQueueStatus, kLeaveQueue.
  QueueToken token;
  // WAITING: 1-based place in line (1 = next to be admitted). 0 otherwise.
  uint64_t position = 0;
  // WAITING: estimated ms until admission from the measured admission rate;
  // -1 when no rate is known yet.
  int64_t eta_ms = -1;
  // ACTIVE: when the token expires.
  TimestampMs active_deadline_ms = 0;
  // kHoldSeats: the hold's proof, which ReleaseHold accepts in place of a
  // queue token. The core adds it to each answer and records 0 (it derives the
  // proof from its key). Last, so records written before it read it as 0.
  HoldProof hold_proof = 0;

  bool ok() const { return code == ResultCode::kOk; }
};

static_assert(std::is_trivially_copyable_v<Reply>);
static_assert(std::has_unique_object_representations_v<Reply>, "no padding bytes");

inline Reply MakeReply(CommandType type, ResultCode code) {
  Reply reply;
  reply.type = type;
  reply.code = code;
  return reply;
}

}  // namespace encore

#endif  // ENCORE_REPLY_H_
