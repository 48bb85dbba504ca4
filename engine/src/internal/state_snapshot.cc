// Save and Load of each part of a core's state, for snapshots. Loads check
// sizes and ranges; the core runs CheckInvariants() on the whole afterwards.
#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "internal/accounts.h"
#include "internal/admission_queue.h"
#include "internal/check.h"
#include "internal/request_results.h"
#include "internal/schedule_seats.h"
#include "internal/snapshot_codec.h"

namespace encore::internal {
namespace {

// Upper bounds for counts read from a snapshot, so a corrupt count cannot ask
// for absurd memory before the size check against the input catches it.
constexpr uint64_t kCountMax = uint64_t{1} << 40;

// A u64 count, then (user, count) pairs, in no order.
void SaveUserCounts(SnapshotWriter* writer, const UserCounts& counts) {
  writer->Put<uint64_t>(counts.size());
  counts.ForEach([writer](UserId user, uint32_t count) {
    writer->Put(user);
    writer->Put(count);
  });
}

// What SaveUserCounts wrote; a count of 0 or a user twice is corrupt.
bool LoadUserCounts(SnapshotReader* reader, UserCounts* counts) {
  uint64_t size = 0;
  if (!reader->GetCount(&size, sizeof(UserId) + sizeof(uint32_t))) return false;
  counts->Reserve(size);
  for (uint64_t i = 0; i < size; ++i) {
    UserId user;
    uint32_t count;
    if (!reader->Get(&user) || !reader->Get(&count)) return false;
    if (!counts->Insert(user, count)) return reader->Fail();
  }
  return true;
}

}  // namespace

// Version 2: u64 n, each account: u64 user | i64 balance | u64 entry_count |
// u32 kept | u32 0 | kept entries, oldest first. Then the debit keys and the
// totals.
void Accounts::Save(SnapshotWriter* writer) const {
  writer->Put<uint64_t>(accounts_.size());
  for (const auto& [user, account] : accounts_) {
    writer->Put(user);
    writer->Put(account.balance);
    writer->Put(account.entry_count);
    writer->Put(account.kept);
    writer->Put<uint32_t>(0);
    for (uint32_t i = 0; i < account.kept; ++i) writer->Put(account.Kept(i));
  }
  writer->Put<uint64_t>(debits_.size());
  for (const auto& [schedule, payment] : debits_) {
    writer->Put(schedule);
    writer->Put(payment);
  }
  writer->Put(charges_total_);
  writer->Put(payments_total_);
  writer->Put(balances_total_);
}

bool Accounts::Load(SnapshotReader* reader, uint16_t version) {
  if (version == 1) return LoadVersion1(reader);
  uint64_t count = 0;
  if (!reader->GetCount(&count, sizeof(UserId) + 3 * sizeof(uint64_t))) return false;
  accounts_.reserve(count);
  std::vector<LedgerEntry> ledger;
  for (uint64_t i = 0; i < count; ++i) {
    UserId user;
    Account account;
    uint32_t kept = 0;
    uint32_t zero = 0;
    if (!reader->Get(&user) || !reader->Get(&account.balance) ||
        !reader->Get(&account.entry_count) || !reader->Get(&kept) || !reader->Get(&zero)) {
      return false;
    }
    if (zero != 0 || kept == 0 || kept > account.entry_count) return reader->Fail();
    // Bounded by what is left of the input before anything is allocated.
    if (!reader->HasRoom(kept, sizeof(LedgerEntry))) return false;
    ledger.resize(kept);
    for (LedgerEntry& entry : ledger) {
      if (!reader->Get(&entry)) return false;
    }
    const uint32_t keep = std::min(kept, ledger_entries_max_);
    Resize(&account, keep);
    for (uint32_t e = kept - keep; e < kept; ++e) account.ledger[account.kept++] = ledger[e];
    ledger_entries_ += account.kept;
    ledger_entries_forgotten_ += account.entry_count - account.kept;
    auto [it, inserted] = accounts_.try_emplace(user, std::move(account));
    if (!inserted) return reader->Fail();
  }
  if (!reader->GetCount(&count, sizeof(ScheduleId) + sizeof(PaymentId))) return false;
  for (uint64_t i = 0; i < count; ++i) {
    ScheduleId schedule;
    PaymentId payment;
    if (!reader->Get(&schedule) || !reader->Get(&payment)) return false;
    debits_.insert({schedule, payment});
  }
  return reader->Get(&charges_total_) && reader->Get(&payments_total_) &&
         reader->Get(&balances_total_);
}

// Version 1: the accounts (u64 user | i64 balance | u64 newest entry index |
// u64 entry_count), the debit keys, then one array of every account's
// entries (entry | user | number | index of the user's older entry), then
// the totals. Each account's chain is walked newest first and kept oldest
// first.
bool Accounts::LoadVersion1(SnapshotReader* reader) {
  constexpr uint64_t kNone = UINT64_MAX;
  struct OldAccount {
    UserId user;
    Points balance;
    uint64_t newest_entry;
    uint64_t entry_count;
  };
  struct OldEntry {
    LedgerEntry entry;
    UserId user;
    uint64_t number;
    uint64_t previous_entry;
  };
  static_assert(sizeof(OldEntry) == 80);
  uint64_t count = 0;
  if (!reader->GetCount(&count, sizeof(OldAccount))) return false;
  std::vector<OldAccount> old_accounts(count);
  for (OldAccount& old : old_accounts) {
    if (!reader->Get(&old.user) || !reader->Get(&old.balance) || !reader->Get(&old.newest_entry) ||
        !reader->Get(&old.entry_count)) {
      return false;
    }
  }
  if (!reader->GetCount(&count, sizeof(ScheduleId) + sizeof(PaymentId))) return false;
  for (uint64_t i = 0; i < count; ++i) {
    ScheduleId schedule;
    PaymentId payment;
    if (!reader->Get(&schedule) || !reader->Get(&payment)) return false;
    debits_.insert({schedule, payment});
  }
  std::vector<OldEntry> entries;
  if (!reader->GetVector(&entries, kCountMax)) return false;
  accounts_.reserve(old_accounts.size());
  std::vector<LedgerEntry> chain;
  for (const OldAccount& old : old_accounts) {
    chain.clear();
    for (uint64_t index = old.newest_entry; index != kNone; index = entries[index].previous_entry) {
      // A chain that leaves the array, or is longer than the array (a cycle).
      if (index >= entries.size() || chain.size() >= entries.size() ||
          entries[index].user != old.user) {
        return reader->Fail();
      }
      chain.push_back(entries[index].entry);
    }
    if (chain.empty() || chain.size() != old.entry_count) return reader->Fail();
    Account account;
    account.balance = old.balance;
    account.entry_count = old.entry_count;
    const uint32_t keep =
        static_cast<uint32_t>(std::min<uint64_t>(chain.size(), ledger_entries_max_));
    Resize(&account, keep);
    for (uint32_t i = keep; i > 0; --i) account.ledger[account.kept++] = chain[i - 1];
    ledger_entries_ += account.kept;
    ledger_entries_forgotten_ += account.entry_count - account.kept;
    if (!accounts_.try_emplace(old.user, std::move(account)).second) return reader->Fail();
  }
  return reader->Get(&charges_total_) && reader->Get(&payments_total_) &&
         reader->Get(&balances_total_);
}

void ScheduleSeats::Save(SnapshotWriter* writer) const {
  writer->PutVector(seat_slot_);
  writer->PutVector(next_seat_);
  writer->PutVector(holds_);
  writer->PutVector(free_holds_);
  writer->PutVector(hold_slots_);
  writer->PutVector(hold_owners_);
  writer->PutVector(payments_);
  SaveUserCounts(writer, user_seats_);
  writer->Put(seats_held_);
  writer->Put(seats_sold_);
  writer->Put(payments_completed_);
  writer->Put(payments_total_);
}

bool ScheduleSeats::Load(SnapshotReader* reader) {
  const uint64_t seats = config_.seat_count;
  if (!reader->GetVector(&seat_slot_, seats) || !reader->GetVector(&next_seat_, seats) ||
      seat_slot_.size() != seats || next_seat_.size() != seats ||
      !reader->GetVector(&holds_, seats) || !reader->GetVector(&free_holds_, seats) ||
      !reader->GetVector(&hold_slots_, kCountMax) || !reader->GetVector(&hold_owners_, kCountMax) ||
      !reader->GetVector(&payments_, kCountMax) || hold_owners_.size() != hold_slots_.size() ||
      !LoadUserCounts(reader, &user_seats_)) {
    return reader->Fail();
  }
  // Every index must point inside its array; the core then checks the rest.
  for (uint32_t seat = 0; seat < seats; ++seat) {
    const uint32_t slot = seat_slot_[seat];
    if (slot != 0 && (slot & kSoldBit) == 0 && slot > holds_.size()) return reader->Fail();
    if ((slot & kSoldBit) != 0 && (slot & ~kSoldBit) >= payments_.size()) return reader->Fail();
    if (next_seat_[seat] != kNoSeat && next_seat_[seat] >= seats) return reader->Fail();
  }
  for (const Hold& hold : holds_) {
    if (hold.id > hold_slots_.size() || (hold.id != 0 && hold.first_seat >= seats)) {
      return reader->Fail();
    }
  }
  for (uint32_t slot : free_holds_) {
    if (slot >= holds_.size()) return reader->Fail();
  }
  for (uint32_t slot : hold_slots_) {
    if (slot < kFateBase && slot >= holds_.size()) return reader->Fail();
  }
  return reader->Get(&seats_held_) && reader->Get(&seats_sold_) &&
         reader->Get(&payments_completed_) && reader->Get(&payments_total_);
}

void AdmissionQueue::Save(SnapshotWriter* writer) const {
  writer->Put(policy_);
  writer->PutVector(entries_);
  writer->PutVector(waiting_flags_.nodes());
  writer->Put(waiting_list_);
  writer->Put(active_list_);
  writer->Put(admit_cursor_);
  writer->Put(window_admitted_);
  writer->Put(waiting_);
  writer->Put(active_);
  writer->Put(window_start_ms_);
  writer->Put(admit_times_ms_);
  writer->Put(admissions_);
}

bool AdmissionQueue::Load(SnapshotReader* reader) {
  if (!reader->Get(&policy_) || !reader->GetVector(&entries_, kQueueEntriesMax) ||
      !reader->GetVector(waiting_flags_.mutable_nodes(), kQueueEntriesMax) ||
      waiting_flags_.size() != entries_.size() || !reader->Get(&waiting_list_) ||
      !reader->Get(&active_list_) || !reader->Get(&admit_cursor_) ||
      !reader->Get(&window_admitted_) || !reader->Get(&waiting_) || !reader->Get(&active_) ||
      !reader->Get(&window_start_ms_) || !reader->Get(&admit_times_ms_) ||
      !reader->Get(&admissions_)) {
    return reader->Fail();
  }
  const uint32_t count = entry_count();
  auto valid = [count](uint32_t entry) { return entry == kNoEntry || entry < count; };
  for (const Entry& entry : entries_) {
    if (!valid(entry.previous) || !valid(entry.next_and_state & kNextMask)) return reader->Fail();
  }
  // The user index is derived: each user's latest entry.
  entry_of_user_.reserve(count);
  for (uint32_t entry = 0; entry < count; ++entry) {
    auto it = entry_of_user_.find(UserKey{entries_[entry].user});
    if (it != entry_of_user_.end()) entry_of_user_.erase(it);
    entry_of_user_.insert(entry);
  }
  if (!valid(waiting_list_.head) || !valid(waiting_list_.tail) || !valid(active_list_.head) ||
      !valid(active_list_.tail) || admit_cursor_ > count) {
    return reader->Fail();
  }
  return true;
}

// The full records (the bytes of a std::vector<RequestRecorded>), in slot order.
void RequestResults::Save(SnapshotWriter* writer) const {
  writer->Put(oldest_);
  writer->Put<uint64_t>(ring_.size());
  for (uint32_t slot = 0; slot < ring_.size(); ++slot) writer->Put(Get(slot));
}

bool RequestResults::Load(SnapshotReader* reader, size_t record_bytes) {
  ENCORE_CHECK(record_bytes <= sizeof(RequestRecorded));
  uint32_t oldest = 0;
  uint64_t count = 0;
  if (!reader->Get(&oldest) || !reader->GetCount(&count, record_bytes) ||
      count > CoreOptions::kRequestResultsMaxLimit) {
    return reader->Fail();
  }
  std::vector<RequestRecorded> saved(count);
  for (RequestRecorded& record : saved) {
    if (!reader->GetBytes(&record, record_bytes)) return reader->Fail();
  }
  if (saved.empty() ? oldest != 0 : oldest >= saved.size()) return reader->Fail();
  // The snapshot may come from a core with another window (the operator
  // changed it between runs): keep the newest records that fit, oldest
  // first. With the same window this is the saved ring, in age order.
  std::rotate(saved.begin(), saved.begin() + oldest, saved.end());
  const size_t keep = std::min<size_t>(saved.size(), capacity_);
  if (keep < saved.size()) {
    saved.erase(saved.begin(), saved.end() - static_cast<std::ptrdiff_t>(keep));
    saved.shrink_to_fit();
  }
  ring_.assign(saved.size(), Stored{});
  for (uint32_t slot = 0; slot < saved.size(); ++slot) Put(slot, saved[slot]);
  oldest_ = 0;
  uint64_t buckets = kInitialBuckets;
  while (buckets < uint64_t{ring_.size()} * 2) buckets *= 2;
  Rehash(buckets);
  for (uint32_t slot = 0; slot < ring_.size(); ++slot) {
    const RequestRecorded& record = saved[slot];
    const uint32_t hash = static_cast<uint32_t>(Hash(record.user, record.key));
    if (record.key == 0 || index_[Probe(record.user, record.key, hash)].slot_plus_one != 0) {
      return reader->Fail();
    }
    Insert(hash, slot);
  }
  return true;
}

}  // namespace encore::internal
