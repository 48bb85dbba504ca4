// Events: every state change of the core, as a fact.
//
// Core::Apply validates a command, then emits events and applies each one to
// its own state through the same code that replay uses (Core::ApplyEvent), so
// replaying the event stream into an empty core rebuilds the same state by
// construction. Events are trivially copyable structs with no padding bytes;
// EventBuffer stores them as (type, size, bytes) records, which is also what
// the journal writes.
#ifndef ENCORE_EVENT_H_
#define ENCORE_EVENT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "encore/command.h"
#include "encore/reply.h"
#include "encore/types.h"

namespace encore {

// Every event type, stored in the log: never renumber. X(enumerator, value,
// name, struct): `name` is what logs and the journal dump print
// (EventTypeName); `struct` is the event's type, whose kType is `enumerator`.
#define ENCORE_EVENT_TYPES(X)                                                       \
  X(kConcertCreated, 1, "CONCERT_CREATED", ConcertCreated)                          \
  X(kScheduleCreated, 2, "SCHEDULE_CREATED", ScheduleCreated)                       \
  X(kAdmissionPolicyChanged, 3, "ADMISSION_POLICY_CHANGED", AdmissionPolicyChanged) \
  X(kQueueEntered, 10, "QUEUE_ENTERED", QueueEntered)                               \
  X(kQueueHeartbeat, 11, "QUEUE_HEARTBEAT", QueueHeartbeat)                         \
  X(kQueueAdmitted, 12, "QUEUE_ADMITTED", QueueAdmitted)                            \
  X(kQueueEnded, 13, "QUEUE_ENDED", QueueEnded)                                     \
  X(kSeatsHeld, 20, "SEATS_HELD", SeatsHeld)                                        \
  X(kHoldEnded, 21, "HOLD_ENDED", HoldEnded)                                        \
  X(kPaymentStarted, 22, "PAYMENT_STARTED", PaymentStarted)                         \
  X(kPaymentSettled, 23, "PAYMENT_SETTLED", PaymentSettled)                         \
  X(kPaymentCompleted, 24, "PAYMENT_COMPLETED", PaymentCompleted)                   \
  X(kSeatsHeldRecorded, 25, "SEATS_HELD_RECORDED", SeatsHeldRecorded)               \
  X(kAccountCharged, 30, "ACCOUNT_CHARGED", AccountCharged)                         \
  X(kAccountDebited, 31, "ACCOUNT_DEBITED", AccountDebited)                         \
  X(kRequestRecorded, 40, "REQUEST_RECORDED", RequestRecorded)

enum class EventType : uint16_t {
#define ENCORE_X(enumerator, value, name, type) enumerator = value,
  ENCORE_EVENT_TYPES(ENCORE_X)
#undef ENCORE_X
};

struct ConcertCreated {
  static constexpr EventType kType = EventType::kConcertCreated;
  ConcertId concert;
  Title title;
};

struct ScheduleCreated {
  static constexpr EventType kType = EventType::kScheduleCreated;
  ScheduleConfig config;
};

struct AdmissionPolicyChanged {
  static constexpr EventType kType = EventType::kAdmissionPolicyChanged;
  ScheduleId schedule;
  TimestampMs at_ms;
  AdmissionPolicy policy;
};

struct QueueEntered {
  static constexpr EventType kType = EventType::kQueueEntered;
  ScheduleId schedule;
  UserId user;
  uint32_t entry;  // The entry's number in its queue: 0, 1, 2, ...
  uint32_t reserved;
  TimestampMs at_ms;
};

struct QueueHeartbeat {
  static constexpr EventType kType = EventType::kQueueHeartbeat;
  ScheduleId schedule;
  uint32_t entry;
  uint32_t reserved;
  TimestampMs at_ms;
};

struct QueueAdmitted {
  static constexpr EventType kType = EventType::kQueueAdmitted;
  ScheduleId schedule;
  uint32_t entry;
  uint32_t reserved;
  TimestampMs at_ms;
};

struct QueueEnded {
  static constexpr EventType kType = EventType::kQueueEnded;
  ScheduleId schedule;
  uint32_t entry;
  QueueState state;  // kDone, kExpired or kLeft.
  uint8_t reserved[3];
};

struct SeatsHeld {
  static constexpr EventType kType = EventType::kSeatsHeld;
  ScheduleId schedule;
  UserId user;
  HoldId hold;
  TimestampMs deadline_ms;
  uint32_t seat_count;
  std::array<SeatIndex, kHoldSeatsMax> seats;
  uint32_t reserved;
};

// The SeatsHeld of a HOLD_SEATS command, with its request: applying it holds
// the seats and records the command's reply, which it builds from the hold
// (no RequestRecorded follows). At most 64 bytes packed for a one-seat hold,
// where SeatsHeld and RequestRecorded took about 120.
struct SeatsHeldRecorded {
  static constexpr EventType kType = EventType::kSeatsHeldRecorded;
  SeatsHeld held;
  RequestKey request_key;
  uint64_t fingerprint;
};

enum class HoldEndReason : uint8_t { kReleased = 1, kExpired = 2 };

struct HoldEnded {
  static constexpr EventType kType = EventType::kHoldEnded;
  ScheduleId schedule;
  HoldId hold;
  HoldEndReason reason;
  uint8_t reserved[7];
};

// The schedule side pins the hold: it cannot expire while its debit runs.
// It keeps what it needs to answer the payer when the debit's outcome comes
// back, also after a restart: the request key and fingerprint of the PAY
// command, and the payer's queue entry (which becomes DONE).
struct PaymentStarted {
  static constexpr EventType kType = EventType::kPaymentStarted;
  ScheduleId schedule;
  HoldId hold;
  PaymentId payment;
  UserId user;
  Points amount;
  RequestKey request_key;
  uint64_t fingerprint;
  uint32_t entry;
  uint32_t reserved;
};

// The schedule side learns the debit's outcome: kOk sells the seats; any other
// code unpins the hold.
struct PaymentSettled {
  static constexpr EventType kType = EventType::kPaymentSettled;
  ScheduleId schedule;
  HoldId hold;
  PaymentId payment;
  TimestampMs at_ms;
  ResultCode outcome;
  uint8_t reserved[6];
};

// A payment made in one step, for a payer whose account is on the schedule's
// shard and covers the price: together what PaymentStarted, AccountDebited and
// PaymentSettled with kOk say, plus the payer's queue entry becoming DONE if
// it is ACTIVE. No RequestRecorded follows: applying it records the PAY's
// reply, built from the state these steps leave (CoreState). The debit is not
// kept by its (schedule, payment) key, since nothing can send it again.
// At most 80 bytes packed, where the five events of the saga take about 260.
struct PaymentCompleted {
  static constexpr EventType kType = EventType::kPaymentCompleted;
  ScheduleId schedule;
  HoldId hold;
  PaymentId payment;
  UserId user;
  Points amount;
  RequestKey request_key;
  uint64_t fingerprint;
  TimestampMs at_ms;
  uint32_t entry;  // The payer's queue entry.
  uint32_t reserved;
};

struct AccountCharged {
  static constexpr EventType kType = EventType::kAccountCharged;
  UserId user;
  Points amount;
  TimestampMs at_ms;
};

// The user side debits a payment; (schedule, payment) is the debit's key.
struct AccountDebited {
  static constexpr EventType kType = EventType::kAccountDebited;
  UserId user;
  ScheduleId schedule;
  PaymentId payment;
  HoldId hold;
  Points amount;
  TimestampMs at_ms;
};

// The result of a mutating command, kept for idempotent repeats.
struct RequestRecorded {
  static constexpr EventType kType = EventType::kRequestRecorded;
  UserId user;
  RequestKey key;
  uint64_t fingerprint;
  Reply reply;
};

// The bytes of an event as logs of an earlier version wrote it raw, for an
// event that has grown at its end since: decoding zero-fills what it lacks.
template <typename T>
inline constexpr size_t kEventRawBytesBefore = sizeof(T);
// RequestRecorded before Reply::hold_proof.
template <>
inline constexpr size_t kEventRawBytesBefore<RequestRecorded> = sizeof(RequestRecorded) -
                                                                sizeof(HoldProof);

template <typename T>
inline constexpr bool kIsEvent =
    std::is_trivially_copyable_v<T>&& std::has_unique_object_representations_v<T>&&
        std::is_same_v<decltype(T::kType), const EventType>;

#define ENCORE_X(enumerator, value, name, type)                                             \
  static_assert(kIsEvent<type>, #type " must be trivially copyable with no padding bytes"); \
  static_assert(type::kType == EventType::enumerator);
ENCORE_EVENT_TYPES(ENCORE_X)
#undef ENCORE_X

// "SEATS_HELD", ...; "UNKNOWN" outside the enum.
std::string_view EventTypeName(EventType type);

}  // namespace encore

#endif  // ENCORE_EVENT_H_
