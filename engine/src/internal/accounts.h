// Accounts: point balances and their ledgers, for the users of one shard.
//
// Check*() functions decide whether a change is allowed and change nothing;
// Apply*() functions perform a change described by an event and refuse one
// that cannot follow the current state (a corrupt log) without changing
// anything. Ledgers share one append-only array; each account links its
// entries newest first.
#ifndef ENCORE_INTERNAL_ACCOUNTS_H_
#define ENCORE_INTERNAL_ACCOUNTS_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "encore/core.h"
#include "encore/event.h"
#include "encore/result_code.h"
#include "internal/chunked_vector.h"

namespace encore::internal {

class Accounts {
 public:
  Points Balance(UserId user) const;
  ResultCode CheckCharge(UserId user, Points amount) const;
  ResultCode CheckDebit(UserId user, Points amount) const;
  // True when the debit of (schedule, payment) was made.
  bool HasDebit(ScheduleId schedule, PaymentId payment) const {
    return debits_.contains({schedule, payment});
  }

  absl::Status ApplyCharged(const AccountCharged& event);
  absl::Status ApplyDebited(const AccountDebited& event);
  // The debit of a payment settled in the same step (PaymentCompleted): its
  // key is not kept, since nothing can send it again.
  absl::Status ApplySettledDebit(const AccountDebited& event);

  void Ledger(UserId user, uint64_t before, uint32_t limit, std::vector<LedgerEntry>* entries,
              uint64_t* next_before) const;

  void Save(class SnapshotWriter* writer) const;
  // REQUIRES: empty. False (reader marked failed) on bad input.
  bool Load(class SnapshotReader* reader);
  void AddToHash(class StateHasher* hasher) const;
  absl::Status CheckInvariants() const;

  uint64_t account_count() const { return accounts_.size(); }
  // A hint: loads the lines a lookup of `user` will need.
  void Prefetch(UserId user) const { accounts_.prefetch(user); }
  uint64_t ledger_entry_count() const { return entries_.size(); }
  Points charges_total() const { return charges_total_; }
  Points payments_total() const { return payments_total_; }
  Points balances_total() const { return balances_total_; }

 private:
  static constexpr uint64_t kNoEntry = UINT64_MAX;

  struct Account {
    Points balance = 0;
    uint64_t newest_entry = kNoEntry;  // Index into entries_.
    uint64_t entry_count = 0;
  };
  struct StoredEntry {
    LedgerEntry entry;
    UserId user;
    uint64_t number;          // 1-based, per user.
    uint64_t previous_entry;  // Index of the user's older entry, or kNoEntry.
  };

  void AppendEntry(UserId user, Account* account, const LedgerEntry& entry);
  absl::Status Debit(const AccountDebited& event, bool keep_key);

  absl::flat_hash_map<UserId, Account> accounts_;
  // Debits made, by (schedule, payment): a re-sent debit is not made twice.
  absl::flat_hash_set<std::pair<ScheduleId, PaymentId>> debits_;
  ChunkedVector<StoredEntry> entries_;
  Points charges_total_ = 0;
  Points payments_total_ = 0;
  Points balances_total_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_ACCOUNTS_H_
