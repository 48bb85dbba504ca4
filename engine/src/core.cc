#include "encore/core.h"

#include "absl/strings/str_cat.h"
#include "internal/core_state.h"
#include "internal/state_hasher.h"

namespace encore {

absl::Status ValidateCoreLimits(const CoreLimits& limits, const char* prefix) {
  auto check = [prefix](const char* field, uint64_t value, uint64_t max) {
    if (value >= 1 && value <= max) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, field, " = ", value, ": must be 1 .. ", max));
  };
  for (absl::Status status :
       {check("queue_waiting_max", limits.queue_waiting_max, kQueueEntriesMax),
        check("queue_entries_max", limits.queue_entries_max, kQueueEntriesMax),
        check("accounts_max", limits.accounts_max, CoreLimits::kAccountsMaxLimit),
        check("ledger_entries_max", limits.ledger_entries_max,
              CoreLimits::kLedgerEntriesMaxLimit)}) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

Core::Core(const CoreOptions& options) : state_(std::make_unique<internal::CoreState>(options)) {}

Core::~Core() = default;

uint32_t ShardOfSchedule(ScheduleId schedule, uint32_t shard_count) {
  return static_cast<uint32_t>(internal::Mix64(schedule ^ 0x5c4ed01e5c4ed01eULL) % shard_count);
}

uint32_t ShardOfUser(UserId user, uint32_t shard_count) {
  return static_cast<uint32_t>(internal::Mix64(user ^ 0x05e2a11c05e2a11cULL) % shard_count);
}

Reply Core::Apply(const Command& command, TimestampMs now, EventBuffer* events,
                  std::vector<DebitRequest>* outbox) {
  return state_->Apply(command, now, events, outbox);
}

void Core::Prefetch(const Command& command) const { state_->Prefetch(command); }

DebitOutcome Core::ApplyDebit(const DebitRequest& request, TimestampMs now, EventBuffer* events) {
  return state_->ApplyDebit(request, now, events);
}

Reply Core::SettlePayment(const DebitOutcome& outcome, TimestampMs now, EventBuffer* events,
                          bool* settled) {
  return state_->SettlePayment(outcome, now, events, settled);
}

void Core::PaymentsInFlight(std::vector<DebitRequest>* requests) const {
  state_->PaymentsInFlight(requests);
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

void Core::SaveSnapshot(std::vector<uint8_t>* out) const {
  SnapshotBuffer buffer;
  state_->SaveSnapshot(&buffer);
  out->assign(buffer.data(), buffer.data() + buffer.size());
}

void Core::SaveSnapshot(SnapshotBuffer* out) const { state_->SaveSnapshot(out); }

absl::Status Core::LoadSnapshot(std::span<const uint8_t> snapshot) {
  return state_->LoadSnapshot(snapshot);
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

void Core::ScheduleIds(std::vector<ScheduleId>* schedules) const { state_->ScheduleIds(schedules); }

Points Core::Balance(UserId user) const { return state_->accounts().Balance(user); }

void Core::Ledger(UserId user, uint64_t before, uint32_t limit, std::vector<LedgerEntry>* entries,
                  uint64_t* next_before) const {
  state_->accounts().Ledger(user, before, limit, entries, next_before);
}

}  // namespace encore
