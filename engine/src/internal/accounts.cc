#include "internal/accounts.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "internal/state_hasher.h"

namespace encore::internal {

Points Accounts::Balance(UserId user) const {
  auto it = accounts_.find(user);
  return it == accounts_.end() ? 0 : it->second.balance;
}

ResultCode Accounts::CheckCharge(UserId user, Points amount) const {
  if (amount <= 0 || amount > kChargeAmountMax) return ResultCode::kInvalidAmount;
  auto it = accounts_.find(user);
  if (it == accounts_.end()) {
    return accounts_.size() >= accounts_max_ ? ResultCode::kAccountsFull : ResultCode::kOk;
  }
  // Both terms are bounded far below INT64_MAX, so the sum cannot overflow.
  if (it->second.balance + amount > kBalanceMax) return ResultCode::kBalanceOverflow;
  return ResultCode::kOk;
}

ResultCode Accounts::CheckDebit(UserId user, Points amount) const {
  if (amount <= 0) return ResultCode::kInvalidAmount;
  if (Balance(user) < amount) return ResultCode::kInsufficientBalance;
  return ResultCode::kOk;
}

void Accounts::Resize(Account* account, uint32_t capacity) {
  auto ledger = std::make_unique_for_overwrite<LedgerEntry[]>(capacity);
  for (uint32_t i = 0; i < account->kept; ++i) ledger[i] = account->Kept(i);
  ledger_slots_ += capacity;
  ledger_slots_ -= account->capacity;
  account->ledger = std::move(ledger);
  account->capacity = capacity;
  account->oldest = 0;
}

void Accounts::AppendEntry(Account* account, const LedgerEntry& entry) {
  ++account->entry_count;
  if (account->kept == account->capacity && account->capacity < ledger_entries_max_) {
    const uint64_t doubled = std::max<uint64_t>(2 * uint64_t{account->capacity}, 1);
    Resize(account, static_cast<uint32_t>(std::min<uint64_t>(doubled, ledger_entries_max_)));
  }
  if (account->kept < account->capacity) {
    account->ledger[(account->oldest + account->kept) % account->capacity] = entry;
    ++account->kept;
    ++ledger_entries_;
    return;
  }
  // Full: the newest takes the oldest's slot.
  account->ledger[account->oldest] = entry;
  account->oldest = (account->oldest + 1) % account->capacity;
  ++ledger_entries_forgotten_;
}

uint64_t Accounts::account_state_bytes() const {
  // flat_hash_map / flat_hash_set: one slot and one control byte per bucket.
  return accounts_.bucket_count() * (sizeof(std::pair<const UserId, Account>) + 1) +
         debits_.bucket_count() * (sizeof(std::pair<ScheduleId, PaymentId>) + 1);
}

absl::Status Accounts::ApplyCharged(const AccountCharged& event) {
  auto refuse = [&] {
    return absl::DataLossError(absl::StrCat("ACCOUNT_CHARGED for user ", event.user,
                                            " cannot apply: amount ", event.amount, " on balance ",
                                            Balance(event.user)));
  };
  if (event.amount <= 0 || event.amount > kChargeAmountMax) return refuse();
  // One lookup: the account is found or made, and dropped again if refused.
  auto [it, inserted] = accounts_.try_emplace(event.user);
  Account& account = it->second;
  if (account.balance + event.amount > kBalanceMax) {
    if (inserted) accounts_.erase(it);
    return refuse();
  }
  account.balance += event.amount;
  charges_total_ += event.amount;
  balances_total_ += event.amount;
  AppendEntry(
      &account,
      LedgerEntry{
          event.amount, account.balance, event.at_ms, 0, 0, 0, LedgerEntryType::kCharge, {}});
  return absl::OkStatus();
}

absl::Status Accounts::ApplyDebited(const AccountDebited& event) {
  return Debit(event, /*keep_key=*/true);
}

absl::Status Accounts::ApplySettledDebit(const AccountDebited& event) {
  return Debit(event, /*keep_key=*/false);
}

absl::Status Accounts::Debit(const AccountDebited& event, bool keep_key) {
  auto it = accounts_.find(event.user);
  if (event.amount <= 0 || it == accounts_.end() || it->second.balance < event.amount ||
      (keep_key && !debits_.insert({event.schedule, event.payment}).second)) {
    return absl::DataLossError(absl::StrCat("ACCOUNT_DEBITED for user ", event.user, " payment ",
                                            event.payment, " cannot apply: amount ", event.amount,
                                            " on balance ", Balance(event.user),
                                            " (or debited twice)"));
  }
  Account& account = it->second;
  account.balance -= event.amount;
  payments_total_ += event.amount;
  balances_total_ -= event.amount;
  AppendEntry(&account, LedgerEntry{-event.amount,
                                    account.balance,
                                    event.at_ms,
                                    event.schedule,
                                    event.payment,
                                    event.hold,
                                    LedgerEntryType::kPayment,
                                    {}});
  return absl::OkStatus();
}

void Accounts::Ledger(UserId user, uint64_t before, uint32_t limit,
                      std::vector<LedgerEntry>* entries, uint64_t* next_before) const {
  entries->clear();
  *next_before = 0;
  auto it = accounts_.find(user);
  if (it == accounts_.end()) return;
  const Account& account = it->second;
  // Entry number n is kept at Kept(n - first), for first <= n <= entry_count.
  const uint64_t first = account.entry_count - account.kept + 1;
  uint64_t number = before == 0 ? account.entry_count : std::min(before - 1, account.entry_count);
  for (; number >= first && entries->size() < limit; --number) {
    entries->push_back(account.Kept(static_cast<uint32_t>(number - first)));
  }
  // The next page starts at the first entry not returned (0: none left).
  *next_before = number >= first ? number + 1 : 0;
}

void Accounts::AddToHash(StateHasher* hasher) const {
  StateHasher accounts_hasher;
  for (const auto& [user, account] : accounts_) {
    StateHasher account_hasher;
    account_hasher.Add(user);
    account_hasher.AddSigned(account.balance);
    account_hasher.Add(account.entry_count);
    account_hasher.Add(account.kept);
    for (uint32_t i = 0; i < account.kept; ++i) {
      const LedgerEntry& entry = account.Kept(i);
      account_hasher.Add(static_cast<uint64_t>(entry.type));
      account_hasher.AddSigned(entry.amount);
      account_hasher.AddSigned(entry.balance_after);
      account_hasher.AddSigned(entry.at_ms);
      account_hasher.Add(entry.schedule);
      account_hasher.Add(entry.payment);
      account_hasher.Add(entry.hold);
    }
    accounts_hasher.AddUnordered(account_hasher.Finish());
  }
  hasher->Add(accounts_hasher.Finish());
  hasher->AddSigned(charges_total_);
  hasher->AddSigned(payments_total_);
}

absl::Status Accounts::CheckInvariants() const {
  Points sum = 0;
  uint64_t kept = 0;
  uint64_t forgotten = 0;
  uint64_t slots = 0;
  for (const auto& [user, account] : accounts_) {
    if (account.balance < 0) {
      return absl::InternalError(
          absl::StrCat("user ", user, " has negative balance ", account.balance));
    }
    sum += account.balance;
    // Every account was opened by a charge, so it keeps at least one entry,
    // and its kept entries chain from one balance to the next up to its own.
    if (account.kept == 0 || account.kept > account.capacity ||
        account.capacity > ledger_entries_max_ || account.kept > account.entry_count ||
        account.oldest >= account.capacity) {
      return absl::InternalError(absl::StrCat("user ", user, " ledger keeps ", account.kept, " of ",
                                              account.entry_count, " entries in ", account.capacity,
                                              " slots"));
    }
    for (uint32_t i = 1; i < account.kept; ++i) {
      if (account.Kept(i).balance_after !=
          account.Kept(i - 1).balance_after + account.Kept(i).amount) {
        return absl::InternalError(absl::StrCat("user ", user, " ledger entry ",
                                                account.entry_count - account.kept + 1 + i,
                                                " does not follow from the one before"));
      }
    }
    if (account.Kept(account.kept - 1).balance_after != account.balance) {
      return absl::InternalError(absl::StrCat("user ", user, " balance ", account.balance,
                                              " is not its newest ledger entry's"));
    }
    kept += account.kept;
    forgotten += account.entry_count - account.kept;
    slots += account.capacity;
  }
  if (kept != ledger_entries_ || forgotten != ledger_entries_forgotten_ || slots != ledger_slots_) {
    return absl::InternalError("ledger counts disagree with the accounts");
  }
  if (sum != balances_total_) {
    return absl::InternalError(
        absl::StrCat("sum of balances ", sum, " != tracked total ", balances_total_));
  }
  if (sum + payments_total_ != charges_total_) {
    return absl::InternalError(absl::StrCat("points not conserved: balances ", sum, " + payments ",
                                            payments_total_, " != charges ", charges_total_));
  }
  return absl::OkStatus();
}

}  // namespace encore::internal
