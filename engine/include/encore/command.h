// Commands: the input of the state machine (Core::Apply).
//
// A Command is trivially copyable and of fixed size, so it can travel through
// a lock-free ring and be journaled as bytes. Which fields a command reads is
// listed beside its type; the others are ignored.
#ifndef ENCORE_COMMAND_H_
#define ENCORE_COMMAND_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "encore/types.h"

namespace encore {

// Every command type: X(enumerator, value, name), with the fields it reads.
// `name` is the command's `type` label in metrics (CommandTypeName).
#define ENCORE_COMMAND_TYPES(X)                                            \
  /* Admin (catalog and policy). */                                        \
  X(kCreateConcert, 1, "create_concert")            /* concert, title */   \
  X(kCreateSchedule, 2, "create_schedule")          /* schedule_config */  \
  X(kSetAdmissionPolicy, 3, "set_admission_policy") /* schedule, policy */ \
  /* Admission queue. */                                                   \
  X(kEnterQueue, 10, "enter_queue") /* schedule, user */                   \
  /* schedule, user, token: a poll and a heartbeat; no request key */      \
  X(kQueueStatus, 11, "queue_status")                                      \
  X(kLeaveQueue, 12, "leave_queue") /* schedule, user, token */            \
  /* Seats. */                                                             \
  X(kHoldSeats, 20, "hold_seats") /* schedule, user, token, seats */       \
  /* schedule, user, hold, and hold_proof or token */                      \
  X(kReleaseHold, 21, "release_hold")                                      \
  X(kPay, 22, "pay") /* schedule, user, token, hold */                     \
  /* Balance. */                                                           \
  X(kCharge, 30, "charge")   /* user, amount */                            \
  X(kBalance, 31, "balance") /* user: a read; no request key */

enum class CommandType : uint8_t {
#define ENCORE_X(enumerator, value, name) enumerator = value,
  ENCORE_COMMAND_TYPES(ENCORE_X)
#undef ENCORE_X
};

// False for a value outside the enum (a command from a newer or broken client).
constexpr bool IsCommandType(CommandType type) {
  switch (type) {
#define ENCORE_X(enumerator, value, name) case CommandType::enumerator:
    ENCORE_COMMAND_TYPES(ENCORE_X)
#undef ENCORE_X
    return true;
  }
  return false;
}

// "create_concert", "hold_seats", ...; "unknown" for a value outside the enum.
std::string_view CommandTypeName(CommandType type);

// An admission policy. Both limits may be set; 0 turns a limit off. With both
// off, every entrant is admitted at once.
struct AdmissionPolicy {
  // "Bank counter": at most this many ACTIVE users at once.
  uint32_t active_max = 0;
  // "Amusement park": admit at most this many per interval.
  uint32_t admit_per_interval = 0;
  int64_t interval_ms = 0;
};

// Seats first_seat .. (next tier's first_seat - 1) cost price each.
struct PriceTier {
  SeatIndex first_seat = 0;
  uint32_t reserved = 0;
  Points price = 0;
};

struct ScheduleConfig {
  ConcertId concert = 0;
  ScheduleId schedule = 0;
  TimestampMs performance_at_ms = 0;
  // Holds and admissions happen in [sale_opens_at_ms, sale_closes_at_ms).
  TimestampMs sale_opens_at_ms = 0;
  TimestampMs sale_closes_at_ms = 0;
  // Default: kHoldTtlDefaultMs; range kHoldTtlMinMs .. kHoldTtlMaxMs.
  int64_t hold_ttl_ms = kHoldTtlDefaultMs;
  // Default: kActiveTtlDefaultMs; range 1 .. kActiveTtlMaxMs.
  int64_t active_ttl_ms = kActiveTtlDefaultMs;
  // Default: kHeartbeatTimeoutDefaultMs.
  int64_t heartbeat_timeout_ms = kHeartbeatTimeoutDefaultMs;
  // 1 .. kSeatsPerScheduleMax.
  uint32_t seat_count = 0;
  // Seats one user may hold and buy in this schedule: 1 .. kHoldSeatsMax.
  uint32_t seats_per_user_max = 4;
  AdmissionPolicy policy;
  // 1 .. kPriceTiersMax tiers; tiers[0].first_seat == 0, first seats ascending.
  uint32_t tier_count = 0;
  uint32_t reserved = 0;
  std::array<PriceTier, kPriceTiersMax> tiers{};
};

using Title = std::array<char, kTitleBytesMax + 1>;

struct Command {
  CommandType type = CommandType::kBalance;
  uint8_t seat_count = 0;  // kHoldSeats: how many of `seats` are used.
  uint16_t reserved = 0;
  uint32_t reserved2 = 0;
  RequestKey request_key = 0;  // Required (non-zero) on every mutating command.
  UserId user = 0;
  ConcertId concert = 0;
  ScheduleId schedule = 0;
  QueueToken token;
  HoldId hold = 0;
  // kReleaseHold: the hold's proof (HoldSeats' reply); 0 to prove with `token`.
  HoldProof hold_proof = 0;
  Points amount = 0;
  std::array<SeatIndex, kHoldSeatsMax> seats{};
  AdmissionPolicy policy;
  Title title{};
  ScheduleConfig schedule_config;
};

static_assert(std::is_trivially_copyable_v<Command>);
static_assert(std::has_unique_object_representations_v<Command>, "no padding bytes");

// True for the commands that change state and so need a request key.
constexpr bool IsMutating(CommandType type) {
  return type != CommandType::kQueueStatus && type != CommandType::kBalance;
}

// True for the commands that act on one schedule (routed by schedule).
constexpr bool IsScheduleScoped(CommandType type) {
  return type != CommandType::kCreateConcert && type != CommandType::kCharge &&
         type != CommandType::kBalance;
}

}  // namespace encore

#endif  // ENCORE_COMMAND_H_
