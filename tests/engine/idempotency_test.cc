// Idempotent repeats by (user, request key): recorded replies, key reuse, the window, replay.
#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;

// Replies are trivially copyable with no padding: equal bytes, equal replies.
bool SameReply(const Reply& a, const Reply& b) { return std::memcmp(&a, &b, sizeof(Reply)) == 0; }

std::vector<SeatState> SeatStates(const Core& core) {
  std::vector<SeatState> seats;
  EXPECT_EQ(core.SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  return seats;
}

CoreOptions WindowOptions(uint32_t request_results_max) {
  CoreOptions options = TestCoreOptions();
  options.request_results_max = request_results_max;
  return options;
}

TEST(IdempotencyTest, RepeatedHoldReturnsTheSameReplyAndHoldsOnce) {
  CoreHarness harness;
  const QueueToken token = harness.Admit(kAlice);
  const Command hold = HoldCommand(kSchedule, kAlice, token, {0, 1}, 500);
  const Reply first = harness.Run(hold);
  ASSERT_EQ(first.code, ResultCode::kOk);
  const size_t events_after_first = harness.events().count();
  const uint64_t hash_after_first = harness.core().StateHash();

  const Reply repeat = harness.Run(hold);
  EXPECT_TRUE(SameReply(repeat, first));
  EXPECT_EQ(repeat.hold, first.hold);
  EXPECT_EQ(harness.events().count(), events_after_first);
  EXPECT_EQ(harness.core().StateHash(), hash_after_first);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);
  EXPECT_EQ(harness.core().Stats().seats_held, 2u);
}

TEST(IdempotencyTest, RepeatedChargeChargesOnce) {
  CoreHarness harness;
  const Command charge = ChargeCommand(kAlice, 1'000, 77);
  const Reply first = harness.Run(charge);
  ASSERT_EQ(first.code, ResultCode::kOk);
  const size_t events_after_first = harness.events().count();
  for (int i = 0; i < 3; ++i) {
    const Reply repeat = harness.Run(charge);
    EXPECT_TRUE(SameReply(repeat, first));
  }
  EXPECT_EQ(harness.core().Balance(kAlice), 1'000);
  EXPECT_EQ(harness.core().Stats().charges_total, 1'000);
  EXPECT_EQ(harness.core().Stats().ledger_entries, 1u);
  EXPECT_EQ(harness.events().count(), events_after_first);
}

TEST(IdempotencyTest, RepeatedPayDebitsOnceAndStillAnswersOk) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 50'000, 0)).ok());
  QueueToken token;
  const HoldId hold = harness.HoldFor(kAlice, {0}, &token);
  ASSERT_NE(hold, 0u);
  const Command pay = PayCommand(kSchedule, kAlice, token, hold, 900);
  const Reply first = harness.Run(pay);
  ASSERT_EQ(first.code, ResultCode::kOk);
  const size_t events_after_first = harness.events().count();

  // The token is DONE now, but a repeat is answered from the record, not re-run.
  const Reply repeat = harness.Run(pay);
  EXPECT_TRUE(SameReply(repeat, first));
  EXPECT_EQ(repeat.code, ResultCode::kOk);
  EXPECT_EQ(harness.core().Balance(kAlice), 50'000 - 5'000);
  EXPECT_EQ(harness.core().Stats().payments, 1u);
  EXPECT_EQ(harness.core().Stats().ledger_entries, 2u);
  EXPECT_EQ(harness.events().count(), events_after_first);
}

TEST(IdempotencyTest, RepeatedReleaseAnswersTheOriginalOk) {
  CoreHarness harness;
  QueueToken token;
  const HoldId hold = harness.HoldFor(kAlice, {0}, &token);
  ASSERT_NE(hold, 0u);
  const Command release = ReleaseCommand(kSchedule, kAlice, token, hold, 31);
  const Reply first = harness.Run(release);
  ASSERT_EQ(first.code, ResultCode::kOk);
  const Reply repeat = harness.Run(release);
  EXPECT_TRUE(SameReply(repeat, first));
  // A new key sees the current state.
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, token, hold, 32)).code,
            ResultCode::kHoldReleased);
}

TEST(IdempotencyTest, RepeatAfterTheHoldExpiredReturnsTheRecordedReplyAndHoldsNothing) {
  CoreHarness harness;
  const QueueToken token = harness.Admit(kAlice);
  const Command hold = HoldCommand(kSchedule, kAlice, token, {4}, 600);
  const Reply first = harness.Run(hold);
  ASSERT_EQ(first.code, ResultCode::kOk);
  harness.AdvanceTo(first.hold_deadline_ms);
  ASSERT_EQ(SeatStates(harness.core())[4], SeatState::kAvailable);

  const Reply repeat = harness.Run(hold);
  EXPECT_TRUE(SameReply(repeat, first));
  EXPECT_EQ(SeatStates(harness.core())[4], SeatState::kAvailable);
  EXPECT_EQ(harness.core().Stats().holds_live, 0u);
}

TEST(IdempotencyTest, SameKeyForADifferentCommandIsReused) {
  CoreHarness harness;
  const Reply first = harness.Run(ChargeCommand(kAlice, 100, 5));
  ASSERT_EQ(first.code, ResultCode::kOk);
  const size_t events_before = harness.events().count();
  const uint64_t results_before = harness.core().Stats().request_results;

  const Reply other_amount = harness.Run(ChargeCommand(kAlice, 200, 5));
  EXPECT_EQ(other_amount.code, ResultCode::kRequestKeyReused);
  EXPECT_EQ(other_amount.type, CommandType::kCharge);
  EXPECT_EQ(harness.events().count(), events_before);
  const QueueToken token = harness.Admit(kAlice);
  const size_t events_after_admit = harness.events().count();
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 5)).code,
            ResultCode::kRequestKeyReused);
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, token, 1, 5)).code,
            ResultCode::kRequestKeyReused);
  // Refused with no effect and not recorded.
  EXPECT_EQ(harness.events().count(), events_after_admit);
  EXPECT_EQ(harness.core().Balance(kAlice), 100);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);
  EXPECT_EQ(harness.core().Stats().request_results, results_before + 1);  // The admission.

  // The original still repeats as it was.
  EXPECT_TRUE(SameReply(harness.Run(ChargeCommand(kAlice, 100, 5)), first));
}

TEST(IdempotencyTest, SameKeyFromAnotherUserIsIndependent) {
  CoreHarness harness;
  ASSERT_EQ(harness.Run(ChargeCommand(kAlice, 100, 9)).code, ResultCode::kOk);
  const Reply bob = harness.Run(ChargeCommand(kBob, 250, 9));
  EXPECT_EQ(bob.code, ResultCode::kOk);
  EXPECT_EQ(bob.balance, 250);
  EXPECT_EQ(harness.core().Balance(kAlice), 100);
  EXPECT_EQ(harness.core().Balance(kBob), 250);
  // Each user's key repeats on its own record.
  EXPECT_EQ(harness.Run(ChargeCommand(kAlice, 100, 9)).balance, 100);
  EXPECT_EQ(harness.Run(ChargeCommand(kBob, 250, 9)).balance, 250);
  EXPECT_EQ(harness.Run(ChargeCommand(kBob, 100, 9)).code, ResultCode::kRequestKeyReused);
}

TEST(IdempotencyTest, KeyZeroIsMissingOnEveryMutatingCommand) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 10'000, 0)).ok());
  QueueToken token;
  const HoldId hold = harness.HoldFor(kAlice, {0}, &token);
  ASSERT_NE(hold, 0u);
  const ScheduleConfig other = MakeScheduleConfig(kSchedule + 1);
  const std::vector<Command> commands = {
      CreateConcertCommand(kConcert + 1, "Another", 0),
      CreateScheduleCommand(other, 0),
      SetPolicyCommand(kSchedule, AdmissionPolicy{1, 0, 0}, 0),
      EnterCommand(kSchedule, kBob, 0),
      LeaveCommand(kSchedule, kAlice, token, 0),
      HoldCommand(kSchedule, kAlice, token, {1}, 0),
      ReleaseCommand(kSchedule, kAlice, token, hold, 0),
      PayCommand(kSchedule, kAlice, token, hold, 0),
      ChargeCommand(kAlice, 100, 0),
  };
  const uint64_t hash_before = harness.core().StateHash();
  for (const Command& command : commands) {
    EventBuffer events;
    // Core::Apply directly: the harness would fill in a key.
    const Reply reply = harness.core().Apply(command, harness.now(), &events);
    EXPECT_EQ(reply.code, ResultCode::kMissingRequestKey)
        << "command type " << static_cast<int>(command.type);
    EXPECT_EQ(reply.type, command.type);
    EXPECT_TRUE(events.empty());
  }
  EXPECT_EQ(harness.core().StateHash(), hash_before);
  EXPECT_EQ(harness.core().Balance(kAlice), 10'000);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kHeld);
}

TEST(IdempotencyTest, RefusedPaymentIsRecordedToo) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 1'000, 0)).ok());
  QueueToken token;
  const HoldId hold = harness.HoldFor(kAlice, {0}, &token);
  ASSERT_NE(hold, 0u);
  const Command pay = PayCommand(kSchedule, kAlice, token, hold, 4242);
  const Reply refused = harness.Run(pay);
  ASSERT_EQ(refused.code, ResultCode::kInsufficientBalance);
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 10'000, 0)).ok());

  // The same key answers the recorded refusal, though the pay would succeed now.
  const size_t events_before = harness.events().count();
  const Reply repeat = harness.Run(pay);
  EXPECT_TRUE(SameReply(repeat, refused));
  EXPECT_EQ(harness.events().count(), events_before);
  EXPECT_EQ(harness.core().Balance(kAlice), 11'000);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kHeld);
  // A new key runs it.
  EXPECT_EQ(harness.Run(PayCommand(kSchedule, kAlice, token, hold, 4243)).code, ResultCode::kOk);
}

TEST(IdempotencyTest, RefusedHoldIsRecordedToo) {
  CoreHarness harness;
  QueueToken bob;
  const HoldId bobs_hold = harness.HoldFor(kBob, {3}, &bob);
  ASSERT_NE(bobs_hold, 0u);
  const QueueToken alice = harness.Admit(kAlice);
  const Command hold = HoldCommand(kSchedule, kAlice, alice, {3}, 12);
  const Reply refused = harness.Run(hold);
  ASSERT_EQ(refused.code, ResultCode::kSeatUnavailable);
  ASSERT_TRUE(harness.Run(ReleaseCommand(kSchedule, kBob, bob, bobs_hold, 0)).ok());

  EXPECT_TRUE(SameReply(harness.Run(hold), refused));
  EXPECT_EQ(SeatStates(harness.core())[3], SeatState::kAvailable);
  EXPECT_EQ(harness.core().Stats().holds_live, 0u);
}

TEST(IdempotencyTest, WindowForgetsTheOldestKeyFirst) {
  Core core(WindowOptions(4));
  EventBuffer events;
  const TimestampMs now = kSaleOpensMs;
  for (RequestKey key = 1; key <= 5; ++key) {
    ASSERT_TRUE(core.Apply(ChargeCommand(kAlice, 100, key), now, &events).ok());
  }
  EXPECT_EQ(core.Balance(kAlice), 500);
  EXPECT_EQ(core.Stats().request_results, 4u);

  // Keys 2..5 are remembered: no effect.
  for (RequestKey key = 5; key >= 2; --key) {
    const Reply repeat = core.Apply(ChargeCommand(kAlice, 100, key), now, &events);
    EXPECT_EQ(repeat.balance, static_cast<Points>(100 * key)) << key;
  }
  EXPECT_EQ(core.Balance(kAlice), 500);

  // Key 1 was forgotten: it applies again, and pushes key 2 out.
  const Reply again = core.Apply(ChargeCommand(kAlice, 100, 1), now, &events);
  EXPECT_EQ(again.code, ResultCode::kOk);
  EXPECT_EQ(again.balance, 600);
  EXPECT_EQ(core.Apply(ChargeCommand(kAlice, 100, 2), now, &events).balance, 700);
  EXPECT_EQ(core.Apply(ChargeCommand(kAlice, 100, 3), now, &events).balance, 800);
  // Key 5 is still within the window.
  EXPECT_EQ(core.Apply(ChargeCommand(kAlice, 100, 5), now, &events).balance, 500);
  EXPECT_EQ(core.Balance(kAlice), 800);
  EXPECT_EQ(core.Stats().request_results, 4u);
  EXPECT_TRUE(core.CheckInvariants().ok());
}

TEST(IdempotencyTest, ForgottenKeyMayBeUsedForAnotherCommand) {
  Core core(WindowOptions(1));
  EventBuffer events;
  ASSERT_TRUE(core.Apply(ChargeCommand(kAlice, 100, 1), kSaleOpensMs, &events).ok());
  ASSERT_TRUE(core.Apply(ChargeCommand(kAlice, 100, 2), kSaleOpensMs, &events).ok());
  EXPECT_EQ(core.Apply(ChargeCommand(kAlice, 300, 1), kSaleOpensMs, &events).code, ResultCode::kOk);
  EXPECT_EQ(core.Balance(kAlice), 500);
}

TEST(IdempotencyTest, RecordedResultsSurviveReplay) {
  CoreHarness harness;
  const Command charge = ChargeCommand(kAlice, 20'000, 101);
  const Reply charged = harness.Run(charge);
  ASSERT_TRUE(charged.ok());
  const QueueToken token = harness.Admit(kAlice);
  const Command hold = HoldCommand(kSchedule, kAlice, token, {0, 1}, 102);
  const Reply held = harness.Run(hold);
  ASSERT_TRUE(held.ok());
  const Command pay = PayCommand(kSchedule, kAlice, token, held.hold, 103);
  const Reply paid = harness.Run(pay);
  ASSERT_TRUE(paid.ok());
  const Command refused_charge = ChargeCommand(kAlice, -1, 104);
  const Reply refused = harness.Run(refused_charge);
  ASSERT_EQ(refused.code, ResultCode::kInvalidAmount);

  Core rebuilt(TestCoreOptions());
  ASSERT_TRUE(rebuilt.ApplyEvents(harness.events()).ok());
  ASSERT_EQ(rebuilt.StateHash(), harness.core().StateHash());

  EventBuffer events;
  const TimestampMs now = harness.now();
  EXPECT_TRUE(SameReply(rebuilt.Apply(charge, now, &events), charged));
  EXPECT_TRUE(SameReply(rebuilt.Apply(hold, now, &events), held));
  EXPECT_TRUE(SameReply(rebuilt.Apply(pay, now, &events), paid));
  EXPECT_TRUE(SameReply(rebuilt.Apply(refused_charge, now, &events), refused));
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(rebuilt.Balance(kAlice), 20'000 - 10'000);
  EXPECT_EQ(rebuilt.Stats().payments, 1u);
  EXPECT_EQ(rebuilt.StateHash(), harness.core().StateHash());
  // A different command under a recorded key is still refused after replay.
  EXPECT_EQ(rebuilt.Apply(ChargeCommand(kAlice, 5, 101), now, &events).code,
            ResultCode::kRequestKeyReused);
}

TEST(IdempotencyTest, WindowOrderSurvivesReplay) {
  Core original(WindowOptions(4));
  EventBuffer log;
  for (RequestKey key = 1; key <= 5; ++key) {
    ASSERT_TRUE(original.Apply(ChargeCommand(kAlice, 100, key), kSaleOpensMs, &log).ok());
  }
  Core rebuilt(WindowOptions(4));
  ASSERT_TRUE(rebuilt.ApplyEvents(log).ok());
  ASSERT_EQ(rebuilt.StateHash(), original.StateHash());

  EventBuffer events;
  EXPECT_EQ(rebuilt.Apply(ChargeCommand(kAlice, 100, 2), kSaleOpensMs, &events).balance, 200);
  EXPECT_EQ(rebuilt.Balance(kAlice), 500);
  EXPECT_EQ(rebuilt.Apply(ChargeCommand(kAlice, 100, 1), kSaleOpensMs, &events).balance, 600);
  EXPECT_EQ(rebuilt.Balance(kAlice), 600);
}

// The window may be resized between runs (encored --idempotency-window): a
// snapshot saved with one window loads into a core with another, keeping its
// newest records that fit, oldest first.
TEST(IdempotencyTest, SnapshotLoadsIntoAnotherWindowSize) {
  Core original(WindowOptions(4));
  EventBuffer log;
  // Keys 3..6 are remembered, and the ring has wrapped.
  for (RequestKey key = 1; key <= 6; ++key) {
    ASSERT_TRUE(original.Apply(ChargeCommand(kAlice, 100, key), kSaleOpensMs, &log).ok());
  }
  std::vector<uint8_t> snapshot;
  original.SaveSnapshot(&snapshot);
  const auto charge = [](Core& core, RequestKey key) {
    EventBuffer events;
    return core.Apply(ChargeCommand(kAlice, 100, key), kSaleOpensMs, &events).balance;
  };

  Core same(WindowOptions(4));
  ASSERT_TRUE(same.LoadSnapshot(snapshot).ok());
  EXPECT_EQ(same.StateHash(), original.StateHash());

  Core smaller(WindowOptions(2));
  ASSERT_TRUE(smaller.LoadSnapshot(snapshot).ok());
  EXPECT_EQ(smaller.Stats().request_results, 2u);
  EXPECT_EQ(charge(smaller, 6), 600);  // Repeats: the recorded replies.
  EXPECT_EQ(charge(smaller, 5), 500);
  EXPECT_EQ(smaller.Balance(kAlice), 600);
  EXPECT_EQ(charge(smaller, 4), 700);  // Forgotten: charged again, and 5 goes.
  EXPECT_EQ(charge(smaller, 6), 600);
  EXPECT_EQ(charge(smaller, 5), 800);
  EXPECT_EQ(smaller.Balance(kAlice), 800);
  EXPECT_TRUE(smaller.CheckInvariants().ok());

  Core larger(WindowOptions(8));
  ASSERT_TRUE(larger.LoadSnapshot(snapshot).ok());
  EXPECT_EQ(larger.Stats().request_results, 4u);
  for (RequestKey key = 3; key <= 6; ++key) EXPECT_EQ(charge(larger, key), 100 * key);
  EXPECT_EQ(larger.Balance(kAlice), 600);
  for (RequestKey key = 7; key <= 10; ++key) EXPECT_EQ(charge(larger, key), 100 * key);
  EXPECT_EQ(larger.Stats().request_results, 8u);
  EXPECT_EQ(charge(larger, 3), 300);    // Still remembered: 3..10.
  EXPECT_EQ(charge(larger, 11), 1100);  // Full: 3, the oldest, goes.
  EXPECT_EQ(charge(larger, 3), 1200);
  EXPECT_EQ(charge(larger, 4), 1300);  // ...then 4 (pushed out by 3).
  EXPECT_EQ(larger.Balance(kAlice), 1300);
  EXPECT_TRUE(larger.CheckInvariants().ok());
}

}  // namespace
}  // namespace encore::testing
