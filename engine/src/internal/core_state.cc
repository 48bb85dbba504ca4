// Command handlers of the core: validation in precedence order, then events.
#include "internal/core_state.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "internal/siphash.h"
#include "internal/state_hasher.h"

namespace encore::internal {
namespace {

bool IsValidTitle(const Title& title) { return title[0] != '\0' && title.back() == '\0'; }

}  // namespace

uint32_t ScheduleTag(ScheduleId schedule) { return static_cast<uint32_t>(Mix64(schedule)); }

ResultCode ValidateAdmissionPolicy(const AdmissionPolicy& policy) {
  const bool rate_on = policy.admit_per_interval > 0;
  if (rate_on != (policy.interval_ms > 0)) return ResultCode::kInvalidArgument;
  if (policy.interval_ms < 0 || policy.interval_ms > kActiveTtlMaxMs) {
    return ResultCode::kInvalidArgument;
  }
  return ResultCode::kOk;
}

ResultCode ValidateScheduleConfig(const ScheduleConfig& config) {
  const bool valid = config.schedule != 0 && config.seat_count >= 1 &&
                     config.seat_count <= kSeatsPerScheduleMax && config.seats_per_user_max >= 1 &&
                     config.seats_per_user_max <= kHoldSeatsMax &&
                     config.hold_ttl_ms >= kHoldTtlMinMs && config.hold_ttl_ms <= kHoldTtlMaxMs &&
                     config.active_ttl_ms >= 1 && config.active_ttl_ms <= kActiveTtlMaxMs &&
                     config.heartbeat_timeout_ms >= kHeartbeatTimeoutMinMs &&
                     config.heartbeat_timeout_ms <= kHeartbeatTimeoutMaxMs &&
                     config.sale_opens_at_ms < config.sale_closes_at_ms && config.tier_count >= 1 &&
                     config.tier_count <= kPriceTiersMax && config.tiers[0].first_seat == 0;
  if (!valid) return ResultCode::kInvalidArgument;
  for (uint32_t i = 0; i < kPriceTiersMax; ++i) {
    const PriceTier& tier = config.tiers[i];
    if (i >= config.tier_count) {
      // Unused tiers must be empty, so equal configs are equal bytes.
      if (tier.first_seat != 0 || tier.price != 0 || tier.reserved != 0) {
        return ResultCode::kInvalidArgument;
      }
      continue;
    }
    if (tier.price < 1 || tier.price > kSeatPriceMax || tier.first_seat >= config.seat_count ||
        tier.reserved != 0 || (i > 0 && tier.first_seat <= config.tiers[i - 1].first_seat)) {
      return ResultCode::kInvalidArgument;
    }
  }
  if (config.reserved != 0) return ResultCode::kInvalidArgument;
  return ValidateAdmissionPolicy(config.policy);
}

CoreState::CoreState(const CoreOptions& options)
    : options_(options), accounts_(options.limits), request_results_(options.request_results_max) {
  ENCORE_CHECK(ValidateCoreLimits(options.limits, "").ok());
}

void CoreState::Prefetch(const Command& command) const {
  if (command.request_key != 0) request_results_.Prefetch(command.user, command.request_key);
  if (!IsScheduleScoped(command.type)) {
    accounts_.Prefetch(command.user);
    return;
  }
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return;
  const Schedule& schedule = *schedules_[index];
  schedule.queue.PrefetchEntry(static_cast<uint32_t>(command.token.locator));
  switch (command.type) {
    case CommandType::kHoldSeats:
      schedule.seats.PrefetchHold(
          command.user,
          std::span<const SeatIndex>(command.seats.data(),
                                     std::min<size_t>(command.seat_count, kHoldSeatsMax)));
      break;
    case CommandType::kPay:
      accounts_.Prefetch(command.user);
      schedule.seats.PrefetchHoldId(command.hold);
      break;
    case CommandType::kReleaseHold:
      schedule.seats.PrefetchHoldId(command.hold);
      break;
    default:
      break;
  }
}

uint32_t CoreState::FindSchedule(ScheduleId schedule) const {
  auto it = schedule_index_.find(schedule);
  return it == schedule_index_.end() ? kNoSchedule : it->second;
}

Reply CoreState::Apply(const Command& command, TimestampMs now, EventBuffer* events,
                       std::vector<DebitRequest>* outbox) {
  if (!IsCommandType(command.type)) return MakeReply(command.type, ResultCode::kUnsupported);
  AdvanceTime(now, events);
  now = now_;
  if (!IsMutating(command.type)) return Dispatch(command, 0, now, events, outbox);
  if (command.request_key == 0) return MakeReply(command.type, ResultCode::kMissingRequestKey);
  const uint64_t fingerprint = Fingerprint(command);
  if (const std::optional<RequestRecorded> recorded =
          request_results_.Find(command.user, command.request_key)) {
    return recorded->fingerprint == fingerprint
               ? WithHoldProof(command, recorded->reply)
               : MakeReply(command.type, ResultCode::kRequestKeyReused);
  }
  const RequestId id{command.user, command.request_key};
  if (pays_in_flight_.contains(id)) return MakeReply(command.type, ResultCode::kPaymentInProgress);
  reply_recorded_ = false;
  const Reply reply = Dispatch(command, fingerprint, now, events, outbox);
  // A PAY whose saga is in flight is recorded when it settles (SettlePayment).
  const bool recorded_later = command.type == CommandType::kPay && pays_in_flight_.contains(id);
  // A refusal for want of room changed nothing and is not recorded: a retry
  // with the same key is decided afresh once there is room, and a flood of
  // refusals does not push real results out of the idempotency window.
  const bool capacity_refusal =
      reply.code == ResultCode::kQueueFull || reply.code == ResultCode::kAccountsFull;
  if (!reply_recorded_ && !recorded_later && !capacity_refusal) {
    Emit(RequestRecorded{command.user, command.request_key, fingerprint, reply}, events);
  }
  return WithHoldProof(command, reply);
}

Reply CoreState::WithHoldProof(const Command& command, Reply reply) const {
  if (command.type == CommandType::kHoldSeats && reply.ok()) {
    reply.hold_proof = MakeHoldProof(command.schedule, reply.hold, command.user);
  }
  return reply;
}

Reply CoreState::Dispatch(const Command& command, uint64_t fingerprint, TimestampMs now,
                          EventBuffer* events, std::vector<DebitRequest>* outbox) {
  switch (command.type) {
    case CommandType::kCreateConcert:
      return CreateConcert(command, events);
    case CommandType::kCreateSchedule:
      return CreateSchedule(command, events);
    case CommandType::kSetAdmissionPolicy:
      return SetAdmissionPolicy(command, now, events);
    case CommandType::kEnterQueue:
      return EnterQueue(command, now, events);
    case CommandType::kQueueStatus:
      return QueueStatus(command, now, events);
    case CommandType::kLeaveQueue:
      return LeaveQueue(command, now, events);
    case CommandType::kHoldSeats:
      return HoldSeats(command, fingerprint, now, events);
    case CommandType::kReleaseHold:
      return ReleaseHold(command, events);
    case CommandType::kPay:
      return Pay(command, fingerprint, now, events, outbox);
    case CommandType::kCharge:
      return Charge(command, now, events);
    case CommandType::kBalance: {
      Reply reply = MakeReply(command.type, ResultCode::kOk);
      reply.balance = accounts_.Balance(command.user);
      return reply;
    }
  }
  return MakeReply(command.type, ResultCode::kUnsupported);
}

uint64_t CoreState::Fingerprint(const Command& command) const {
  // Only the fields the command reads: a repeat must match on what matters.
  StateHasher hasher;
  hasher.Add(static_cast<uint64_t>(command.type));
  hasher.Add(command.schedule);
  hasher.Add(command.hold);
  hasher.AddSigned(command.amount);
  hasher.Add(command.token.locator);
  hasher.Add(command.token.mac);
  hasher.Add(command.seat_count);
  for (uint32_t i = 0; i < std::min<uint32_t>(command.seat_count, kHoldSeatsMax); ++i) {
    hasher.Add(command.seats[i]);
  }
  switch (command.type) {
    case CommandType::kCreateConcert:
      hasher.Add(command.concert);
      for (char c : command.title) hasher.Add(static_cast<uint8_t>(c));
      break;
    case CommandType::kCreateSchedule: {
      uint64_t words[sizeof(ScheduleConfig) / 8];
      static_assert(sizeof(ScheduleConfig) % 8 == 0);
      std::memcpy(words, &command.schedule_config, sizeof(words));
      for (uint64_t word : words) hasher.Add(word);
      break;
    }
    case CommandType::kReleaseHold:
      // Only when set, so a release proven by its token has the fingerprint
      // it had before hold proofs existed.
      if (command.hold_proof != 0) hasher.Add(command.hold_proof);
      break;
    case CommandType::kSetAdmissionPolicy:
      hasher.Add(command.policy.active_max);
      hasher.Add(command.policy.admit_per_interval);
      hasher.AddSigned(command.policy.interval_ms);
      break;
    default:
      break;
  }
  return hasher.Finish();
}

Reply CoreState::CreateConcert(const Command& command, EventBuffer* events) {
  if (command.concert == 0 || !IsValidTitle(command.title)) {
    return MakeReply(command.type, ResultCode::kInvalidArgument);
  }
  if (concerts_.contains(command.concert)) {
    return MakeReply(command.type, ResultCode::kConcertExists);
  }
  Emit(ConcertCreated{command.concert, command.title}, events);
  return MakeReply(command.type, ResultCode::kOk);
}

Reply CoreState::CreateSchedule(const Command& command, EventBuffer* events) {
  const ScheduleConfig& config = command.schedule_config;
  if (ValidateScheduleConfig(config) != ResultCode::kOk) {
    return MakeReply(command.type, ResultCode::kInvalidArgument);
  }
  if (!concerts_.contains(config.concert)) {
    return MakeReply(command.type, ResultCode::kConcertNotFound);
  }
  if (FindSchedule(config.schedule) != kNoSchedule) {
    return MakeReply(command.type, ResultCode::kScheduleExists);
  }
  Emit(ScheduleCreated{config}, events);
  return MakeReply(command.type, ResultCode::kOk);
}

Reply CoreState::SetAdmissionPolicy(const Command& command, TimestampMs now, EventBuffer* events) {
  if (ValidateAdmissionPolicy(command.policy) != ResultCode::kOk) {
    return MakeReply(command.type, ResultCode::kInvalidArgument);
  }
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return MakeReply(command.type, ResultCode::kScheduleNotFound);
  Emit(AdmissionPolicyChanged{command.schedule, now, command.policy}, events);
  ProcessQueue(index, now, events);
  return MakeReply(command.type, ResultCode::kOk);
}

QueueToken CoreState::MakeToken(ScheduleId schedule, UserId user, uint32_t entry) const {
  QueueToken token;
  token.locator = (static_cast<uint64_t>(ScheduleTag(schedule)) << 32) | entry;
  const std::array<uint64_t, 3> message = {schedule, user, token.locator};
  token.mac = SipHash24Words(options_.token_key, message);
  return token;
}

HoldProof CoreState::MakeHoldProof(ScheduleId schedule, HoldId hold, UserId user) const {
  // Four words where a token's MAC takes three, the first naming what is
  // proven: a hold proof never equals a token's MAC of the same numbers.
  constexpr uint64_t kHoldProofDomain = 0x464f4f5250444c48;  // "HLDPROOF"
  const std::array<uint64_t, 4> message = {kHoldProofDomain, schedule, hold, user};
  const HoldProof proof = SipHash24Words(options_.token_key, message);
  return proof != 0 ? proof : 1;  // 0 means "no proof" in a command.
}

bool CoreState::VerifyToken(const Schedule& schedule, const QueueToken& token,
                            uint32_t* entry) const {
  const ScheduleId id = schedule.seats.config().schedule;
  if (static_cast<uint32_t>(token.locator >> 32) != ScheduleTag(id)) return false;
  const uint32_t number = static_cast<uint32_t>(token.locator);
  if (number >= schedule.queue.entry_count()) return false;
  if (MakeToken(id, schedule.queue.UserOf(number), number) != token) return false;
  *entry = number;
  return true;
}

ResultCode CoreState::CheckTokenOwner(const Schedule& schedule, UserId user,
                                      const QueueToken& token, uint32_t* entry) const {
  uint32_t number = 0;
  if (!VerifyToken(schedule, token, &number)) {
    // Only a token verified as another schedule's is called that; anything
    // unverifiable (forged, corrupted, or of a schedule on another shard) is
    // invalid here.
    const uint32_t tag = static_cast<uint32_t>(token.locator >> 32);
    auto other = schedule_by_tag_.find(tag);
    if (other != schedule_by_tag_.end() && schedules_[other->second].get() != &schedule &&
        VerifyToken(*schedules_[other->second], token, &number)) {
      return ResultCode::kTokenWrongSchedule;
    }
    return ResultCode::kTokenInvalid;
  }
  if (schedule.queue.UserOf(number) != user) return ResultCode::kTokenWrongUser;
  *entry = number;
  return ResultCode::kOk;
}

ResultCode CoreState::CheckGate(const Schedule& schedule, UserId user, const QueueToken& token,
                                uint32_t* entry) const {
  const ResultCode owner = CheckTokenOwner(schedule, user, token, entry);
  if (owner != ResultCode::kOk) return owner;
  switch (schedule.queue.StateOf(*entry)) {
    case QueueState::kActive:
      return ResultCode::kOk;
    case QueueState::kWaiting:
      return ResultCode::kTokenNotActive;
    default:
      return ResultCode::kTokenExpired;
  }
}

void CoreState::FillQueueReply(const Schedule& schedule, uint32_t entry, Reply* reply) const {
  const AdmissionQueue& queue = schedule.queue;
  reply->token = MakeToken(schedule.seats.config().schedule, queue.UserOf(entry), entry);
  reply->queue_state = queue.StateOf(entry);
  if (reply->queue_state == QueueState::kWaiting) {
    reply->position = queue.Position(entry);
    reply->eta_ms = queue.EtaMs(reply->position);
  } else if (reply->queue_state == QueueState::kActive) {
    reply->active_deadline_ms = queue.ActiveDeadlineMs(entry);
    reply->eta_ms = 0;
  }
}

Reply CoreState::EnterQueue(const Command& command, TimestampMs now, EventBuffer* events) {
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return MakeReply(command.type, ResultCode::kScheduleNotFound);
  Schedule& schedule = *schedules_[index];
  if (now >= schedule.seats.config().sale_closes_at_ms) {
    return MakeReply(command.type, ResultCode::kSaleClosed);
  }
  Reply reply = MakeReply(command.type, ResultCode::kOk);
  uint32_t entry = schedule.queue.FindEntry(command.user);
  const bool live =
      entry != AdmissionQueue::kNoEntry && (schedule.queue.StateOf(entry) == QueueState::kWaiting ||
                                            schedule.queue.StateOf(entry) == QueueState::kActive);
  if (!live) {
    if (schedule.queue.waiting() >= options_.limits.queue_waiting_max ||
        schedule.queue.entry_count() >= options_.limits.queue_entries_max) {
      return MakeReply(command.type, ResultCode::kQueueFull);
    }
    entry = schedule.queue.entry_count();
    Emit(QueueEntered{command.schedule, command.user, entry, 0, now}, events);
    ProcessQueue(index, now, events);
  }
  FillQueueReply(schedule, entry, &reply);
  return reply;
}

Reply CoreState::QueueStatus(const Command& command, TimestampMs now, EventBuffer* events) {
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return MakeReply(command.type, ResultCode::kScheduleNotFound);
  Schedule& schedule = *schedules_[index];
  uint32_t entry = 0;
  const ResultCode owner = CheckTokenOwner(schedule, command.user, command.token, &entry);
  if (owner != ResultCode::kOk) return MakeReply(command.type, owner);
  if (schedule.queue.StateOf(entry) == QueueState::kWaiting) {
    Emit(QueueHeartbeat{command.schedule, entry, 0, now}, events);
    ArmQueueTimer(index, now);
  }
  Reply reply = MakeReply(command.type, ResultCode::kOk);
  FillQueueReply(schedule, entry, &reply);
  return reply;
}

Reply CoreState::LeaveQueue(const Command& command, TimestampMs now, EventBuffer* events) {
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return MakeReply(command.type, ResultCode::kScheduleNotFound);
  Schedule& schedule = *schedules_[index];
  uint32_t entry = 0;
  const ResultCode owner = CheckTokenOwner(schedule, command.user, command.token, &entry);
  if (owner != ResultCode::kOk) return MakeReply(command.type, owner);
  const QueueState state = schedule.queue.StateOf(entry);
  if (state != QueueState::kWaiting && state != QueueState::kActive) {
    return MakeReply(command.type, ResultCode::kTokenExpired);
  }
  Emit(QueueEnded{command.schedule, entry, QueueState::kLeft, {}}, events);
  ProcessQueue(index, now, events);
  Reply reply = MakeReply(command.type, ResultCode::kOk);
  FillQueueReply(schedule, entry, &reply);
  return reply;
}

Reply CoreState::HoldSeats(const Command& command, uint64_t fingerprint, TimestampMs now,
                           EventBuffer* events) {
  if (command.seat_count == 0 || command.seat_count > kHoldSeatsMax) {
    return MakeReply(command.type, ResultCode::kInvalidSeatCount);
  }
  const std::span<const SeatIndex> seats(command.seats.data(), command.seat_count);
  for (uint32_t i = 1; i < seats.size(); ++i) {
    for (uint32_t j = 0; j < i; ++j) {
      if (seats[i] == seats[j]) return MakeReply(command.type, ResultCode::kDuplicateSeat);
    }
  }
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return MakeReply(command.type, ResultCode::kScheduleNotFound);
  Schedule& schedule = *schedules_[index];
  const ScheduleConfig& config = schedule.seats.config();
  for (SeatIndex seat : seats) {
    if (seat >= config.seat_count) return MakeReply(command.type, ResultCode::kSeatNotFound);
  }
  uint32_t entry = 0;
  const ResultCode gate = CheckGate(schedule, command.user, command.token, &entry);
  if (gate != ResultCode::kOk) return MakeReply(command.type, gate);
  if (now < config.sale_opens_at_ms) return MakeReply(command.type, ResultCode::kSaleNotOpen);
  if (now >= config.sale_closes_at_ms) return MakeReply(command.type, ResultCode::kSaleClosed);
  const ResultCode seats_free = schedule.seats.CheckHold(command.user, seats);
  if (seats_free != ResultCode::kOk) return MakeReply(command.type, seats_free);

  SeatsHeldRecorded recorded{};
  SeatsHeld& held = recorded.held;
  held.schedule = command.schedule;
  held.user = command.user;
  held.hold = schedule.seats.next_hold_id();
  held.deadline_ms = now + config.hold_ttl_ms;
  held.seat_count = command.seat_count;
  std::copy(seats.begin(), seats.end(), held.seats.begin());
  recorded.request_key = command.request_key;
  recorded.fingerprint = fingerprint;
  Emit(recorded, events);  // Holds the seats and records the reply.
  reply_recorded_ = true;
  return HoldReply(schedule, held);
}

Reply CoreState::HoldReply(const Schedule& schedule, const SeatsHeld& held) const {
  Reply reply = MakeReply(CommandType::kHoldSeats, ResultCode::kOk);
  reply.hold = held.hold;
  reply.hold_deadline_ms = held.deadline_ms;
  reply.seat_count = static_cast<uint8_t>(held.seat_count);
  for (uint32_t i = 0; i < held.seat_count; ++i) {
    reply.amount += schedule.seats.PriceOf(held.seats[i]);
  }
  return reply;
}

namespace {

// The refusal for a hold that is not HELD by `user`, or kOk. Ownership comes
// first: a foreign user learns nothing about what became of someone's hold.
ResultCode HoldRefusal(const HoldView& hold, UserId user) {
  if (hold.status == HoldStatus::kNotFound) return ResultCode::kHoldNotFound;
  if (hold.user != user) return ResultCode::kHoldNotOwned;
  switch (hold.status) {
    case HoldStatus::kExpired:
      return ResultCode::kHoldExpired;
    case HoldStatus::kReleased:
      return ResultCode::kHoldReleased;
    case HoldStatus::kPaid:
      return ResultCode::kAlreadyPaid;
    case HoldStatus::kPaying:
      return ResultCode::kPaymentInProgress;
    case HoldStatus::kNotFound:
    case HoldStatus::kHeld:
      break;
  }
  return ResultCode::kOk;
}

}  // namespace

Reply CoreState::ReleaseHold(const Command& command, EventBuffer* events) {
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return MakeReply(command.type, ResultCode::kScheduleNotFound);
  const Schedule& schedule = *schedules_[index];
  const HoldView hold = schedule.seats.FindHold(command.hold);
  if (hold.status == HoldStatus::kNotFound) {
    return MakeReply(command.type, ResultCode::kHoldNotFound);
  }
  // Hold ids are sequential: the releaser proves it is the holder, with the
  // hold's proof (which outlives the token) or, as PAY does, an ACTIVE token.
  if (command.hold_proof != 0) {
    if (command.hold_proof != MakeHoldProof(command.schedule, command.hold, command.user)) {
      return MakeReply(command.type, ResultCode::kHoldProofInvalid);
    }
  } else {
    uint32_t entry = 0;
    const ResultCode gate = CheckGate(schedule, command.user, command.token, &entry);
    if (gate != ResultCode::kOk) return MakeReply(command.type, gate);
  }
  const ResultCode refusal = HoldRefusal(hold, command.user);
  if (refusal != ResultCode::kOk) return MakeReply(command.type, refusal);
  Emit(HoldEnded{command.schedule, command.hold, HoldEndReason::kReleased, {}}, events);
  Reply reply = MakeReply(command.type, ResultCode::kOk);
  reply.hold = command.hold;
  reply.seat_count = static_cast<uint8_t>(hold.seat_count);
  return reply;
}

Reply CoreState::Pay(const Command& command, uint64_t fingerprint, TimestampMs now,
                     EventBuffer* events, std::vector<DebitRequest>* outbox) {
  const uint32_t index = FindSchedule(command.schedule);
  if (index == kNoSchedule) return MakeReply(command.type, ResultCode::kScheduleNotFound);
  Schedule& schedule = *schedules_[index];
  const HoldView hold = schedule.seats.FindHold(command.hold);
  if (hold.status == HoldStatus::kNotFound) {
    return MakeReply(command.type, ResultCode::kHoldNotFound);
  }
  uint32_t entry = 0;
  const ResultCode gate = CheckGate(schedule, command.user, command.token, &entry);
  if (gate != ResultCode::kOk) return MakeReply(command.type, gate);
  const ResultCode refusal = HoldRefusal(hold, command.user);
  if (refusal != ResultCode::kOk) return MakeReply(command.type, refusal);

  const PaymentId payment = schedule.seats.next_payment_id();
  const bool local = ShardOfUser(command.user, options_.shard_count) == options_.shard_index;
  if (local && accounts_.CheckDebit(command.user, hold.price) == ResultCode::kOk) {
    // The payer's account is here and covers the price: the whole saga is one
    // event, which also records the reply. The payer's entry was ACTIVE (the
    // gate) and is now DONE, which may admit the next in line.
    Emit(PaymentCompleted{command.schedule, command.hold, payment, command.user, hold.price,
                          command.request_key, fingerprint, now_, entry, 0},
         events);
    ProcessQueue(index, now_, events);
    reply_recorded_ = true;
    return request_results_.Find(command.user, command.request_key)->reply;
  }
  // The payment saga (docs/design.md): pin the hold, debit the payer (here or on the
  // payer's shard), then settle. A local debit that is refused takes the same
  // steps, so the refusal is recorded like a remote one.
  Emit(PaymentStarted{command.schedule, command.hold, payment, command.user, hold.price,
                      command.request_key, fingerprint, entry, 0},
       events);
  const DebitRequest request{command.user, command.schedule, payment, command.hold, hold.price};
  if (!local) {
    ENCORE_CHECK(outbox != nullptr);
    outbox->push_back(request);
    Reply reply = MakeReply(command.type, ResultCode::kPaymentInProgress);
    reply.hold = command.hold;
    reply.payment = payment;
    reply.amount = hold.price;
    return reply;
  }
  bool settled = false;
  const Reply reply = SettlePayment(ApplyDebit(request, now, events), now, events, &settled);
  ENCORE_CHECK(settled);
  reply_recorded_ = true;
  return reply;
}

DebitOutcome CoreState::ApplyDebit(const DebitRequest& request, TimestampMs now,
                                   EventBuffer* events) {
  ENCORE_CHECK(ShardOfUser(request.user, options_.shard_count) == options_.shard_index);
  AdvanceTime(now, events);
  DebitOutcome outcome{request.schedule, request.payment, request.hold, ResultCode::kOk, 0};
  if (!accounts_.HasDebit(request.schedule, request.payment)) {
    outcome.code = accounts_.CheckDebit(request.user, request.amount);
    if (outcome.code == ResultCode::kOk) {
      Emit(AccountDebited{request.user, request.schedule, request.payment, request.hold,
                          request.amount, now_},
           events);
    }
  }
  outcome.balance_after = accounts_.Balance(request.user);
  return outcome;
}

Reply CoreState::SettlePayment(const DebitOutcome& outcome, TimestampMs now, EventBuffer* events,
                               bool* settled) {
  AdvanceTime(now, events);
  *settled = false;
  const uint32_t index = FindSchedule(outcome.schedule);
  if (index == kNoSchedule) return MakeReply(CommandType::kPay, ResultCode::kScheduleNotFound);
  Schedule& schedule = *schedules_[index];
  const PaymentRecord* found = schedule.seats.FindPayment(outcome.payment);
  if (found == nullptr || found->hold != outcome.hold || found->status != PaymentStatus::kStarted) {
    return MakeReply(CommandType::kPay, ResultCode::kAlreadyPaid);
  }
  const PaymentRecord payment = *found;
  Emit(PaymentSettled{outcome.schedule, outcome.hold, outcome.payment, now_, outcome.code, {}},
       events);
  // Paying ends the turn; the token may have expired while the debit ran.
  if (outcome.code == ResultCode::kOk &&
      schedule.queue.StateOf(payment.entry) == QueueState::kActive) {
    Emit(QueueEnded{outcome.schedule, payment.entry, QueueState::kDone, {}}, events);
    ProcessQueue(index, now_, events);
  }
  const Reply reply =
      PayReply(schedule, payment, outcome.payment, outcome.code, outcome.balance_after);
  Emit(RequestRecorded{payment.user, payment.request_key, payment.fingerprint, reply}, events);
  *settled = true;
  return reply;
}

Reply CoreState::PayReply(const Schedule& schedule, const PaymentRecord& payment, PaymentId id,
                          ResultCode code, Points balance) const {
  Reply reply = MakeReply(CommandType::kPay, code);
  reply.hold = payment.hold;
  reply.payment = id;
  reply.amount = payment.amount;
  reply.balance = balance;
  if (code == ResultCode::kOk) {
    reply.seat_count = static_cast<uint8_t>(payment.seat_count);
    reply.queue_state = schedule.queue.StateOf(payment.entry);
  }
  return reply;
}

void CoreState::PaymentsInFlight(std::vector<DebitRequest>* requests) const {
  requests->clear();
  for (const auto& schedule : schedules_) {
    for (PaymentId id = 1; id <= schedule->seats.payment_count(); ++id) {
      const PaymentRecord* payment = schedule->seats.FindPayment(id);
      if (payment->status != PaymentStatus::kStarted) continue;
      requests->push_back(DebitRequest{payment->user, schedule->seats.config().schedule, id,
                                       payment->hold, payment->amount});
    }
  }
}

Reply CoreState::Charge(const Command& command, TimestampMs now, EventBuffer* events) {
  const ResultCode check = accounts_.CheckCharge(command.user, command.amount);
  if (check != ResultCode::kOk) {
    Reply reply = MakeReply(command.type, check);
    reply.balance = accounts_.Balance(command.user);
    return reply;
  }
  Emit(AccountCharged{command.user, command.amount, now}, events);
  Reply reply = MakeReply(command.type, ResultCode::kOk);
  reply.amount = command.amount;
  reply.balance = accounts_.Balance(command.user);
  return reply;
}

}  // namespace encore::internal
