// Reads of the core: views, the state hash, invariants and statistics.
#include "absl/strings/str_cat.h"
#include "internal/core_state.h"
#include "internal/state_hasher.h"

namespace encore::internal {

ResultCode CoreState::SeatMapUnchecked(ScheduleId schedule, std::vector<SeatState>* seats) const {
  const uint32_t index = FindSchedule(schedule);
  if (index == kNoSchedule) return ResultCode::kScheduleNotFound;
  const ScheduleSeats& schedule_seats = schedules_[index]->seats;
  const uint32_t count = schedule_seats.config().seat_count;
  seats->resize(count);
  for (SeatIndex seat = 0; seat < count; ++seat) (*seats)[seat] = schedule_seats.StateOf(seat);
  return ResultCode::kOk;
}

ResultCode CoreState::SeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                              std::vector<SeatState>* seats) const {
  const uint32_t index = FindSchedule(schedule);
  if (index == kNoSchedule) return ResultCode::kScheduleNotFound;
  uint32_t entry = 0;
  const ResultCode gate = CheckGate(*schedules_[index], user, token, &entry);
  if (gate != ResultCode::kOk) return gate;
  return SeatMapUnchecked(schedule, seats);
}

ResultCode CoreState::GetSchedule(ScheduleId schedule, ScheduleInfo* info) const {
  const uint32_t index = FindSchedule(schedule);
  if (index == kNoSchedule) return ResultCode::kScheduleNotFound;
  const Schedule& found = *schedules_[index];
  info->config = found.seats.config();
  info->config.policy = found.queue.policy();
  info->seats_available = found.seats.seats_available();
  info->seats_held = found.seats.seats_held();
  info->seats_sold = found.seats.seats_sold();
  info->queue_waiting = found.queue.waiting();
  info->queue_active = found.queue.active();
  return ResultCode::kOk;
}

ResultCode CoreState::ListSchedules(ConcertId concert, std::vector<ScheduleId>* schedules) const {
  auto it = concerts_.find(concert);
  if (it == concerts_.end()) return ResultCode::kConcertNotFound;
  *schedules = it->second.schedules;
  return ResultCode::kOk;
}

void CoreState::ScheduleIds(std::vector<ScheduleId>* schedules) const {
  schedules->clear();
  schedules->reserve(schedules_.size());
  for (const auto& schedule : schedules_) schedules->push_back(schedule->seats.config().schedule);
}

uint64_t CoreState::StateHash() const {
  StateHasher hasher;
  StateHasher concerts;
  for (const auto& [id, concert] : concerts_) {
    StateHasher one;
    one.Add(id);
    for (char c : concert.title) one.Add(static_cast<uint8_t>(c));
    for (ScheduleId schedule : concert.schedules) one.Add(schedule);
    concerts.AddUnordered(one.Finish());
  }
  hasher.Add(concerts.Finish());
  // schedules_ is in creation order, which the event stream fixes.
  for (const auto& schedule : schedules_) {
    schedule->seats.AddToHash(&hasher);
    schedule->queue.AddToHash(&hasher);
  }
  accounts_.AddToHash(&hasher);
  request_results_.AddToHash(&hasher);
  return hasher.Finish();
}

absl::Status CoreState::CheckInvariants() const {
  for (const auto& schedule : schedules_) {
    absl::Status status = schedule->seats.CheckInvariants();
    if (!status.ok()) return status;
    status = schedule->queue.CheckInvariants();
    if (!status.ok()) return status;
  }
  return accounts_.CheckInvariants();
}

CoreStats CoreState::Stats() const {
  CoreStats stats;
  stats.concerts = concerts_.size();
  stats.schedules = schedules_.size();
  for (const auto& schedule : schedules_) {
    const ScheduleSeats& seats = schedule->seats;
    stats.seats += seats.config().seat_count;
    stats.seats_held += seats.seats_held();
    stats.seats_sold += seats.seats_sold();
    stats.holds_live += seats.holds_live();
    stats.payments += seats.payments_completed();
    stats.sold_payments_total += seats.payments_total();
    stats.seat_state_bytes += seats.seat_state_bytes();
    stats.hold_state_bytes += seats.hold_state_bytes();
    stats.queue_waiting += schedule->queue.waiting();
    stats.queue_active += schedule->queue.active();
    stats.queue_state_bytes += schedule->queue.state_bytes();
  }
  stats.accounts = accounts_.account_count();
  stats.ledger_entries = accounts_.ledger_entry_count();
  stats.ledger_entries_forgotten = accounts_.ledger_entries_forgotten();
  stats.account_state_bytes = accounts_.account_state_bytes();
  stats.ledger_state_bytes = accounts_.ledger_state_bytes();
  stats.request_results = request_results_.size();
  stats.request_result_bytes = request_results_.state_bytes();
  stats.balances_total = accounts_.balances_total();
  stats.charges_total = accounts_.charges_total();
  stats.payments_total = accounts_.payments_total();
  return stats;
}

}  // namespace encore::internal
