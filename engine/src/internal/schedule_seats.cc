#include "internal/schedule_seats.h"

#include "absl/strings/str_cat.h"
#include "internal/check.h"
#include "internal/state_hasher.h"

namespace encore::internal {
namespace {

absl::Status Corrupt(EventType event, uint64_t schedule, uint64_t hold, const char* why) {
  return absl::DataLossError(absl::StrCat(std::string(EventTypeName(event)), " for schedule ",
                                          schedule, " hold ", hold, " cannot apply: ", why));
}

// The record of a payment that PaymentStarted or PaymentCompleted makes.
template <typename PaymentEvent>
PaymentRecord MakePaymentRecord(const PaymentEvent& event, uint32_t seat_count,
                                PaymentStatus status) {
  return PaymentRecord{event.hold,
                       event.user,
                       event.amount,
                       event.request_key,
                       event.fingerprint,
                       event.entry,
                       seat_count,
                       status,
                       {}};
}

}  // namespace

ScheduleSeats::ScheduleSeats(const ScheduleConfig& config)
    : config_(config), seat_slot_(config.seat_count, 0), next_seat_(config.seat_count, kNoSeat) {}

Points ScheduleSeats::PriceOf(SeatIndex seat) const {
  uint32_t tier = 0;
  while (tier + 1 < config_.tier_count && config_.tiers[tier + 1].first_seat <= seat) ++tier;
  return config_.tiers[tier].price;
}

Points ScheduleSeats::PriceOf(const Hold& hold) const {
  Points price = 0;
  for (uint32_t seat = hold.first_seat; seat != kNoSeat; seat = next_seat_[seat]) {
    price += PriceOf(seat);
  }
  return price;
}

uint32_t ScheduleSeats::SeatsOfUser(UserId user) const { return user_seats_.Get(user); }

ResultCode ScheduleSeats::CheckHold(UserId user, std::span<const SeatIndex> seats) const {
  for (SeatIndex seat : seats) {
    if (seat >= config_.seat_count) return ResultCode::kSeatNotFound;
  }
  for (SeatIndex seat : seats) {
    if (seat_slot_[seat] != 0) return ResultCode::kSeatUnavailable;
  }
  if (SeatsOfUser(user) + seats.size() > config_.seats_per_user_max) {
    return ResultCode::kSeatLimitExceeded;
  }
  return ResultCode::kOk;
}

SeatState ScheduleSeats::StateOf(SeatIndex seat) const {
  const uint32_t slot = seat_slot_[seat];
  if (slot == 0) return SeatState::kAvailable;
  return (slot & kSoldBit) != 0 ? SeatState::kSold : SeatState::kHeld;
}

const ScheduleSeats::Hold* ScheduleSeats::LiveHold(HoldId hold) const {
  if (hold == 0 || hold > hold_slots_.size()) return nullptr;
  const uint32_t slot = hold_slots_[hold - 1];
  return slot >= kFateBase ? nullptr : &holds_[slot];
}

ScheduleSeats::Hold* ScheduleSeats::LiveHold(HoldId hold) {
  return const_cast<Hold*>(static_cast<const ScheduleSeats*>(this)->LiveHold(hold));
}

HoldView ScheduleSeats::FindHold(HoldId hold) const {
  HoldView view;
  if (hold == 0 || hold > hold_slots_.size()) return view;
  view.user = hold_owners_[hold - 1];
  switch (hold_slots_[hold - 1]) {
    case kFateReleased:
      view.status = HoldStatus::kReleased;
      return view;
    case kFateExpired:
      view.status = HoldStatus::kExpired;
      return view;
    case kFatePaid:
      view.status = HoldStatus::kPaid;
      return view;
    default:
      break;
  }
  const Hold& live = holds_[hold_slots_[hold - 1]];
  view.status = live.status;
  view.user = live.user;
  view.deadline_ms = live.deadline_ms;
  view.seat_count = live.seat_count;
  view.price = PriceOf(live);
  return view;
}

const PaymentRecord* ScheduleSeats::FindPayment(PaymentId payment) const {
  return payment == 0 || payment > payments_.size() ? nullptr : &payments_[payment - 1];
}

void ScheduleSeats::AddUserSeats(UserId user, int32_t delta) { user_seats_.Add(user, delta); }

absl::Status ScheduleSeats::ApplyHeld(const SeatsHeld& event) {
  if (event.hold != next_hold_id())
    return Corrupt(EventType::kSeatsHeld, event.schedule, event.hold, "hold ids not in sequence");
  if (event.seat_count == 0 || event.seat_count > kHoldSeatsMax) {
    return Corrupt(EventType::kSeatsHeld, event.schedule, event.hold, "bad seat count");
  }
  const std::span<const SeatIndex> seats(event.seats.data(), event.seat_count);
  for (uint32_t i = 0; i < seats.size(); ++i) {
    for (uint32_t j = 0; j < i; ++j) {
      if (seats[i] == seats[j])
        return Corrupt(EventType::kSeatsHeld, event.schedule, event.hold, "seat twice");
    }
  }
  if (CheckHold(event.user, seats) != ResultCode::kOk) {
    return Corrupt(EventType::kSeatsHeld, event.schedule, event.hold,
                   "seats not free or over the limit");
  }
  uint32_t slot;
  if (free_holds_.empty()) {
    slot = static_cast<uint32_t>(holds_.size());
    holds_.push_back(Hold{});
  } else {
    slot = free_holds_.back();
    free_holds_.pop_back();
  }
  for (uint32_t i = 0; i < seats.size(); ++i) {
    seat_slot_[seats[i]] = slot + 1;
    next_seat_[seats[i]] = i + 1 < seats.size() ? seats[i + 1] : kNoSeat;
  }
  holds_[slot] = Hold{event.user,
                      event.deadline_ms,
                      event.hold,
                      seats[0],
                      static_cast<uint16_t>(seats.size()),
                      HoldStatus::kHeld,
                      0};
  hold_slots_.push_back(slot);
  hold_owners_.push_back(event.user);
  seats_held_ += seats.size();
  AddUserSeats(event.user, static_cast<int32_t>(seats.size()));
  return absl::OkStatus();
}

void ScheduleSeats::EndHold(HoldId hold, uint32_t fate, uint32_t payment_index) {
  const uint32_t slot = hold_slots_[hold - 1];
  Hold& live = holds_[slot];
  uint32_t seat = live.first_seat;
  while (seat != kNoSeat) {
    const uint32_t next = next_seat_[seat];
    next_seat_[seat] = kNoSeat;
    seat_slot_[seat] = fate == kFatePaid ? (kSoldBit | payment_index) : 0;
    seat = next;
  }
  seats_held_ -= live.seat_count;
  if (fate == kFatePaid) {
    seats_sold_ += live.seat_count;
  } else {
    AddUserSeats(live.user, -static_cast<int32_t>(live.seat_count));
  }
  live = Hold{};
  free_holds_.push_back(slot);
  hold_slots_[hold - 1] = fate;
}

absl::Status ScheduleSeats::ApplyEnded(const HoldEnded& event) {
  const Hold* live = LiveHold(event.hold);
  if (live == nullptr)
    return Corrupt(EventType::kHoldEnded, event.schedule, event.hold, "no live hold");
  if (live->status != HoldStatus::kHeld) {
    return Corrupt(EventType::kHoldEnded, event.schedule, event.hold, "hold is being paid");
  }
  if (event.reason != HoldEndReason::kReleased && event.reason != HoldEndReason::kExpired) {
    return Corrupt(EventType::kHoldEnded, event.schedule, event.hold, "unknown reason");
  }
  EndHold(event.hold, event.reason == HoldEndReason::kReleased ? kFateReleased : kFateExpired, 0);
  return absl::OkStatus();
}

absl::Status ScheduleSeats::CheckPaymentStart(EventType event, ScheduleId schedule, HoldId hold,
                                              UserId user, PaymentId payment, Points amount) const {
  const Hold* live = LiveHold(hold);
  if (live == nullptr || live->status != HoldStatus::kHeld || live->user != user) {
    return Corrupt(event, schedule, hold, "hold not held by the payer");
  }
  if (payment != next_payment_id() || amount != PriceOf(*live)) {
    return Corrupt(event, schedule, hold, "bad payment id, or an amount not the hold's price");
  }
  return absl::OkStatus();
}

absl::Status ScheduleSeats::ApplyPaymentStarted(const PaymentStarted& event) {
  absl::Status status = CheckPaymentStart(EventType::kPaymentStarted, event.schedule, event.hold,
                                          event.user, event.payment, event.amount);
  if (!status.ok()) return status;
  Hold* live = LiveHold(event.hold);
  live->status = HoldStatus::kPaying;
  payments_.push_back(MakePaymentRecord(event, live->seat_count, PaymentStatus::kStarted));
  return absl::OkStatus();
}

absl::Status ScheduleSeats::ApplyPaymentCompleted(const PaymentCompleted& event) {
  absl::Status status = CheckPaymentStart(EventType::kPaymentCompleted, event.schedule, event.hold,
                                          event.user, event.payment, event.amount);
  if (!status.ok()) return status;
  payments_.push_back(
      MakePaymentRecord(event, LiveHold(event.hold)->seat_count, PaymentStatus::kCompleted));
  CompletePayment(event.hold, static_cast<uint32_t>(payments_.size() - 1));
  return absl::OkStatus();
}

void ScheduleSeats::CompletePayment(HoldId hold, uint32_t payment_index) {
  PaymentRecord& payment = payments_[payment_index];
  payment.status = PaymentStatus::kCompleted;
  ++payments_completed_;
  payments_total_ += payment.amount;
  EndHold(hold, kFatePaid, payment_index);
}

absl::Status ScheduleSeats::ApplyPaymentSettled(const PaymentSettled& event) {
  Hold* live = LiveHold(event.hold);
  if (live == nullptr || live->status != HoldStatus::kPaying || event.payment == 0 ||
      event.payment > payments_.size() || payments_[event.payment - 1].hold != event.hold ||
      payments_[event.payment - 1].status != PaymentStatus::kStarted) {
    return Corrupt(EventType::kPaymentSettled, event.schedule, event.hold, "no payment in flight");
  }
  PaymentRecord& payment = payments_[event.payment - 1];
  if (event.outcome == ResultCode::kOk) {
    CompletePayment(event.hold, static_cast<uint32_t>(event.payment - 1));
  } else {
    payment.status = PaymentStatus::kAborted;
    live->status = HoldStatus::kHeld;
  }
  return absl::OkStatus();
}

uint64_t ScheduleSeats::seat_state_bytes() const {
  return seat_slot_.capacity() * sizeof(uint32_t) + next_seat_.capacity() * sizeof(uint32_t);
}

uint64_t ScheduleSeats::hold_state_bytes() const {
  return holds_.capacity() * sizeof(Hold) + free_holds_.capacity() * sizeof(uint32_t) +
         hold_slots_.capacity() * sizeof(uint32_t) + hold_owners_.capacity() * sizeof(UserId) +
         payments_.capacity() * sizeof(PaymentRecord) + user_seats_.bytes();
}

void ScheduleSeats::AddToHash(StateHasher* hasher) const {
  hasher->Add(config_.schedule);
  // Seats by meaning (hold id or payment id), not by slot number.
  for (uint32_t seat = 0; seat < config_.seat_count; ++seat) {
    const uint32_t slot = seat_slot_[seat];
    if (slot == 0) {
      hasher->Add(0);
    } else if ((slot & kSoldBit) != 0) {
      hasher->Add((uint64_t{2} << 60) | (slot & ~kSoldBit));
    } else {
      hasher->Add((uint64_t{1} << 60) | holds_[slot - 1].id);
      hasher->Add(next_seat_[seat]);
    }
  }
  for (HoldId id = 1; id <= hold_slots_.size(); ++id) {
    const uint32_t slot = hold_slots_[id - 1];
    hasher->Add(hold_owners_[id - 1]);
    if (slot >= kFateBase) {
      hasher->Add(slot);
      continue;
    }
    const Hold& hold = holds_[slot];
    hasher->Add(hold.user);
    hasher->AddSigned(hold.deadline_ms);
    hasher->Add(hold.first_seat);
    hasher->Add(hold.seat_count);
    hasher->Add(static_cast<uint64_t>(hold.status));
  }
  for (const PaymentRecord& payment : payments_) {
    hasher->Add(payment.hold);
    hasher->Add(payment.user);
    hasher->AddSigned(payment.amount);
    hasher->Add(payment.seat_count);
    hasher->Add(payment.request_key);
    hasher->Add(payment.fingerprint);
    hasher->Add(payment.entry);
    hasher->Add(static_cast<uint64_t>(payment.status));
  }
}

absl::Status ScheduleSeats::CheckInvariants() const {
  uint32_t held = 0;
  uint32_t sold = 0;
  UserCounts user_seats;
  for (uint32_t seat = 0; seat < config_.seat_count; ++seat) {
    const uint32_t slot = seat_slot_[seat];
    if (slot == 0) continue;
    if ((slot & kSoldBit) != 0) {
      const uint32_t payment = slot & ~kSoldBit;
      if (payment >= payments_.size() || payments_[payment].status != PaymentStatus::kCompleted) {
        return absl::InternalError(absl::StrCat("schedule ", config_.schedule, " seat ", seat,
                                                " sold without a completed payment"));
      }
      user_seats.Add(payments_[payment].user, 1);
      ++sold;
      continue;
    }
    const Hold& hold = holds_[slot - 1];
    if (hold.id == 0 || hold_slots_[hold.id - 1] != slot - 1) {
      return absl::InternalError(
          absl::StrCat("schedule ", config_.schedule, " seat ", seat, " points at a dead hold"));
    }
    user_seats.Add(hold.user, 1);
    ++held;
  }
  if (held != seats_held_ || sold != seats_sold_) {
    return absl::InternalError(absl::StrCat("schedule ", config_.schedule, " counts held ",
                                            seats_held_, " sold ", seats_sold_, " but seats say ",
                                            held, " and ", sold));
  }
  // Every live hold's seat list points back at the hold: no seat in two holds.
  uint32_t seats_in_holds = 0;
  for (uint32_t slot = 0; slot < holds_.size(); ++slot) {
    const Hold& hold = holds_[slot];
    if (hold.id == 0) continue;
    uint32_t count = 0;
    for (uint32_t seat = hold.first_seat; seat != kNoSeat; seat = next_seat_[seat]) {
      if (seat_slot_[seat] != slot + 1 || ++count > hold.seat_count) {
        return absl::InternalError(absl::StrCat("schedule ", config_.schedule, " hold ", hold.id,
                                                " seat list broken at seat ", seat));
      }
    }
    if (count != hold.seat_count) {
      return absl::InternalError(absl::StrCat("schedule ", config_.schedule, " hold ", hold.id,
                                              " has ", count, " seats, says ", hold.seat_count));
    }
    seats_in_holds += count;
  }
  if (seats_in_holds != held) {
    return absl::InternalError(absl::StrCat("schedule ", config_.schedule, " holds cover ",
                                            seats_in_holds, " seats, ", held, " are held"));
  }
  // Sold seats == the seats of completed payments (paid holds).
  uint64_t paid_seats = 0;
  for (const PaymentRecord& payment : payments_) {
    if (payment.status == PaymentStatus::kCompleted) paid_seats += payment.seat_count;
  }
  if (paid_seats != sold) {
    return absl::InternalError(absl::StrCat("schedule ", config_.schedule, " sold ", sold,
                                            " seats but paid holds cover ", paid_seats));
  }
  if (!(user_seats == user_seats_)) {
    return absl::InternalError(absl::StrCat("schedule ", config_.schedule,
                                            " per-user seat counts disagree with the seats"));
  }
  absl::Status over_limit = absl::OkStatus();
  user_seats_.ForEach([&](UserId user, uint32_t count) {
    if (count > config_.seats_per_user_max && over_limit.ok()) {
      over_limit = absl::InternalError(absl::StrCat("schedule ", config_.schedule, " user ", user,
                                                    " has ", count, " seats, over the limit"));
    }
  });
  return over_limit;
}

}  // namespace encore::internal
