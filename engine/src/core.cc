#include "encore/core.h"

#include "internal/core_state.h"

namespace encore {

Core::Core(const CoreOptions& options)
    : state_(std::make_unique<internal::CoreState>(options)) {}

Core::~Core() = default;

Reply Core::Apply(const Command& command, TimestampMs now, EventBuffer* events) {
  return state_->Apply(command, now, events);
}

void Core::AdvanceTime(TimestampMs now, EventBuffer* events) { state_->AdvanceTime(now, events); }

TimestampMs Core::NextDeadlineMs() const { return state_->NextDeadlineMs(); }

absl::Status Core::ApplyEvent(const EventView& event) { return state_->ApplyEvent(event); }

absl::Status Core::ApplyEvents(const EventBuffer& events) {
  absl::Status status;
  events.ForEach([&](const EventView& event) {
    if (status.ok()) status = state_->ApplyEvent(event);
  });
  return status;
}

uint64_t Core::StateHash() const { return state_->StateHash(); }

absl::Status Core::CheckInvariants() const { return state_->CheckInvariants(); }

CoreStats Core::Stats() const { return state_->Stats(); }

ResultCode Core::SeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                         std::vector<SeatState>* seats) const {
  return state_->SeatMap(schedule, user, token, seats);
}

ResultCode Core::SeatMapUnchecked(ScheduleId schedule, std::vector<SeatState>* seats) const {
  return state_->SeatMapUnchecked(schedule, seats);
}

ResultCode Core::GetSchedule(ScheduleId schedule, ScheduleInfo* info) const {
  return state_->GetSchedule(schedule, info);
}

ResultCode Core::ListSchedules(ConcertId concert, std::vector<ScheduleId>* schedules) const {
  return state_->ListSchedules(concert, schedules);
}

Points Core::Balance(UserId user) const { return state_->accounts().Balance(user); }

void Core::Ledger(UserId user, uint64_t before, uint32_t limit, std::vector<LedgerEntry>* entries,
                  uint64_t* next_before) const {
  state_->accounts().Ledger(user, before, limit, entries, next_before);
}

}  // namespace encore
