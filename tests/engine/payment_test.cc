// Payment of a hold: debit, refusals that change nothing, the ledger, and the token ending.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;

std::vector<SeatState> SeatStates(const Core& core) {
  std::vector<SeatState> seats;
  EXPECT_EQ(core.SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  return seats;
}

// The types of the events appended since `from` (an index into the buffer).
std::vector<EventType> EventTypesSince(const EventBuffer& events, size_t from) {
  std::vector<EventType> types;
  size_t index = 0;
  events.ForEach([&](const EventView& event) {
    if (index++ >= from) types.push_back(event.type);
  });
  return types;
}

void ExpectConsistent(CoreHarness& harness) {
  EXPECT_TRUE(harness.core().CheckInvariants().ok()) << harness.core().CheckInvariants();
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
}

// Alice holds seats 0 (5000) and 60 (3000): 8000 in all.
struct HeldFixture {
  explicit HeldFixture(Points balance) {
    if (balance > 0) {
      EXPECT_TRUE(harness.Run(ChargeCommand(kAlice, balance, 0)).ok());
    }
    token = harness.Admit(kAlice);
    const Reply reply = harness.Run(HoldCommand(kSchedule, kAlice, token, {0, 60}, 0));
    EXPECT_EQ(reply.code, ResultCode::kOk);
    hold = reply.hold;
    deadline_ms = reply.hold_deadline_ms;
  }
  Reply Pay(RequestKey key = 0) {
    return harness.Run(PayCommand(kSchedule, kAlice, token, hold, key));
  }

  CoreHarness harness;
  QueueToken token;
  HoldId hold = 0;
  TimestampMs deadline_ms = 0;
};

constexpr Points kPrice = 8000;

TEST(PaymentTest, PayDebitsTheExactPriceAndSellsTheSeats) {
  HeldFixture held(20'000);
  const Reply paid = held.Pay();
  ASSERT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(paid.type, CommandType::kPay);
  EXPECT_EQ(paid.hold, held.hold);
  EXPECT_EQ(paid.payment, 1u);
  EXPECT_EQ(paid.amount, kPrice);
  EXPECT_EQ(paid.seat_count, 2);
  EXPECT_EQ(paid.balance, 20'000 - kPrice);
  EXPECT_EQ(paid.queue_state, QueueState::kDone);
  EXPECT_EQ(held.harness.core().Balance(kAlice), 20'000 - kPrice);

  const std::vector<SeatState> seats = SeatStates(held.harness.core());
  EXPECT_EQ(seats[0], SeatState::kSold);
  EXPECT_EQ(seats[60], SeatState::kSold);
  EXPECT_EQ(seats[1], SeatState::kAvailable);
  const CoreStats stats = held.harness.core().Stats();
  EXPECT_EQ(stats.payments, 1u);
  EXPECT_EQ(stats.seats_sold, 2u);
  EXPECT_EQ(stats.seats_held, 0u);
  EXPECT_EQ(stats.holds_live, 0u);
  EXPECT_EQ(stats.payments_total, kPrice);
  EXPECT_EQ(stats.charges_total, 20'000);
  EXPECT_EQ(stats.balances_total, 20'000 - kPrice);
  ExpectConsistent(held.harness);
}

TEST(PaymentTest, PaymentIdsAreSequentialPerSchedule) {
  HeldFixture held(20'000);
  ASSERT_EQ(held.Pay().payment, 1u);
  ASSERT_TRUE(held.harness.Run(ChargeCommand(kBob, 5000, 0)).ok());
  QueueToken bob;
  const HoldId hold = held.harness.HoldFor(kBob, {1}, &bob);
  ASSERT_NE(hold, 0u);
  EXPECT_EQ(held.harness.Run(PayCommand(kSchedule, kBob, bob, hold, 0)).payment, 2u);
}

TEST(PaymentTest, ALocalPayIsOneEventAndAnsweredLikeTheSaga) {
  HeldFixture held(20'000);
  const size_t events_before = held.harness.events().count();
  const size_t bytes_before = held.harness.events().bytes().size();
  const Reply paid = held.Pay(4242);
  ASSERT_EQ(paid.code, ResultCode::kOk);
  EXPECT_LE(held.harness.events().bytes().size() - bytes_before, 80u);
  // The payer's account is on this core: one PAYMENT_COMPLETED, none of the
  // saga's five events.
  EXPECT_EQ(EventTypesSince(held.harness.events(), events_before),
            std::vector<EventType>{EventType::kPaymentCompleted});
  const auto completed = EventAt<PaymentCompleted>(held.harness.events(), events_before);
  EXPECT_EQ(completed.schedule, kSchedule);
  EXPECT_EQ(completed.hold, held.hold);
  EXPECT_EQ(completed.payment, 1u);
  EXPECT_EQ(completed.user, kAlice);
  EXPECT_EQ(completed.amount, kPrice);
  EXPECT_EQ(completed.request_key, 4242u);
  EXPECT_EQ(completed.entry, static_cast<uint32_t>(held.token.locator));
  // Its reply is recorded: a repeat gets the same bytes and has no effect.
  const uint64_t hash = held.harness.core().StateHash();
  const Reply repeated = held.Pay(4242);
  EXPECT_EQ(std::memcmp(&repeated, &paid, sizeof(Reply)), 0);
  EXPECT_EQ(held.harness.core().StateHash(), hash);
  ExpectConsistent(held.harness);
}

TEST(PaymentTest, ALocalPayAdmitsTheNextInLine) {
  HeldFixture held(20'000);
  ASSERT_TRUE(held.harness.Run(SetPolicyCommand(kSchedule, AdmissionPolicy{1, 0, 0}, 0)).ok());
  const Reply bob = held.harness.Run(EnterCommand(kSchedule, kBob, 0));
  ASSERT_EQ(bob.queue_state, QueueState::kWaiting);
  const size_t events_before = held.harness.events().count();
  ASSERT_EQ(held.Pay().queue_state, QueueState::kDone);
  EXPECT_EQ(EventTypesSince(held.harness.events(), events_before),
            (std::vector<EventType>{EventType::kPaymentCompleted, EventType::kQueueAdmitted}));
  EXPECT_EQ(held.harness.Run(StatusCommand(kSchedule, kBob, bob.token)).queue_state,
            QueueState::kActive);
  ExpectConsistent(held.harness);
}

TEST(PaymentTest, ExactWholeBalanceCanBeSpent) {
  HeldFixture held(kPrice);
  const Reply paid = held.Pay();
  ASSERT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(paid.balance, 0);
  EXPECT_EQ(held.harness.core().Balance(kAlice), 0);
  EXPECT_EQ(held.harness.core().Stats().seats_sold, 2u);
  ExpectConsistent(held.harness);
}

TEST(PaymentTest, InsufficientBalanceChangesNothing) {
  HeldFixture held(kPrice - 1);
  const size_t events_before = held.harness.events().count();
  const Reply refused = held.Pay();
  EXPECT_EQ(refused.code, ResultCode::kInsufficientBalance);
  EXPECT_EQ(refused.amount, kPrice);
  EXPECT_EQ(refused.balance, kPrice - 1);
  // The saga may start and abort, but no debit is made and the result is recorded.
  const std::vector<EventType> types = EventTypesSince(held.harness.events(), events_before);
  EXPECT_EQ(std::count(types.begin(), types.end(), EventType::kAccountDebited), 0);
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.back(), EventType::kRequestRecorded);
  EXPECT_EQ(held.harness.core().Balance(kAlice), kPrice - 1);
  const std::vector<SeatState> seats = SeatStates(held.harness.core());
  EXPECT_EQ(seats[0], SeatState::kHeld);
  EXPECT_EQ(seats[60], SeatState::kHeld);
  EXPECT_EQ(held.harness.core().Stats().payments, 0u);
  EXPECT_EQ(held.harness.core().Stats().ledger_entries, 1u);
  ExpectConsistent(held.harness);

  // The hold and the token are intact: one more point and it pays.
  ASSERT_TRUE(held.harness.Run(ChargeCommand(kAlice, 1, 0)).ok());
  const Reply paid = held.Pay();
  EXPECT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(paid.balance, 0);
}

TEST(PaymentTest, UserWithoutAccountHasInsufficientBalance) {
  HeldFixture held(0);
  const Reply refused = held.Pay();
  EXPECT_EQ(refused.code, ResultCode::kInsufficientBalance);
  EXPECT_EQ(refused.balance, 0);
  EXPECT_EQ(held.harness.core().Stats().accounts, 0u);
  EXPECT_EQ(SeatStates(held.harness.core())[0], SeatState::kHeld);
}

TEST(PaymentTest, DoublePayIsRefusedAndDebitsOnce) {
  HeldFixture held(100'000);
  ASSERT_EQ(held.Pay().code, ResultCode::kOk);
  // Paying ended the token, so the same token is refused at the gate.
  EXPECT_EQ(held.Pay().code, ResultCode::kTokenExpired);
  // With a fresh ACTIVE token the hold itself answers.
  const QueueToken again = held.harness.Admit(kAlice);
  ASSERT_NE(again, held.token);
  const Reply second = held.harness.Run(PayCommand(kSchedule, kAlice, again, held.hold, 0));
  EXPECT_EQ(second.code, ResultCode::kAlreadyPaid);
  EXPECT_EQ(held.harness.core().Balance(kAlice), 100'000 - kPrice);
  EXPECT_EQ(held.harness.core().Stats().payments, 1u);
  EXPECT_EQ(held.harness.core().Stats().payments_total, kPrice);
  ExpectConsistent(held.harness);
}

TEST(PaymentTest, ForeignHoldIsNotOwned) {
  HeldFixture held(100'000);
  ASSERT_TRUE(held.harness.Run(ChargeCommand(kBob, 100'000, 0)).ok());
  const QueueToken bob = held.harness.Admit(kBob);
  EXPECT_EQ(held.harness.Run(PayCommand(kSchedule, kBob, bob, held.hold, 0)).code,
            ResultCode::kHoldNotOwned);
  // Alice's token in Bob's hands is not his.
  EXPECT_EQ(held.harness.Run(PayCommand(kSchedule, kBob, held.token, held.hold, 0)).code,
            ResultCode::kTokenWrongUser);
  EXPECT_EQ(held.harness.core().Balance(kAlice), 100'000);
  EXPECT_EQ(held.harness.core().Balance(kBob), 100'000);
  EXPECT_EQ(SeatStates(held.harness.core())[0], SeatState::kHeld);
  EXPECT_EQ(held.harness.core().Stats().payments, 0u);
  // The owner still pays.
  EXPECT_EQ(held.Pay().code, ResultCode::kOk);
}

TEST(PaymentTest, ExpiredHoldCannotBePaid) {
  HeldFixture held(100'000);
  held.harness.AdvanceTo(held.deadline_ms);
  const Reply refused = held.Pay();
  EXPECT_EQ(refused.code, ResultCode::kHoldExpired);
  EXPECT_EQ(held.harness.core().Balance(kAlice), 100'000);
  EXPECT_EQ(SeatStates(held.harness.core())[0], SeatState::kAvailable);
  EXPECT_EQ(held.harness.core().Stats().payments, 0u);
  ExpectConsistent(held.harness);
}

TEST(PaymentTest, ReleasedHoldCannotBePaid) {
  HeldFixture held(100'000);
  ASSERT_TRUE(held.harness.Run(ReleaseCommand(kSchedule, kAlice, held.token, held.hold, 0)).ok());
  EXPECT_EQ(held.Pay().code, ResultCode::kHoldReleased);
  EXPECT_EQ(held.harness.core().Balance(kAlice), 100'000);
  EXPECT_EQ(SeatStates(held.harness.core())[0], SeatState::kAvailable);
  EXPECT_EQ(held.harness.core().Stats().payments, 0u);
}

TEST(PaymentTest, UnknownHoldOrScheduleIsNotFound) {
  HeldFixture held(100'000);
  EXPECT_EQ(held.harness.Run(PayCommand(kSchedule, kAlice, held.token, held.hold + 1, 0)).code,
            ResultCode::kHoldNotFound);
  EXPECT_EQ(held.harness.Run(PayCommand(kSchedule, kAlice, held.token, 0, 0)).code,
            ResultCode::kHoldNotFound);
  EXPECT_EQ(held.harness.Run(PayCommand(kSchedule + 1, kAlice, held.token, held.hold, 0)).code,
            ResultCode::kScheduleNotFound);
  EXPECT_EQ(held.harness.core().Balance(kAlice), 100'000);
}

TEST(PaymentTest, TokenIsDoneAfterPaySoItCannotHoldAgain) {
  HeldFixture held(100'000);
  ASSERT_EQ(held.Pay().code, ResultCode::kOk);
  EXPECT_EQ(held.harness.Run(HoldCommand(kSchedule, kAlice, held.token, {5}, 0)).code,
            ResultCode::kTokenExpired);
  std::vector<SeatState> seats;
  EXPECT_EQ(held.harness.core().SeatMap(kSchedule, kAlice, held.token, &seats),
            ResultCode::kTokenExpired);
  const Reply status = held.harness.Run(StatusCommand(kSchedule, kAlice, held.token));
  EXPECT_EQ(status.code, ResultCode::kOk);
  EXPECT_EQ(status.queue_state, QueueState::kDone);
  EXPECT_EQ(SeatStates(held.harness.core())[5], SeatState::kAvailable);
}

TEST(PaymentTest, LedgerRecordsChargesAndPaymentsNewestFirst) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 10'000, 0)).ok());
  const TimestampMs first_charge_ms = harness.now();
  harness.AdvanceBy(1'000);
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 5'000, 0)).ok());
  const TimestampMs second_charge_ms = harness.now();
  harness.AdvanceBy(1'000);
  QueueToken token;
  const HoldId hold = harness.HoldFor(kAlice, {0, 60}, &token);
  ASSERT_NE(hold, 0u);
  harness.AdvanceBy(1'000);
  const Reply paid = harness.Run(PayCommand(kSchedule, kAlice, token, hold, 0));
  ASSERT_EQ(paid.code, ResultCode::kOk);

  std::vector<LedgerEntry> entries;
  uint64_t next_before = 99;
  harness.core().Ledger(kAlice, 0, 10, &entries, &next_before);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(next_before, 0u);

  EXPECT_EQ(entries[0].type, LedgerEntryType::kPayment);
  EXPECT_EQ(entries[0].amount, -kPrice);
  EXPECT_EQ(entries[0].balance_after, 15'000 - kPrice);
  EXPECT_EQ(entries[0].at_ms, harness.now());
  EXPECT_EQ(entries[0].schedule, kSchedule);
  EXPECT_EQ(entries[0].payment, paid.payment);
  EXPECT_EQ(entries[0].hold, hold);

  EXPECT_EQ(entries[1].type, LedgerEntryType::kCharge);
  EXPECT_EQ(entries[1].amount, 5'000);
  EXPECT_EQ(entries[1].balance_after, 15'000);
  EXPECT_EQ(entries[1].at_ms, second_charge_ms);

  EXPECT_EQ(entries[2].type, LedgerEntryType::kCharge);
  EXPECT_EQ(entries[2].amount, 10'000);
  EXPECT_EQ(entries[2].balance_after, 10'000);
  EXPECT_EQ(entries[2].at_ms, first_charge_ms);
  EXPECT_EQ(harness.core().Stats().ledger_entries, 3u);
}

TEST(PaymentTest, RefusedPaymentLeavesNoLedgerEntry) {
  HeldFixture held(kPrice - 1);
  ASSERT_EQ(held.Pay().code, ResultCode::kInsufficientBalance);
  std::vector<LedgerEntry> entries;
  uint64_t next_before = 0;
  held.harness.core().Ledger(kAlice, 0, 10, &entries, &next_before);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].type, LedgerEntryType::kCharge);
}

TEST(PaymentTest, LedgerPagesWithNextBefore) {
  CoreHarness harness;
  for (Points amount = 100; amount <= 500; amount += 100) {
    ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, amount, 0)).ok());
  }
  // Entries are numbered 1..5 (amounts 100..500); pages of 2, newest first.
  std::vector<LedgerEntry> entries;
  uint64_t next_before = 0;
  harness.core().Ledger(kAlice, 0, 2, &entries, &next_before);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].amount, 500);
  EXPECT_EQ(entries[1].amount, 400);
  EXPECT_EQ(next_before, 4u);

  harness.core().Ledger(kAlice, next_before, 2, &entries, &next_before);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].amount, 300);
  EXPECT_EQ(entries[1].amount, 200);
  EXPECT_EQ(next_before, 2u);

  harness.core().Ledger(kAlice, next_before, 2, &entries, &next_before);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].amount, 100);
  EXPECT_EQ(entries[0].balance_after, 100);
  EXPECT_EQ(next_before, 0u);
}

TEST(PaymentTest, LedgerLastFullPageHasNoNextCursor) {
  CoreHarness harness;
  for (Points amount = 100; amount <= 400; amount += 100) {
    ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, amount, 0)).ok());
  }
  std::vector<LedgerEntry> entries;
  uint64_t next_before = 0;
  harness.core().Ledger(kAlice, 0, 2, &entries, &next_before);
  ASSERT_EQ(next_before, 3u);
  harness.core().Ledger(kAlice, next_before, 2, &entries, &next_before);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].amount, 100);
  EXPECT_EQ(next_before, 0u);
}

TEST(PaymentTest, LedgerOfUnknownUserIsEmpty) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 100, 0)).ok());
  std::vector<LedgerEntry> entries(3);
  uint64_t next_before = 7;
  harness.core().Ledger(kBob, 0, 10, &entries, &next_before);
  EXPECT_TRUE(entries.empty());
  EXPECT_EQ(next_before, 0u);
}

}  // namespace
}  // namespace encore::testing
