// ScheduleSeats: the seats, holds and payments of one schedule.
//
// Memory: 8 bytes per seat (a slot word and a next-seat link), plus 32 bytes
// per live hold, 12 bytes per hold ever made (its fate and its owner), and
// 56 bytes per payment.
// A seat's slot word says its state: 0 = AVAILABLE; kSoldBit | payment index =
// SOLD; otherwise 1 + the index of the live hold that has it. A hold's seats
// form a singly linked list through next_seat_.
//
// Check*() functions change nothing; Apply*() functions perform one event and
// refuse, changing nothing, one that cannot follow the current state.
#ifndef ENCORE_INTERNAL_SCHEDULE_SEATS_H_
#define ENCORE_INTERNAL_SCHEDULE_SEATS_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "encore/command.h"
#include "encore/core.h"
#include "encore/event.h"
#include "encore/result_code.h"
#include "internal/chunked_vector.h"
#include "internal/touch.h"
#include "internal/user_counts.h"

namespace encore::internal {

class StateHasher;

enum class HoldStatus : uint8_t {
  kNotFound = 0,
  kHeld = 1,
  kPaying = 2,  // Pinned: a payment's debit is in flight.
  kReleased = 3,
  kExpired = 4,
  kPaid = 5,
};

enum class PaymentStatus : uint8_t { kStarted = 1, kCompleted = 2, kAborted = 3 };

struct PaymentRecord {
  HoldId hold;
  UserId user;
  Points amount;
  RequestKey request_key;  // Of the PAY command, answered at settlement.
  uint64_t fingerprint;
  uint32_t entry;  // The payer's queue entry.
  uint32_t seat_count;
  PaymentStatus status;
  uint8_t reserved[7];
};

struct HoldView {
  HoldStatus status = HoldStatus::kNotFound;
  UserId user = 0;
  TimestampMs deadline_ms = 0;
  uint32_t seat_count = 0;
  Points price = 0;
};

class ScheduleSeats {
 public:
  // REQUIRES: config is valid (ValidateScheduleConfig).
  explicit ScheduleSeats(const ScheduleConfig& config);

  const ScheduleConfig& config() const { return config_; }
  HoldId next_hold_id() const { return hold_slots_.size() + 1; }
  PaymentId next_payment_id() const { return payments_.size() + 1; }

  // kSeatNotFound, kSeatUnavailable or kSeatLimitExceeded. Seats are distinct.
  [[nodiscard]] ResultCode CheckHold(UserId user, std::span<const SeatIndex> seats) const;
  Points PriceOf(SeatIndex seat) const;
  HoldView FindHold(HoldId hold) const;
  // The payment, or nullptr.
  const PaymentRecord* FindPayment(PaymentId payment) const;
  PaymentId payment_count() const { return payments_.size(); }
  SeatState StateOf(SeatIndex seat) const;
  // The user's seats held or sold in this schedule.
  uint32_t SeatsOfUser(UserId user) const;

  [[nodiscard]] absl::Status ApplyHeld(const SeatsHeld& event);
  [[nodiscard]] absl::Status ApplyEnded(const HoldEnded& event);
  [[nodiscard]] absl::Status ApplyPaymentStarted(const PaymentStarted& event);
  [[nodiscard]] absl::Status ApplyPaymentSettled(const PaymentSettled& event);
  // Starts and completes the payment at once (the hold must be HELD).
  [[nodiscard]] absl::Status ApplyPaymentCompleted(const PaymentCompleted& event);

  uint32_t seats_available() const { return config_.seat_count - seats_held_ - seats_sold_; }
  uint32_t seats_held() const { return seats_held_; }
  uint32_t seats_sold() const { return seats_sold_; }
  // Hints: load the lines a hold of `seats` by `user`, or a use of `hold`,
  // will need (nothing for what is out of range).
  void PrefetchHold(UserId user, std::span<const SeatIndex> seats) const {
    for (SeatIndex seat : seats) {
      if (seat < seat_slot_.size()) Touch(&seat_slot_[seat]);
    }
    user_seats_.Prefetch(user);
  }
  void PrefetchHoldId(HoldId hold) const {
    if (hold >= 1 && hold <= hold_slots_.size()) Touch(&hold_slots_[hold - 1]);
  }
  uint64_t holds_live() const { return holds_.size() - free_holds_.size(); }
  uint64_t payments_completed() const { return payments_completed_; }
  Points payments_total() const { return payments_total_; }
  uint64_t seat_state_bytes() const;
  // Live holds, each hold's fate and owner, payments, per-user seat counts.
  uint64_t hold_state_bytes() const;

  void Save(class SnapshotWriter* writer) const;
  // REQUIRES: just constructed with the same config. False on bad input.
  bool Load(class SnapshotReader* reader);
  // Calls fn(hold, deadline_ms) for each live hold (to re-arm timers).
  template <typename Fn>
  void ForEachLiveHold(Fn fn) const {
    for (const Hold& hold : holds_) {
      if (hold.id != 0) fn(hold.id, hold.deadline_ms);
    }
  }
  void AddToHash(StateHasher* hasher) const;
  [[nodiscard]] absl::Status CheckInvariants() const;

 private:
  static constexpr uint32_t kSoldBit = 1u << 31;
  static constexpr uint32_t kNoSeat = UINT32_MAX;
  // hold_slots_ values at or above kFateBase say how an ended hold ended.
  static constexpr uint32_t kFateBase = 0xFFFFFFF0u;
  static constexpr uint32_t kFateReleased = kFateBase + 1;
  static constexpr uint32_t kFateExpired = kFateBase + 2;
  static constexpr uint32_t kFatePaid = kFateBase + 3;

  struct Hold {
    UserId user;
    TimestampMs deadline_ms;
    HoldId id;
    SeatIndex first_seat;
    uint16_t seat_count;
    HoldStatus status;
    uint8_t reserved;
  };
  static_assert(sizeof(Hold) == 32);

  // The sum of the hold's seat prices.
  Points PriceOf(const Hold& hold) const;
  // The live hold's slot, or nullptr.
  const Hold* LiveHold(HoldId hold) const;
  Hold* LiveHold(HoldId hold);
  // Ends a live hold: frees its seats (or sells them to `payment_index`), its
  // slot, and records its fate.
  void EndHold(HoldId hold, uint32_t fate, uint32_t payment_index);
  void AddUserSeats(UserId user, int32_t delta);
  // OK when `user` may start payment `payment` of `amount` on live hold `hold`.
  [[nodiscard]] absl::Status CheckPaymentStart(EventType event, ScheduleId schedule, HoldId hold,
                                               UserId user, PaymentId payment, Points amount) const;
  // Marks payments_[payment_index] completed and sells its hold's seats.
  void CompletePayment(HoldId hold, uint32_t payment_index);

  ScheduleConfig config_;
  std::vector<uint32_t> seat_slot_;
  std::vector<uint32_t> next_seat_;
  // The hold tables grow with every hold (holds_ up to the live holds, the
  // others by one element per hold ever made): in chunks, so that growing
  // never copies them inside the shard (hold-only: a doubling std::vector
  // spent 3% of the shard in the copy and as much again faulting in its
  // pages; docs/PERFORMANCE.md).
  ChunkedVector<Hold> holds_;
  std::vector<uint32_t> free_holds_;
  ChunkedVector<uint32_t> hold_slots_;  // By hold id - 1: a live slot or a fate.
  // By hold id - 1: who made it, kept after it ends so that a foreign user is
  // told HOLD_NOT_OWNED and nothing about what became of it.
  ChunkedVector<UserId> hold_owners_;
  ChunkedVector<PaymentRecord> payments_;  // By payment id - 1.
  UserCounts user_seats_;
  uint32_t seats_held_ = 0;
  uint32_t seats_sold_ = 0;
  uint64_t payments_completed_ = 0;
  Points payments_total_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_SCHEDULE_SEATS_H_
