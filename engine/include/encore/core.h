// Core: the deterministic state machine of one shard.
//
// The core holds a shard's catalog, seats, holds, admission queues, balances,
// ledgers and idempotency records. It is a pure function of the commands and
// timestamps it is given: no threads, clock reads, I/O, logging or exceptions.
// Apply() writes the events of each state change into the caller's buffer;
// ApplyEvent() replays them, so a core rebuilt from the event stream has the
// same StateHash() as the one that produced it.
//
// Thread safety: none. One thread owns a Core (the shard's single writer).
// Time: the core's time never goes back. A `now` earlier than the latest it has
// seen counts as that latest one (a wall clock can step back, and a restarted
// shard resumes at its snapshot's time), so nothing fires or is undone by it.
#ifndef ENCORE_CORE_H_
#define ENCORE_CORE_H_

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "encore/command.h"
#include "encore/event_buffer.h"
#include "encore/reply.h"
#include "encore/snapshot_buffer.h"
#include "encore/types.h"

namespace encore {

namespace internal {
class CoreState;
}

// Which shard owns a schedule (its seats, holds and queue) and which owns a
// user (balance and ledger), among `shard_count` shards.
uint32_t ShardOfSchedule(ScheduleId schedule, uint32_t shard_count);
uint32_t ShardOfUser(UserId user, uint32_t shard_count);

// The debit a payment's schedule side asks of the payer's side (the saga of
// docs/design.md). (schedule, payment) is its idempotency key.
struct DebitRequest {
  UserId user = 0;
  ScheduleId schedule = 0;
  PaymentId payment = 0;
  HoldId hold = 0;
  Points amount = 0;
};

// The payer's side's answer: kOk (debited, now or before), or the refusal.
struct DebitOutcome {
  ScheduleId schedule = 0;
  PaymentId payment = 0;
  HoldId hold = 0;
  ResultCode code = ResultCode::kOk;
  Points balance_after = 0;
};

// How much state clients can make one shard hold: every structure a command
// can grow is bounded here or by the idempotency window. A limit decides
// only whether a new command may grow the state; events already recorded are
// replayed whatever the limits (a limit lowered across a restart refuses new
// growth until the state is under it again, and drops nothing, except ledger
// entries past ledger_entries_max: see below). Sizing: docs/operations.md.
struct CoreLimits {
  static constexpr uint32_t kAccountsMaxLimit = 1u << 30;
  static constexpr uint32_t kLedgerEntriesMaxLimit = 1u << 20;

  // WAITING entries in one schedule's queue. Past it, ENTER_QUEUE answers
  // kQueueFull and changes nothing. Default 10,000,000; range 1 ..
  // kQueueEntriesMax.
  uint32_t queue_waiting_max = 10'000'000;
  // Entries one schedule's queue makes over its life (each ENTER_QUEUE after
  // leaving or expiring makes a new one, and entries are never reused).
  // Past it, kQueueFull. Default and upper bound kQueueEntriesMax.
  uint32_t queue_entries_max = kQueueEntriesMax;
  // Accounts (users with a balance or ledger) of one shard. A CHARGE that
  // would open one more is refused with kAccountsFull and changes nothing;
  // existing accounts go on as before. Default 10,000,000; range 1 ..
  // kAccountsMaxLimit (2^30).
  uint32_t accounts_max = 10'000'000;
  // Ledger entries kept per account. The ledger is a history, and a full one
  // must not stop payments: past the limit the oldest entry is forgotten
  // when a new one is added. Balances and totals stay exact (they are kept
  // apart from the ledger) and entry numbers keep counting, so a reader can
  // tell how many were forgotten (the oldest kept is numbered past 1).
  // Default 1,000; range 1 .. kLedgerEntriesMaxLimit (2^20).
  uint32_t ledger_entries_max = 1'000;
};

// OK, or InvalidArgument naming the first field out of range (with `prefix`
// before its name, e.g. "EngineOptions.limits.").
[[nodiscard]] absl::Status ValidateCoreLimits(const CoreLimits& limits, const char* prefix);

struct CoreOptions {
  static constexpr uint32_t kRequestResultsMaxLimit = 1u << 26;

  // This core's shard among shard_count (see ShardOfUser). A payment whose
  // payer lives on another shard is not finished in Apply: its debit goes to
  // the outbox. Default: 0 of 1, so everything is local.
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  // Secret key of the queue-token MAC. Must be random and kept (the runtime
  // draws it once from the OS CSPRNG and stores it with the data). Default:
  // all zero, which is only fit for tests.
  std::array<uint64_t, 2> token_key{};
  // Idempotency window: how many request results the core keeps for repeats.
  // The oldest is forgotten first. Default 262,144; range 1 ..
  // kRequestResultsMaxLimit (2^26).
  uint32_t request_results_max = 1u << 18;
  // REQUIRES: valid (ValidateCoreLimits).
  CoreLimits limits;
};

inline constexpr TimestampMs kNoDeadline = std::numeric_limits<TimestampMs>::max();

// X(enumerator, value, name, wire name), as the other lists (result_code.h):
// `name` is how tools print it, `wire name` its value in net/schema/encore.fbs.
#define ENCORE_SEAT_STATES(X)              \
  X(kAvailable, 0, "AVAILABLE", Available) \
  X(kHeld, 1, "HELD", Held)                \
  X(kSold, 2, "SOLD", Sold)

enum class SeatState : uint8_t {
#define ENCORE_X(enumerator, value, name, wire_name) enumerator = value,
  ENCORE_SEAT_STATES(ENCORE_X)
#undef ENCORE_X
};

// The wire's LedgerEntryType also has Unknown = 0, which no entry has.
#define ENCORE_LEDGER_ENTRY_TYPES(X) \
  X(kCharge, 1, "CHARGE", Charge)    \
  X(kPayment, 2, "PAYMENT", Payment) \
  X(kRefund, 3, "REFUND", Refund)

enum class LedgerEntryType : uint8_t {
#define ENCORE_X(enumerator, value, name, wire_name) enumerator = value,
  ENCORE_LEDGER_ENTRY_TYPES(ENCORE_X)
#undef ENCORE_X
};

// "SOLD", "CHARGE", ...; "UNKNOWN" outside the enum.
std::string_view SeatStateName(SeatState state);
std::string_view LedgerEntryTypeName(LedgerEntryType type);

struct LedgerEntry {
  // Positive for a charge or refund, negative for a payment.
  Points amount;
  Points balance_after;
  TimestampMs at_ms;
  // kPayment: which payment.
  ScheduleId schedule;
  PaymentId payment;
  HoldId hold;
  LedgerEntryType type;
  uint8_t reserved[7];
};

struct ScheduleInfo {
  ScheduleConfig config;
  uint32_t seats_available;
  uint32_t seats_held;
  uint32_t seats_sold;
  uint64_t queue_waiting;
  uint64_t queue_active;
};

struct CoreStats {
  uint64_t concerts = 0;
  uint64_t schedules = 0;
  uint64_t seats = 0;
  uint64_t seats_held = 0;
  uint64_t seats_sold = 0;
  uint64_t holds_live = 0;
  uint64_t payments = 0;
  uint64_t accounts = 0;
  // Ledger entries kept, and forgotten past CoreLimits::ledger_entries_max.
  uint64_t ledger_entries = 0;
  uint64_t ledger_entries_forgotten = 0;
  uint64_t queue_waiting = 0;
  uint64_t queue_active = 0;
  uint64_t request_results = 0;
  Points balances_total = 0;
  Points charges_total = 0;
  // Debited from this shard's accounts (the payer side of payments).
  Points payments_total = 0;
  // Paid for this shard's seats (the schedule side). Summed over all shards,
  // the two totals are equal once no payment is in flight.
  Points sold_payments_total = 0;
  // Memory by part, in bytes, from the containers' capacities (an estimate:
  // allocator overhead is not counted). Seats: the per-seat arrays. Holds:
  // live holds, each hold's fate and owner, payments, per-user seat counts.
  // Accounts: the account index and the debit keys. Ledgers: the entries.
  // Queue: every schedule's queue. Request results: the idempotency window.
  uint64_t seat_state_bytes = 0;
  uint64_t hold_state_bytes = 0;
  uint64_t account_state_bytes = 0;
  uint64_t ledger_state_bytes = 0;
  uint64_t queue_state_bytes = 0;
  uint64_t request_result_bytes = 0;
};

class Core {
 public:
  explicit Core(const CoreOptions& options);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Runs one command at `now`: first ends whatever is due at `now` (holds,
  // queue entries) and admits from the queues, then applies the command.
  // Appends every resulting event to `events`.
  //
  // A PAY whose payer lives on another shard pins the hold, appends its
  // DebitRequest to `outbox` and returns kPaymentInProgress: its real reply
  // comes from SettlePayment(). REQUIRES: outbox != nullptr when
  // shard_count > 1.
  Reply Apply(const Command& command, TimestampMs now, EventBuffer* events,
              std::vector<DebitRequest>* outbox = nullptr);

  // A hint, no effect on state: starts loading into the cache what Apply()
  // of this command looks up first (its request key's index bucket). A
  // runtime calls it for a whole batch before applying it, so the lookups'
  // cache misses overlap instead of following one another.
  void Prefetch(const Command& command) const;

  // The payer's side of a payment: debits once per (schedule, payment); a
  // repeat answers kOk without a second debit. REQUIRES: the user is local.
  DebitOutcome ApplyDebit(const DebitRequest& request, TimestampMs now, EventBuffer* events);

  // The schedule side's last step: sells the seats (kOk) or unpins the hold,
  // records the PAY's result for its request key, and returns the reply the
  // payer gets. A second outcome for a settled payment is ignored
  // (`*settled` = false).
  Reply SettlePayment(const DebitOutcome& outcome, TimestampMs now, EventBuffer* events,
                      bool* settled);

  // Payments pinned and not settled: after a restart their debits are sent
  // again (the debit is idempotent, so a debit made before the crash is not
  // made twice).
  void PaymentsInFlight(std::vector<DebitRequest>* requests) const;

  // Ends whatever is due at or before `now` and admits from the queues.
  void AdvanceTime(TimestampMs now, EventBuffer* events);

  // When the next timed change (hold deadline, heartbeat drop, token expiry,
  // admission window) is due; kNoDeadline when none is pending. A runtime
  // calls AdvanceTime() by then.
  TimestampMs NextDeadlineMs() const;

  // Replays one recorded event. An event that cannot follow the current state
  // (a corrupted or reordered log) is refused with kDataLoss and changes
  // nothing.
  [[nodiscard]] absl::Status ApplyEvent(const EventView& event);
  [[nodiscard]] absl::Status ApplyEvents(const EventBuffer& events);

  // A snapshot: the whole state as bytes (versioned, see docs/persistence.md).
  // Loading it into a new core gives the same StateHash(). Cost: a copy of
  // the state (about 8 bytes per seat and per-entry records), no events.
  void SaveSnapshot(std::vector<uint8_t>* out) const;
  // The same bytes into `out`, replacing what it held. A runtime that keeps
  // one SnapshotBuffer across snapshots reuses its memory (snapshot_buffer.h).
  void SaveSnapshot(SnapshotBuffer* out) const;
  // REQUIRES: a new core (nothing applied yet), made with the same options.
  // A truncated, corrupted or unknown-version snapshot is refused with
  // DataLoss (the core is then unusable: make a new one).
  [[nodiscard]] absl::Status LoadSnapshot(std::span<const uint8_t> snapshot);

  // A 64-bit hash of the whole logical state. Equal for equal states
  // regardless of how they were reached (live or replayed).
  uint64_t StateHash() const;

  // Checks the invariants: per schedule available + held + sold == seats, each
  // seat in at most one hold, sold seats == seats of paid holds; balances >= 0
  // and sum(balances) + sum(payments) == sum(charges); queue counts agree.
  [[nodiscard]] absl::Status CheckInvariants() const;

  CoreStats Stats() const;

  // Reads. Those of a schedule take the user's queue token: the same gate as a
  // hold (the result is kOk or the gate's refusal).
  ResultCode SeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                     std::vector<SeatState>* seats) const;
  // Admin and test view of a seat map; no gate.
  ResultCode SeatMapUnchecked(ScheduleId schedule, std::vector<SeatState>* seats) const;
  ResultCode GetSchedule(ScheduleId schedule, ScheduleInfo* info) const;
  // Schedule ids of a concert, ascending.
  ResultCode ListSchedules(ConcertId concert, std::vector<ScheduleId>* schedules) const;
  // Every schedule this core owns, in creation order (replaces *schedules).
  void ScheduleIds(std::vector<ScheduleId>* schedules) const;
  Points Balance(UserId user) const;
  // Newest first: up to `limit` entries older than `before` (0 = from the newest).
  // Entries are numbered from 1 per user; `next_before` is the cursor of the next page
  // (0 when there is none).
  void Ledger(UserId user, uint64_t before, uint32_t limit, std::vector<LedgerEntry>* entries,
              uint64_t* next_before) const;

 private:
  std::unique_ptr<internal::CoreState> state_;
};

}  // namespace encore

#endif  // ENCORE_CORE_H_
