// Accounts: point balances and their ledgers, for the users of one shard.
//
// Check*() functions decide whether a change is allowed and change nothing;
// Apply*() functions perform a change described by an event and refuse one
// that cannot follow the current state (a corrupt log) without changing
// anything.
//
// Each account keeps its newest ledger entries in a ring of its own, grown by
// doubling up to CoreLimits::ledger_entries_max; once full, a new entry takes
// the oldest one's place. The balance and the totals are kept apart from the
// ledger, so forgetting an entry never changes them. Replay forgets the same
// entries, since it adds the same entries under the same limit.
//
// Memory: one index slot per account (48 bytes, at a load of 7/16 .. 7/8),
// and 56 bytes per kept ledger entry plus the ring's growth slack.
#ifndef ENCORE_INTERNAL_ACCOUNTS_H_
#define ENCORE_INTERNAL_ACCOUNTS_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "encore/core.h"
#include "encore/event.h"
#include "encore/result_code.h"

namespace encore::internal {

class Accounts {
 public:
  // REQUIRES: limits are valid (ValidateCoreLimits).
  explicit Accounts(const CoreLimits& limits)
      : accounts_max_(limits.accounts_max), ledger_entries_max_(limits.ledger_entries_max) {}
  Accounts(const Accounts&) = delete;
  Accounts& operator=(const Accounts&) = delete;

  Points Balance(UserId user) const;
  // kInvalidAmount, then kAccountsFull for a new account past accounts_max,
  // then kBalanceOverflow.
  [[nodiscard]] ResultCode CheckCharge(UserId user, Points amount) const;
  [[nodiscard]] ResultCode CheckDebit(UserId user, Points amount) const;
  // True when the debit of (schedule, payment) was made.
  bool HasDebit(ScheduleId schedule, PaymentId payment) const {
    return debits_.contains({schedule, payment});
  }

  [[nodiscard]] absl::Status ApplyCharged(const AccountCharged& event);
  [[nodiscard]] absl::Status ApplyDebited(const AccountDebited& event);
  // The debit of a payment settled in the same step (PaymentCompleted): its
  // key is not kept, since nothing can send it again.
  [[nodiscard]] absl::Status ApplySettledDebit(const AccountDebited& event);

  void Ledger(UserId user, uint64_t before, uint32_t limit, std::vector<LedgerEntry>* entries,
              uint64_t* next_before) const;

  void Save(class SnapshotWriter* writer) const;
  // REQUIRES: empty. False (reader marked failed) on bad input. Loads the
  // layout of snapshot `version` (1: one shared ledger array, 2: a ledger per
  // account); ledgers longer than this core's limit keep their newest entries.
  bool Load(class SnapshotReader* reader, uint16_t version);
  void AddToHash(class StateHasher* hasher) const;
  [[nodiscard]] absl::Status CheckInvariants() const;

  uint64_t account_count() const { return accounts_.size(); }
  // A hint: loads the lines a lookup of `user` will need.
  void Prefetch(UserId user) const { accounts_.prefetch(user); }
  uint64_t ledger_entry_count() const { return ledger_entries_; }
  uint64_t ledger_entries_forgotten() const { return ledger_entries_forgotten_; }
  // Memory estimates from capacities (see CoreStats).
  uint64_t account_state_bytes() const;
  uint64_t ledger_state_bytes() const { return ledger_slots_ * sizeof(LedgerEntry); }
  Points charges_total() const { return charges_total_; }
  Points payments_total() const { return payments_total_; }
  Points balances_total() const { return balances_total_; }

 private:
  struct Account {
    Points balance = 0;
    // Entries ever added: the newest is numbered entry_count, the oldest kept
    // entry_count - kept + 1.
    uint64_t entry_count = 0;
    // A ring of `capacity` entries; the `kept` newest start at slot `oldest`.
    std::unique_ptr<LedgerEntry[]> ledger;
    uint32_t capacity = 0;
    uint32_t kept = 0;
    uint32_t oldest = 0;
    uint32_t unused = 0;

    // i = 0 is the oldest kept entry. REQUIRES: i < kept.
    const LedgerEntry& Kept(uint32_t i) const { return ledger[(oldest + i) % capacity]; }
  };

  void AppendEntry(Account* account, const LedgerEntry& entry);
  // Moves the kept entries into a ring of `capacity` (>= kept), oldest first.
  void Resize(Account* account, uint32_t capacity);
  [[nodiscard]] absl::Status Debit(const AccountDebited& event, bool keep_key);
  bool LoadVersion1(class SnapshotReader* reader);

  uint32_t accounts_max_;
  uint32_t ledger_entries_max_;
  absl::flat_hash_map<UserId, Account> accounts_;
  // Debits made, by (schedule, payment): a re-sent debit is not made twice.
  absl::flat_hash_set<std::pair<ScheduleId, PaymentId>> debits_;
  Points charges_total_ = 0;
  Points payments_total_ = 0;
  Points balances_total_ = 0;
  // Derived: sums over the accounts of kept, entry_count - kept, capacity.
  uint64_t ledger_entries_ = 0;
  uint64_t ledger_entries_forgotten_ = 0;
  uint64_t ledger_slots_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_ACCOUNTS_H_
