// CoreState: the implementation behind encore::Core.
//
// Apply() validates a command against the state and, if it is allowed, emits
// its events. Emit() applies each event through the same typed Apply*Event()
// function that replay uses and then appends it to the caller's buffer, so a
// live core and a replayed one cannot drift apart.
//
// Files: core_state.cc (command handlers), core_events.cc (event application
// and timers), core_reads.cc (reads, hash, invariants, stats).
#ifndef ENCORE_INTERNAL_CORE_STATE_H_
#define ENCORE_INTERNAL_CORE_STATE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "encore/core.h"
#include "internal/accounts.h"
#include "internal/admission_queue.h"
#include "internal/check.h"
#include "internal/request_results.h"
#include "internal/schedule_seats.h"
#include "internal/timer_heap.h"
#include "internal/user_request.h"

namespace encore::internal {

// kOk, or kInvalidArgument for a config no schedule may have.
[[nodiscard]] ResultCode ValidateScheduleConfig(const ScheduleConfig& config);
[[nodiscard]] ResultCode ValidateAdmissionPolicy(const AdmissionPolicy& policy);
// The 32-bit tag of a schedule carried in its queue tokens' locators.
uint32_t ScheduleTag(ScheduleId schedule);

struct Concert {
  Title title;
  std::vector<ScheduleId> schedules;
};

struct Schedule {
  explicit Schedule(const ScheduleConfig& config) : seats(config), queue(config) {}
  ScheduleSeats seats;
  AdmissionQueue queue;
  // The earliest queue timer armed and not yet fired.
  TimestampMs queue_timer_due_ms = kNoDeadline;
};

class CoreState {
 public:
  explicit CoreState(const CoreOptions& options);

  Reply Apply(const Command& command, TimestampMs now, EventBuffer* events,
              std::vector<DebitRequest>* outbox);
  // Hints for a batch: loads the lines `command` will touch (its request
  // record, account, queue entry, seats, hold) so that applying a batch
  // overlaps its cache misses instead of taking them one by one.
  void Prefetch(const Command& command) const;
  DebitOutcome ApplyDebit(const DebitRequest& request, TimestampMs now, EventBuffer* events);
  Reply SettlePayment(const DebitOutcome& outcome, TimestampMs now, EventBuffer* events,
                      bool* settled);
  void PaymentsInFlight(std::vector<DebitRequest>* requests) const;
  void AdvanceTime(TimestampMs now, EventBuffer* events);
  TimestampMs NextDeadlineMs() const;
  [[nodiscard]] absl::Status ApplyEvent(const EventView& event);

  // Snapshots (core_snapshot.cc).
  void SaveSnapshot(SnapshotBuffer* out) const;
  [[nodiscard]] absl::Status LoadSnapshot(std::span<const uint8_t> snapshot);

  // Reads (core_reads.cc).
  uint64_t StateHash() const;
  [[nodiscard]] absl::Status CheckInvariants() const;
  CoreStats Stats() const;
  [[nodiscard]] ResultCode SeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                                   std::vector<SeatState>* seats) const;
  [[nodiscard]] ResultCode SeatMapUnchecked(ScheduleId schedule,
                                            std::vector<SeatState>* seats) const;
  [[nodiscard]] ResultCode GetSchedule(ScheduleId schedule, ScheduleInfo* info) const;
  [[nodiscard]] ResultCode ListSchedules(ConcertId concert,
                                         std::vector<ScheduleId>* schedules) const;
  void ScheduleIds(std::vector<ScheduleId>* schedules) const;
  const Accounts& accounts() const { return accounts_; }

 private:
  static constexpr uint32_t kNoSchedule = UINT32_MAX;

  // Command handlers (core_state.cc).
  Reply Dispatch(const Command& command, uint64_t fingerprint, TimestampMs now, EventBuffer* events,
                 std::vector<DebitRequest>* outbox);
  Reply CreateConcert(const Command& command, EventBuffer* events);
  Reply CreateSchedule(const Command& command, EventBuffer* events);
  Reply SetAdmissionPolicy(const Command& command, TimestampMs now, EventBuffer* events);
  Reply EnterQueue(const Command& command, TimestampMs now, EventBuffer* events);
  Reply QueueStatus(const Command& command, TimestampMs now, EventBuffer* events);
  Reply LeaveQueue(const Command& command, TimestampMs now, EventBuffer* events);
  Reply HoldSeats(const Command& command, uint64_t fingerprint, TimestampMs now,
                  EventBuffer* events);
  Reply ReleaseHold(const Command& command, EventBuffer* events);
  Reply Pay(const Command& command, uint64_t fingerprint, TimestampMs now, EventBuffer* events,
            std::vector<DebitRequest>* outbox);
  Reply Charge(const Command& command, TimestampMs now, EventBuffer* events);
  // `reply` to `command` as the caller gets it: a successful HOLD_SEATS gets
  // its hold's proof. The proof is added to every answer, first or repeated,
  // and never recorded, so the idempotency records (and the state hash) do not
  // depend on the key.
  Reply WithHoldProof(const Command& command, Reply reply) const;
  // The reply to the HOLD_SEATS that made `held` (without its proof).
  Reply HoldReply(const Schedule& schedule, const SeatsHeld& held) const;
  // The reply to a PAY whose payment `id` settled with `code`, `balance` after it.
  Reply PayReply(const Schedule& schedule, const PaymentRecord& payment, PaymentId id,
                 ResultCode code, Points balance) const;
  uint64_t Fingerprint(const Command& command) const;

  // The admission gate (core_state.cc).
  QueueToken MakeToken(ScheduleId schedule, UserId user, uint32_t entry) const;
  // True (with *entry set) when `token` is a real token of `schedule`.
  bool VerifyToken(const Schedule& schedule, const QueueToken& token, uint32_t* entry) const;
  // kOk with *entry set when `token` is a real token of `schedule` owned by
  // `user`; else kTokenInvalid, kTokenWrongSchedule or kTokenWrongUser.
  [[nodiscard]] ResultCode CheckTokenOwner(const Schedule& schedule, UserId user,
                                           const QueueToken& token, uint32_t* entry) const;
  // CheckTokenOwner, then kTokenNotActive or kTokenExpired unless ACTIVE.
  [[nodiscard]] ResultCode CheckGate(const Schedule& schedule, UserId user, const QueueToken& token,
                                     uint32_t* entry) const;
  void FillQueueReply(const Schedule& schedule, uint32_t entry, Reply* reply) const;
  // The proof of hold `hold` of `schedule` held by `user`: derived from the
  // persisted token key, so a replayed or restored core makes the same one.
  HoldProof MakeHoldProof(ScheduleId schedule, HoldId hold, UserId user) const;

  // Events and timers (core_events.cc).
  template <typename T>
  void Emit(const T& event, EventBuffer* events) {
    const absl::Status status = ApplyTypedEvent(event);
    ENCORE_CHECK(status.ok());
    events->Append(event);
  }
  [[nodiscard]] absl::Status ApplyTypedEvent(const ConcertCreated& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const ScheduleCreated& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const AdmissionPolicyChanged& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const QueueEntered& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const QueueHeartbeat& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const QueueAdmitted& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const QueueEnded& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const SeatsHeld& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const SeatsHeldRecorded& event);
  // SeatsHeld's step once its schedule is found, at `index`.
  [[nodiscard]] absl::Status ApplyHeld(uint32_t index, const SeatsHeld& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const HoldEnded& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const PaymentStarted& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const PaymentSettled& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const PaymentCompleted& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const AccountCharged& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const AccountDebited& event);
  [[nodiscard]] absl::Status ApplyTypedEvent(const RequestRecorded& event);
  // Ends due queue entries and admits, then arms the queue's timer.
  void ProcessQueue(uint32_t schedule_index, TimestampMs now, EventBuffer* events);
  void ArmQueueTimer(uint32_t schedule_index, TimestampMs now);

  uint32_t FindSchedule(ScheduleId schedule) const;
  // Adds a schedule (from its creation event or a snapshot).
  Schedule& AddSchedule(const ScheduleConfig& config);
  [[nodiscard]] absl::Status UnknownSchedule(EventType event, ScheduleId schedule) const;

  using RequestId = UserRequest;

  CoreOptions options_;
  // PAY commands whose debit is in flight: a repeat is answered
  // kPaymentInProgress and not recorded (the settlement records the result).
  absl::flat_hash_map<RequestId, PaymentId> pays_in_flight_;
  absl::flat_hash_map<ConcertId, Concert> concerts_;
  absl::flat_hash_map<ScheduleId, uint32_t> schedule_index_;
  // Schedule index by token tag: a token of another schedule of this core can
  // be verified, and only then called TOKEN_WRONG_SCHEDULE.
  absl::flat_hash_map<uint32_t, uint32_t> schedule_by_tag_;
  std::vector<std::unique_ptr<Schedule>> schedules_;
  Accounts accounts_;
  RequestResults request_results_;
  TimerHeap timers_;
  TimestampMs now_ = INT64_MIN;
  // Set by a command handler whose event recorded the reply itself
  // (SEATS_HELD_RECORDED, PAYMENT_COMPLETED, a settled saga); Apply clears it.
  bool reply_recorded_ = false;
  // Set by replay: queues must be re-examined before the next command.
  bool queues_need_processing_ = false;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_CORE_STATE_H_
