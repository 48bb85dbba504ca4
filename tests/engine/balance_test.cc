// Point balances: charge bounds, overflow refusal, and balance queries.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;

uint64_t LedgerSize(const Core& core, UserId user) {
  std::vector<LedgerEntry> entries;
  uint64_t next_before = 0;
  core.Ledger(user, 0, 1'000'000, &entries, &next_before);
  return entries.size();
}

// Charges `user` up to exactly `target` in steps of at most kChargeAmountMax.
void ChargeUpTo(CoreHarness& harness, UserId user, Points target) {
  while (harness.core().Balance(user) < target) {
    const Points step = std::min(kChargeAmountMax, target - harness.core().Balance(user));
    ASSERT_EQ(harness.Run(ChargeCommand(user, step, 0)).code, ResultCode::kOk);
  }
}

TEST(BalanceTest, ChargeAddsToTheBalance) {
  CoreHarness harness;
  const Reply first = harness.Run(ChargeCommand(kAlice, 1, 0));
  ASSERT_EQ(first.code, ResultCode::kOk);
  EXPECT_EQ(first.type, CommandType::kCharge);
  EXPECT_EQ(first.amount, 1);
  EXPECT_EQ(first.balance, 1);
  const Reply second = harness.Run(ChargeCommand(kAlice, 2'500, 0));
  ASSERT_EQ(second.code, ResultCode::kOk);
  EXPECT_EQ(second.amount, 2'500);
  EXPECT_EQ(second.balance, 2'501);

  EXPECT_EQ(harness.core().Balance(kAlice), 2'501);
  const Reply query = harness.Run(BalanceCommand(kAlice));
  EXPECT_EQ(query.code, ResultCode::kOk);
  EXPECT_EQ(query.balance, 2'501);
  const CoreStats stats = harness.core().Stats();
  EXPECT_EQ(stats.accounts, 1u);
  EXPECT_EQ(stats.ledger_entries, 2u);
  EXPECT_EQ(stats.charges_total, 2'501);
  EXPECT_EQ(stats.balances_total, 2'501);
  EXPECT_TRUE(harness.core().CheckInvariants().ok());
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
}

TEST(BalanceTest, BalancesArePerUser) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 700, 0)).ok());
  ASSERT_TRUE(harness.Run(ChargeCommand(kBob, 300, 0)).ok());
  EXPECT_EQ(harness.core().Balance(kAlice), 700);
  EXPECT_EQ(harness.core().Balance(kBob), 300);
  EXPECT_EQ(harness.core().Stats().accounts, 2u);
  EXPECT_EQ(harness.core().Stats().balances_total, 1'000);
}

TEST(BalanceTest, ZeroOrNegativeAmountIsInvalid) {
  CoreHarness harness;
  for (Points amount :
       {Points{0}, Points{-1}, Points{-5'000}, std::numeric_limits<Points>::min()}) {
    const Reply reply = harness.Run(ChargeCommand(kAlice, amount, 0));
    EXPECT_EQ(reply.code, ResultCode::kInvalidAmount) << amount;
    EXPECT_EQ(reply.balance, 0) << amount;
  }
  EXPECT_EQ(harness.core().Balance(kAlice), 0);
  EXPECT_EQ(harness.core().Stats().accounts, 0u);
  EXPECT_EQ(harness.core().Stats().ledger_entries, 0u);
  EXPECT_EQ(harness.core().Stats().charges_total, 0);
  EXPECT_TRUE(harness.core().CheckInvariants().ok());
}

TEST(BalanceTest, InvalidAmountLeavesAnExistingBalanceAlone) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 900, 0)).ok());
  const Reply reply = harness.Run(ChargeCommand(kAlice, -900, 0));
  EXPECT_EQ(reply.code, ResultCode::kInvalidAmount);
  EXPECT_EQ(reply.balance, 900);
  EXPECT_EQ(harness.core().Balance(kAlice), 900);
  EXPECT_EQ(LedgerSize(harness.core(), kAlice), 1u);
}

TEST(BalanceTest, ChargeUpToTheChargeBound) {
  CoreHarness harness;
  const Reply max = harness.Run(ChargeCommand(kAlice, kChargeAmountMax, 0));
  ASSERT_EQ(max.code, ResultCode::kOk);
  EXPECT_EQ(max.balance, kChargeAmountMax);

  EXPECT_EQ(harness.Run(ChargeCommand(kBob, kChargeAmountMax + 1, 0)).code,
            ResultCode::kInvalidAmount);
  EXPECT_EQ(harness.Run(ChargeCommand(kBob, std::numeric_limits<Points>::max(), 0)).code,
            ResultCode::kInvalidAmount);
  EXPECT_EQ(harness.core().Balance(kBob), 0);
  EXPECT_EQ(harness.core().Stats().accounts, 1u);
}

TEST(BalanceTest, ChargeToExactlyTheBalanceBoundIsAllowed) {
  CoreHarness harness;
  ChargeUpTo(harness, kAlice, kBalanceMax);
  EXPECT_EQ(harness.core().Balance(kAlice), kBalanceMax);
  EXPECT_TRUE(harness.core().CheckInvariants().ok());
}

TEST(BalanceTest, OverflowPastTheBalanceBoundIsRefusedAndChangesNothing) {
  CoreHarness harness;
  ChargeUpTo(harness, kAlice, kBalanceMax - 10);
  const uint64_t ledger_before = LedgerSize(harness.core(), kAlice);
  const size_t events_before = harness.events().count();

  const Reply over = harness.Run(ChargeCommand(kAlice, 11, 0));
  EXPECT_EQ(over.code, ResultCode::kBalanceOverflow);
  EXPECT_EQ(over.balance, kBalanceMax - 10);
  EXPECT_EQ(harness.core().Balance(kAlice), kBalanceMax - 10);
  EXPECT_EQ(LedgerSize(harness.core(), kAlice), ledger_before);
  EXPECT_EQ(harness.events().count(), events_before + 1);  // The request record only.

  const Reply big = harness.Run(ChargeCommand(kAlice, kChargeAmountMax, 0));
  EXPECT_EQ(big.code, ResultCode::kBalanceOverflow);
  EXPECT_EQ(harness.core().Balance(kAlice), kBalanceMax - 10);

  // The rest up to the bound still fits; then nothing more does.
  const Reply fill = harness.Run(ChargeCommand(kAlice, 10, 0));
  EXPECT_EQ(fill.code, ResultCode::kOk);
  EXPECT_EQ(fill.balance, kBalanceMax);
  EXPECT_EQ(harness.Run(ChargeCommand(kAlice, 1, 0)).code, ResultCode::kBalanceOverflow);
  EXPECT_EQ(harness.core().Balance(kAlice), kBalanceMax);
  EXPECT_EQ(harness.core().Stats().charges_total, kBalanceMax);
  EXPECT_TRUE(harness.core().CheckInvariants().ok());
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
}

TEST(BalanceTest, OverflowOfOneUserDoesNotLimitAnother) {
  CoreHarness harness;
  ChargeUpTo(harness, kAlice, kBalanceMax);
  EXPECT_EQ(harness.Run(ChargeCommand(kBob, kChargeAmountMax, 0)).code, ResultCode::kOk);
  EXPECT_EQ(harness.core().Balance(kBob), kChargeAmountMax);
}

TEST(BalanceTest, BalanceOfUnknownUserIsZero) {
  CoreHarness harness;
  EXPECT_EQ(harness.core().Balance(12'345), 0);
  const size_t events_before = harness.events().count();
  const uint64_t hash_before = harness.core().StateHash();
  const Reply query = harness.Run(BalanceCommand(12'345));
  EXPECT_EQ(query.code, ResultCode::kOk);
  EXPECT_EQ(query.type, CommandType::kBalance);
  EXPECT_EQ(query.balance, 0);
  // A read: no events, no account, no request record.
  EXPECT_EQ(harness.events().count(), events_before);
  EXPECT_EQ(harness.core().StateHash(), hash_before);
  EXPECT_EQ(harness.core().Stats().accounts, 0u);
}

TEST(BalanceTest, BalanceQueryNeedsNoRequestKey) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 42, 0)).ok());
  EventBuffer events;
  Command query = BalanceCommand(kAlice);
  query.request_key = 0;
  const Reply reply = harness.core().Apply(query, harness.now(), &events);
  EXPECT_EQ(reply.code, ResultCode::kOk);
  EXPECT_EQ(reply.balance, 42);
  EXPECT_TRUE(events.empty());
}

}  // namespace
}  // namespace encore::testing
