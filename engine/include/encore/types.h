// Basic value types and engine-wide limits of Encore.
//
// Every limit lives here, as a named constant, with static_asserts on how the
// limits relate. Units are the last word of a name: `_ms` is milliseconds,
// `_max` an inclusive upper bound.
#ifndef ENCORE_TYPES_H_
#define ENCORE_TYPES_H_

#include <cstdint>

namespace encore {

using ConcertId = uint64_t;
using ScheduleId = uint64_t;
using UserId = uint64_t;
// A hold id is scoped to its schedule: (schedule, hold) names a hold.
using HoldId = uint64_t;
// A payment id is scoped to its schedule: (schedule, payment) names a payment.
using PaymentId = uint64_t;
// Client-chosen key of a mutating command, scoped to the user who sends it.
using RequestKey = uint64_t;
// Index of a seat within its schedule: 0 .. seat_count - 1.
using SeatIndex = uint32_t;
// Points in minor units (1 point = 1/100 of the currency unit, by convention).
using Points = int64_t;
// Milliseconds since the Unix epoch. The core never reads a clock: time is an
// argument of every call that needs it.
using TimestampMs = int64_t;

// Seats in one schedule. Default: none; a schedule sets its own count.
inline constexpr uint32_t kSeatsPerScheduleMax = 1'000'000;
// Seats one hold can take, and so the upper bound of a per-user seat limit.
inline constexpr uint32_t kHoldSeatsMax = 8;
// Price tiers (sections) one schedule can have.
inline constexpr uint32_t kPriceTiersMax = 8;
// Largest single charge: 10^12 minor units.
inline constexpr Points kChargeAmountMax = 1'000'000'000'000;
// Largest balance an account may reach: 10^15 minor units. A charge that would
// pass it is refused (kBalanceOverflow).
inline constexpr Points kBalanceMax = 1'000'000'000'000'000;
// Largest seat price: a full hold at this price cannot overflow.
inline constexpr Points kSeatPriceMax = 100'000'000'000;
// Bounds of a hold's time to live.
inline constexpr int64_t kHoldTtlMinMs = 1'000;
inline constexpr int64_t kHoldTtlMaxMs = 24 * 3'600'000;
inline constexpr int64_t kHoldTtlDefaultMs = 5 * 60'000;
// Bounds of an admitted (ACTIVE) queue token's time to live.
inline constexpr int64_t kActiveTtlDefaultMs = 10 * 60'000;
inline constexpr int64_t kActiveTtlMaxMs = 24 * 3'600'000;
// A WAITING entry that has not polled for this long is dropped.
inline constexpr int64_t kHeartbeatTimeoutDefaultMs = 60'000;
inline constexpr int64_t kHeartbeatTimeoutMinMs = 1'000;
inline constexpr int64_t kHeartbeatTimeoutMaxMs = 3'600'000;
// Entries one schedule's queue holds over its lifetime (entries are numbered
// with 32 bits): the upper bound of CoreLimits::queue_entries_max.
inline constexpr uint32_t kQueueEntriesMax = 100'000'000;
// Titles are fixed-size so that commands and events stay trivially copyable.
inline constexpr uint32_t kTitleBytesMax = 47;

static_assert(kHoldSeatsMax * kSeatPriceMax < kBalanceMax,
              "a hold's total price must fit below the balance bound");
static_assert(kChargeAmountMax < kBalanceMax, "a single charge must fit in a balance");
static_assert(kBalanceMax < INT64_MAX / 4, "balance arithmetic must not overflow int64");
static_assert(kHoldTtlDefaultMs >= kHoldTtlMinMs && kHoldTtlDefaultMs <= kHoldTtlMaxMs);
static_assert(kHeartbeatTimeoutDefaultMs >= kHeartbeatTimeoutMinMs &&
              kHeartbeatTimeoutDefaultMs <= kHeartbeatTimeoutMaxMs);
static_assert(kSeatsPerScheduleMax < (1u << 31), "seat slots keep their top bit for SOLD");

// A queue token: 128 bits. The low word is a public locator (the entry's number
// and a tag of its schedule); the high word is a MAC over (schedule, user,
// entry), keyed with the engine's secret, so a token cannot be guessed or forged.
struct QueueToken {
  uint64_t locator = 0;
  uint64_t mac = 0;
  friend bool operator==(const QueueToken&, const QueueToken&) = default;
};

// A hold's proof: a MAC over (schedule, hold, holder), keyed with the same
// secret as queue tokens, returned with the hold. It lets the holder release
// the hold after its queue token has expired; hold ids are sequential, so the
// id alone proves nothing. 0 is never a proof.
using HoldProof = uint64_t;

}  // namespace encore

#endif  // ENCORE_TYPES_H_
