// Event application (live and replay share it) and the core's timers.
#include "absl/strings/str_cat.h"
#include "internal/core_state.h"

namespace encore::internal {
namespace {

template <typename T>
absl::Status Decode(const EventView& view, T* event) {
  if (view.Decode(event)) return absl::OkStatus();
  if (view.packed) {
    return absl::DataLossError(absl::StrCat("event ", std::string(EventTypeName(view.type)),
                                            " has a malformed packed payload of ",
                                            view.payload.size(), " bytes"));
  }
  return absl::DataLossError(absl::StrCat("event ", std::string(EventTypeName(view.type)), " has ",
                                          view.payload.size(), " bytes, expected ", sizeof(T)));
}

}  // namespace

absl::Status CoreState::UnknownSchedule(EventType event, ScheduleId schedule) const {
  return absl::DataLossError(absl::StrCat(std::string(EventTypeName(event)), " names schedule ",
                                          schedule, ", which does not exist"));
}

absl::Status CoreState::ApplyEvent(const EventView& view) {
  absl::Status status;
  auto apply = [&](auto typed) {
    status = Decode(view, &typed);
    if (status.ok()) status = ApplyTypedEvent(typed);
  };
  switch (view.type) {
    case EventType::kConcertCreated:
      apply(ConcertCreated{});
      break;
    case EventType::kScheduleCreated:
      apply(ScheduleCreated{});
      break;
    case EventType::kAdmissionPolicyChanged:
      apply(AdmissionPolicyChanged{});
      break;
    case EventType::kQueueEntered:
      apply(QueueEntered{});
      break;
    case EventType::kQueueHeartbeat:
      apply(QueueHeartbeat{});
      break;
    case EventType::kQueueAdmitted:
      apply(QueueAdmitted{});
      break;
    case EventType::kQueueEnded:
      apply(QueueEnded{});
      break;
    case EventType::kSeatsHeld:
      apply(SeatsHeld{});
      break;
    case EventType::kSeatsHeldRecorded:
      apply(SeatsHeldRecorded{});
      break;
    case EventType::kHoldEnded:
      apply(HoldEnded{});
      break;
    case EventType::kPaymentStarted:
      apply(PaymentStarted{});
      break;
    case EventType::kPaymentSettled:
      apply(PaymentSettled{});
      break;
    case EventType::kPaymentCompleted:
      apply(PaymentCompleted{});
      break;
    case EventType::kAccountCharged:
      apply(AccountCharged{});
      break;
    case EventType::kAccountDebited:
      apply(AccountDebited{});
      break;
    case EventType::kRequestRecorded:
      apply(RequestRecorded{});
      break;
    default:
      return absl::DataLossError(
          absl::StrCat("unknown event type ", static_cast<uint32_t>(view.type)));
  }
  if (status.ok()) queues_need_processing_ = true;
  return status;
}

absl::Status CoreState::ApplyTypedEvent(const ConcertCreated& event) {
  if (event.concert == 0 || event.title[0] == '\0' || event.title.back() != '\0' ||
      concerts_.contains(event.concert)) {
    return absl::DataLossError(
        absl::StrCat("CONCERT_CREATED for concert ", event.concert, " cannot apply"));
  }
  concerts_[event.concert].title = event.title;
  return absl::OkStatus();
}

absl::Status CoreState::ApplyTypedEvent(const ScheduleCreated& event) {
  const ScheduleConfig& config = event.config;
  auto concert = concerts_.find(config.concert);
  if (ValidateScheduleConfig(config) != ResultCode::kOk || concert == concerts_.end() ||
      FindSchedule(config.schedule) != kNoSchedule) {
    return absl::DataLossError(
        absl::StrCat("SCHEDULE_CREATED for schedule ", config.schedule, " cannot apply"));
  }
  AddSchedule(config);
  auto& ids = concert->second.schedules;
  ids.insert(std::upper_bound(ids.begin(), ids.end(), config.schedule), config.schedule);
  return absl::OkStatus();
}

Schedule& CoreState::AddSchedule(const ScheduleConfig& config) {
  const auto index = static_cast<uint32_t>(schedules_.size());
  schedule_index_[config.schedule] = index;
  schedule_by_tag_.try_emplace(ScheduleTag(config.schedule), index);
  schedules_.push_back(std::make_unique<Schedule>(config));
  return *schedules_.back();
}

absl::Status CoreState::ApplyTypedEvent(const AdmissionPolicyChanged& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule)
    return UnknownSchedule(EventType::kAdmissionPolicyChanged, event.schedule);
  if (ValidateAdmissionPolicy(event.policy) != ResultCode::kOk) {
    return absl::DataLossError("ADMISSION_POLICY_CHANGED carries an invalid policy");
  }
  return schedules_[index]->queue.ApplyPolicyChanged(event);
}

absl::Status CoreState::ApplyTypedEvent(const QueueEntered& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kQueueEntered, event.schedule);
  return schedules_[index]->queue.ApplyEntered(event);
}

absl::Status CoreState::ApplyTypedEvent(const QueueHeartbeat& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kQueueHeartbeat, event.schedule);
  return schedules_[index]->queue.ApplyHeartbeat(event);
}

absl::Status CoreState::ApplyTypedEvent(const QueueAdmitted& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kQueueAdmitted, event.schedule);
  return schedules_[index]->queue.ApplyAdmitted(event);
}

absl::Status CoreState::ApplyTypedEvent(const QueueEnded& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kQueueEnded, event.schedule);
  return schedules_[index]->queue.ApplyEnded(event);
}

absl::Status CoreState::ApplyTypedEvent(const SeatsHeld& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kSeatsHeld, event.schedule);
  return ApplyHeld(index, event);
}

absl::Status CoreState::ApplyHeld(uint32_t index, const SeatsHeld& event) {
  absl::Status status = schedules_[index]->seats.ApplyHeld(event);
  if (status.ok()) timers_.Push(event.deadline_ms, index, TimerKind::kHoldDeadline, event.hold);
  return status;
}

absl::Status CoreState::ApplyTypedEvent(const SeatsHeldRecorded& event) {
  const SeatsHeld& held = event.held;
  if (event.request_key == 0 || request_results_.Find(held.user, event.request_key).has_value()) {
    return absl::DataLossError(absl::StrCat("SEATS_HELD_RECORDED for user ", held.user, " key ",
                                            event.request_key,
                                            " cannot apply: no request key, or recorded already"));
  }
  const uint32_t index = FindSchedule(held.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kSeatsHeld, held.schedule);
  absl::Status status = ApplyHeld(index, held);
  if (!status.ok()) return status;
  ENCORE_CHECK(request_results_.Record(RequestRecorded{
      held.user, event.request_key, event.fingerprint, HoldReply(*schedules_[index], held)}));
  return absl::OkStatus();
}

absl::Status CoreState::ApplyTypedEvent(const HoldEnded& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kHoldEnded, event.schedule);
  return schedules_[index]->seats.ApplyEnded(event);
}

absl::Status CoreState::ApplyTypedEvent(const PaymentStarted& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kPaymentStarted, event.schedule);
  if (pays_in_flight_.contains(RequestId{event.user, event.request_key})) {
    return absl::DataLossError("PAYMENT_STARTED for a request already paying");
  }
  absl::Status status = schedules_[index]->seats.ApplyPaymentStarted(event);
  if (status.ok()) pays_in_flight_[RequestId{event.user, event.request_key}] = event.payment;
  return status;
}

absl::Status CoreState::ApplyTypedEvent(const PaymentSettled& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kPaymentSettled, event.schedule);
  ScheduleSeats& seats = schedules_[index]->seats;
  absl::Status status = seats.ApplyPaymentSettled(event);
  if (status.ok()) {
    const PaymentRecord* payment = seats.FindPayment(event.payment);
    pays_in_flight_.erase(RequestId{payment->user, payment->request_key});
  }
  if (status.ok() && event.outcome != ResultCode::kOk) {
    // Unpinned: the deadline timer may have fired (and been skipped) while the
    // debit was in flight, so arm it again; it expires at once if due.
    const HoldView hold = seats.FindHold(event.hold);
    timers_.Push(hold.deadline_ms, index, TimerKind::kHoldDeadline, event.hold);
  }
  return status;
}

absl::Status CoreState::ApplyTypedEvent(const PaymentCompleted& event) {
  const uint32_t index = FindSchedule(event.schedule);
  if (index == kNoSchedule) return UnknownSchedule(EventType::kPaymentCompleted, event.schedule);
  Schedule& schedule = *schedules_[index];
  // Every step is checked before the first is taken: a refused event changes
  // nothing. The seats check their own part.
  const RequestId id{event.user, event.request_key};
  if (event.request_key == 0 || event.reserved != 0 || pays_in_flight_.contains(id) ||
      request_results_.Find(event.user, event.request_key).has_value() ||
      event.entry >= schedule.queue.entry_count() ||
      schedule.queue.UserOf(event.entry) != event.user ||
      accounts_.CheckDebit(event.user, event.amount) != ResultCode::kOk) {
    return absl::DataLossError(absl::StrCat(
        "PAYMENT_COMPLETED for schedule ", event.schedule, " hold ", event.hold,
        " cannot apply: its request is recorded or paying, its queue entry is not the payer's, "
        "or the balance does not cover it"));
  }
  absl::Status status = schedule.seats.ApplyPaymentCompleted(event);
  if (!status.ok()) return status;
  ENCORE_CHECK(accounts_
                   .ApplySettledDebit(AccountDebited{event.user, event.schedule, event.payment,
                                                     event.hold, event.amount, event.at_ms})
                   .ok());
  if (schedule.queue.StateOf(event.entry) == QueueState::kActive) {
    ENCORE_CHECK(
        schedule.queue.ApplyEnded(QueueEnded{event.schedule, event.entry, QueueState::kDone, {}})
            .ok());
  }
  const Reply reply = PayReply(schedule, *schedule.seats.FindPayment(event.payment), event.payment,
                               ResultCode::kOk, accounts_.Balance(event.user));
  ENCORE_CHECK(request_results_.Record(
      RequestRecorded{event.user, event.request_key, event.fingerprint, reply}));
  return absl::OkStatus();
}

absl::Status CoreState::ApplyTypedEvent(const AccountCharged& event) {
  return accounts_.ApplyCharged(event);
}

absl::Status CoreState::ApplyTypedEvent(const AccountDebited& event) {
  // When the schedule is on this core the debit is local, and its payment
  // must be in flight: one completed in one step (PaymentCompleted) kept no
  // debit key that would refuse it otherwise.
  const uint32_t index = FindSchedule(event.schedule);
  if (index != kNoSchedule) {
    const PaymentRecord* payment = schedules_[index]->seats.FindPayment(event.payment);
    if (payment == nullptr || payment->status != PaymentStatus::kStarted) {
      return absl::DataLossError(absl::StrCat("ACCOUNT_DEBITED for schedule ", event.schedule,
                                              " payment ", event.payment,
                                              " cannot apply: no such payment in flight"));
    }
  }
  return accounts_.ApplyDebited(event);
}

absl::Status CoreState::ApplyTypedEvent(const RequestRecorded& event) {
  if (event.key == 0 || !request_results_.Record(event)) {
    return absl::DataLossError(absl::StrCat("REQUEST_RECORDED for user ", event.user, " key ",
                                            event.key, " is missing or recorded twice"));
  }
  return absl::OkStatus();
}

void CoreState::AdvanceTime(TimestampMs now, EventBuffer* events) {
  // Time never goes back: an earlier `now` counts as the latest seen (core.h).
  if (now < now_) now = now_;
  now_ = now;
  if (queues_need_processing_) {
    queues_need_processing_ = false;
    for (uint32_t index = 0; index < schedules_.size(); ++index) {
      schedules_[index]->queue_timer_due_ms = kNoDeadline;
      ProcessQueue(index, now, events);
    }
  }
  while (timers_.NextDueMs() <= now) {
    const Timer timer = timers_.Pop();
    Schedule& schedule = *schedules_[timer.schedule_index];
    if (timer.kind == TimerKind::kHoldDeadline) {
      // Skipped if the hold ended, or is pinned by a payment in flight.
      const HoldView hold = schedule.seats.FindHold(timer.hold);
      if (hold.status == HoldStatus::kHeld && hold.deadline_ms <= now) {
        Emit(HoldEnded{schedule.seats.config().schedule, timer.hold, HoldEndReason::kExpired, {}},
             events);
      }
      continue;
    }
    if (timer.due_ms == schedule.queue_timer_due_ms) schedule.queue_timer_due_ms = kNoDeadline;
    ProcessQueue(timer.schedule_index, now, events);
  }
}

void CoreState::ProcessQueue(uint32_t schedule_index, TimestampMs now, EventBuffer* events) {
  Schedule& schedule = *schedules_[schedule_index];
  AdmissionQueue& queue = schedule.queue;
  const ScheduleId id = schedule.seats.config().schedule;
  for (;;) {
    uint32_t entry = queue.DueDrop(now);
    if (entry == AdmissionQueue::kNoEntry) entry = queue.DueExpiry(now);
    if (entry != AdmissionQueue::kNoEntry) {
      Emit(QueueEnded{id, entry, QueueState::kExpired, {}}, events);
      continue;
    }
    entry = queue.NextAdmission(now);
    if (entry == AdmissionQueue::kNoEntry) break;
    Emit(QueueAdmitted{id, entry, 0, now}, events);
  }
  ArmQueueTimer(schedule_index, now);
}

void CoreState::ArmQueueTimer(uint32_t schedule_index, TimestampMs now) {
  Schedule& schedule = *schedules_[schedule_index];
  const TimestampMs due = schedule.queue.NextDeadlineMs(now);
  if (due == kNoDeadline || due >= schedule.queue_timer_due_ms) return;
  // Everything due at `now` was just processed, so the next change is later.
  ENCORE_CHECK(due > now);
  schedule.queue_timer_due_ms = due;
  timers_.Push(due, schedule_index, TimerKind::kQueue, 0);
}

TimestampMs CoreState::NextDeadlineMs() const {
  if (queues_need_processing_) return INT64_MIN;
  return timers_.NextDueMs();
}

}  // namespace encore::internal
