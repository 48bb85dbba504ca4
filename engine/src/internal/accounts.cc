#include "internal/accounts.h"

#include "absl/strings/str_cat.h"
#include "internal/state_hasher.h"

namespace encore::internal {

Points Accounts::Balance(UserId user) const {
  auto it = accounts_.find(user);
  return it == accounts_.end() ? 0 : it->second.balance;
}

ResultCode Accounts::CheckCharge(UserId user, Points amount) const {
  if (amount <= 0 || amount > kChargeAmountMax) return ResultCode::kInvalidAmount;
  // Both terms are bounded far below INT64_MAX, so the sum cannot overflow.
  if (Balance(user) + amount > kBalanceMax) return ResultCode::kBalanceOverflow;
  return ResultCode::kOk;
}

ResultCode Accounts::CheckDebit(UserId user, Points amount) const {
  if (amount <= 0) return ResultCode::kInvalidAmount;
  if (Balance(user) < amount) return ResultCode::kInsufficientBalance;
  return ResultCode::kOk;
}

void Accounts::AppendEntry(UserId user, Account* account, const LedgerEntry& entry) {
  ++account->entry_count;
  entries_.push_back(StoredEntry{entry, user, account->entry_count, account->newest_entry});
  account->newest_entry = entries_.size() - 1;
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
      event.user, &account,
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
  AppendEntry(event.user, &account,
              LedgerEntry{-event.amount,
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
  uint64_t index = it->second.newest_entry;
  while (index != kNoEntry && before != 0 && entries_[index].number >= before) {
    index = entries_[index].previous_entry;
  }
  while (index != kNoEntry && entries->size() < limit) {
    entries->push_back(entries_[index].entry);
    index = entries_[index].previous_entry;
  }
  // The next page starts at the first entry not returned (0: none left).
  *next_before = index == kNoEntry ? 0 : entries_[index].number + 1;
}

void Accounts::AddToHash(StateHasher* hasher) const {
  StateHasher accounts_hasher;
  for (const auto& [user, account] : accounts_) {
    accounts_hasher.AddUnordered(Mix64(user) ^ Mix64(static_cast<uint64_t>(account.balance) + 1) ^
                                 Mix64(account.entry_count + 2));
  }
  hasher->Add(accounts_hasher.Finish());
  for (const StoredEntry& stored : entries_) {
    const LedgerEntry& entry = stored.entry;
    hasher->Add(stored.user);
    hasher->Add(static_cast<uint64_t>(entry.type));
    hasher->AddSigned(entry.amount);
    hasher->AddSigned(entry.balance_after);
    hasher->AddSigned(entry.at_ms);
    hasher->Add(entry.schedule);
    hasher->Add(entry.payment);
    hasher->Add(entry.hold);
  }
  hasher->AddSigned(charges_total_);
  hasher->AddSigned(payments_total_);
}

absl::Status Accounts::CheckInvariants() const {
  Points sum = 0;
  for (const auto& [user, account] : accounts_) {
    if (account.balance < 0) {
      return absl::InternalError(
          absl::StrCat("user ", user, " has negative balance ", account.balance));
    }
    sum += account.balance;
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
