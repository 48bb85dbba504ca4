// Admission queue: FIFO per policy, re-entry, heartbeats, TTLs, slots, positions, ETA, memory.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr int64_t kIntervalMs = 1'000;

AdmissionPolicy ActiveMaxPolicy(uint32_t active_max) {
  AdmissionPolicy policy;
  policy.active_max = active_max;
  return policy;
}

AdmissionPolicy RatePolicy(uint32_t admit_per_interval, int64_t interval_ms = kIntervalMs) {
  AdmissionPolicy policy;
  policy.admit_per_interval = admit_per_interval;
  policy.interval_ms = interval_ms;
  return policy;
}

ScheduleConfig ConfigWithPolicy(AdmissionPolicy policy) {
  ScheduleConfig config = MakeScheduleConfig();
  config.policy = policy;
  return config;
}

Reply Enter(CoreHarness& harness, UserId user) {
  return harness.Run(EnterCommand(kSchedule, user, 0));
}

Reply Poll(CoreHarness& harness, UserId user, QueueToken token) {
  return harness.Run(StatusCommand(kSchedule, user, token));
}

Reply Leave(CoreHarness& harness, UserId user, QueueToken token) {
  return harness.Run(LeaveCommand(kSchedule, user, token, 0));
}

// The state of an entry as the gate sees it, read without a heartbeat (a poll
// would reset a WAITING entry's heartbeat): kActive, kWaiting, or kExpired for
// any entry that ended.
QueueState GateState(CoreHarness& harness, UserId user, QueueToken token) {
  std::vector<SeatState> seats;
  const ResultCode code = harness.core().SeatMap(kSchedule, user, token, &seats);
  switch (code) {
    case ResultCode::kOk:
      return QueueState::kActive;
    case ResultCode::kTokenNotActive:
      return QueueState::kWaiting;
    case ResultCode::kTokenExpired:
      return QueueState::kExpired;
    default:
      ADD_FAILURE() << "unexpected gate code " << ResultCodeName(code);
      return QueueState::kNone;
  }
}

// Entry numbers of `schedule` in the order of their QUEUE_ADMITTED events.
std::vector<uint32_t> AdmittedEntries(const EventBuffer& events, ScheduleId schedule = kSchedule) {
  std::vector<uint32_t> entries;
  events.ForEach([&](const EventView& event) {
    if (event.type != EventType::kQueueAdmitted) return;
    const QueueAdmitted admitted = event.As<QueueAdmitted>();
    if (admitted.schedule == schedule) entries.push_back(admitted.entry);
  });
  return entries;
}

// Strict FIFO: each schedule admits its entries in entry order.
void ExpectStrictFifo(const CoreHarness& harness) {
  for (ScheduleId schedule : {kSchedule, kSchedule + 1}) {
    const std::vector<uint32_t> admitted = AdmittedEntries(harness.events(), schedule);
    for (size_t i = 1; i < admitted.size(); ++i) {
      EXPECT_LT(admitted[i - 1], admitted[i])
          << "schedule " << schedule << " admission " << i << " out of entry order";
    }
  }
}

void ExpectConsistent(CoreHarness& harness) {
  EXPECT_TRUE(harness.core().CheckInvariants().ok()) << harness.core().CheckInvariants();
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
  ExpectStrictFifo(harness);
}

ScheduleInfo Info(CoreHarness& harness) {
  ScheduleInfo info{};
  EXPECT_EQ(harness.core().GetSchedule(kSchedule, &info), ResultCode::kOk);
  return info;
}

// Enters users first .. last (inclusive) in order; tokens[user] is each token.
std::vector<QueueToken> EnterAll(CoreHarness& harness, UserId first, UserId last) {
  std::vector<QueueToken> tokens(last + 1);
  for (UserId user = first; user <= last; ++user) {
    const Reply reply = Enter(harness, user);
    EXPECT_EQ(reply.code, ResultCode::kOk) << "user " << user;
    tokens[user] = reply.token;
  }
  return tokens;
}

// ---------------------------------------------------------------------------
// FIFO under each policy.

TEST(AdmissionQueueTest, ActiveMaxAdmitsInEntryOrderAsSlotsFree) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(2)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 6);
  EXPECT_EQ(GateState(harness, 1, tokens[1]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kActive);
  for (UserId user = 3; user <= 6; ++user) {
    const Reply status = Poll(harness, user, tokens[user]);
    EXPECT_EQ(status.queue_state, QueueState::kWaiting) << "user " << user;
    EXPECT_EQ(status.position, user - 2) << "user " << user;
  }
  EXPECT_EQ(Info(harness).queue_active, 2u);
  EXPECT_EQ(Info(harness).queue_waiting, 4u);

  // Each freed slot goes to the head of the line, never to a later entrant.
  ASSERT_TRUE(Leave(harness, 2, tokens[2]).ok());
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kWaiting);
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 5, tokens[5]), QueueState::kWaiting);

  // A late entrant queues behind those already waiting.
  const Reply late = Enter(harness, 7);
  EXPECT_EQ(late.queue_state, QueueState::kWaiting);
  EXPECT_EQ(late.position, 3u);
  ASSERT_TRUE(Leave(harness, 4, tokens[4]).ok());
  EXPECT_EQ(GateState(harness, 5, tokens[5]), QueueState::kActive);
  ASSERT_TRUE(Leave(harness, 3, tokens[3]).ok());
  EXPECT_EQ(GateState(harness, 6, tokens[6]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 7, late.token), QueueState::kWaiting);
  EXPECT_EQ(Poll(harness, 7, late.token).position, 1u);
  EXPECT_EQ(AdmittedEntries(harness.events()), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5}));
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, RateAdmitsExactlyNPerWindowAtTheBoundary) {
  CoreHarness harness(ConfigWithPolicy(RatePolicy(3)));
  const TimestampMs start = harness.now();
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 10);
  auto active_count = [&] {
    uint32_t count = 0;
    for (UserId user = 1; user <= 10; ++user) {
      if (GateState(harness, user, tokens[user]) == QueueState::kActive) ++count;
    }
    return count;
  };
  auto expect_first_active = [&](uint32_t count) {
    for (UserId user = 1; user <= 10; ++user) {
      EXPECT_EQ(GateState(harness, user, tokens[user]),
                user <= count ? QueueState::kActive : QueueState::kWaiting)
          << "user " << user << " at +" << harness.now() - start;
    }
  };
  expect_first_active(3);
  for (uint32_t window = 1; window <= 3; ++window) {
    harness.AdvanceTo(start + window * kIntervalMs - 1);
    EXPECT_EQ(active_count(), 3 * window) << "just before window " << window;
    harness.AdvanceTo(start + window * kIntervalMs);
    expect_first_active(std::min<uint32_t>(3 * (window + 1), 10));
  }
  EXPECT_EQ(Info(harness).queue_waiting, 0u);
  EXPECT_EQ(Info(harness).queue_active, 10u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, RateAdmitsAtOnceWhileTheWindowHasRoom) {
  CoreHarness harness(ConfigWithPolicy(RatePolicy(3)));
  const TimestampMs start = harness.now();
  EXPECT_EQ(Enter(harness, 1).queue_state, QueueState::kActive);
  harness.AdvanceTo(start + 200);
  EXPECT_EQ(Enter(harness, 2).queue_state, QueueState::kActive);
  harness.AdvanceTo(start + 500);
  EXPECT_EQ(Enter(harness, 3).queue_state, QueueState::kActive);
  harness.AdvanceTo(start + 600);
  const Reply fourth = Enter(harness, 4);
  EXPECT_EQ(fourth.queue_state, QueueState::kWaiting);
  EXPECT_EQ(fourth.position, 1u);
  harness.AdvanceTo(start + kIntervalMs - 1);
  EXPECT_EQ(GateState(harness, 4, fourth.token), QueueState::kWaiting);
  harness.AdvanceTo(start + kIntervalMs);
  const Reply admitted = Poll(harness, 4, fourth.token);
  EXPECT_EQ(admitted.queue_state, QueueState::kActive);
  EXPECT_EQ(admitted.active_deadline_ms, start + kIntervalMs + kActiveTtlDefaultMs);
  // The new window has room for two more: they are admitted on entry.
  EXPECT_EQ(Enter(harness, 5).queue_state, QueueState::kActive);
  EXPECT_EQ(Enter(harness, 6).queue_state, QueueState::kActive);
  EXPECT_EQ(Enter(harness, 7).queue_state, QueueState::kWaiting);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, ActiveMaxAndRateTogether) {
  AdmissionPolicy policy = RatePolicy(3);
  policy.active_max = 2;
  CoreHarness harness(ConfigWithPolicy(policy));
  const TimestampMs start = harness.now();
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 8);
  // The active limit binds first.
  EXPECT_EQ(Info(harness).queue_active, 2u);
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kActive);  // 3rd in the window.
  // Now the window is full: a freed slot waits for the next window.
  ASSERT_TRUE(Leave(harness, 2, tokens[2]).ok());
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kWaiting);
  EXPECT_EQ(Info(harness).queue_active, 1u);
  harness.AdvanceTo(start + kIntervalMs - 1);
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kWaiting);
  harness.AdvanceTo(start + kIntervalMs);
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kActive);
  // Active limit reached again (3 and 4), though the window has room.
  EXPECT_EQ(GateState(harness, 5, tokens[5]), QueueState::kWaiting);
  ASSERT_TRUE(Leave(harness, 3, tokens[3]).ok());
  EXPECT_EQ(GateState(harness, 5, tokens[5]), QueueState::kActive);
  ASSERT_TRUE(Leave(harness, 4, tokens[4]).ok());
  EXPECT_EQ(GateState(harness, 6, tokens[6]), QueueState::kActive);
  // Both limits bind (active 5 and 6, window of +1000 full); the next window
  // passes with no slot free, and a slot freed later admits at once.
  harness.AdvanceTo(start + 2 * kIntervalMs + 500);
  EXPECT_EQ(GateState(harness, 7, tokens[7]), QueueState::kWaiting);
  ASSERT_TRUE(Leave(harness, 5, tokens[5]).ok());
  EXPECT_EQ(GateState(harness, 7, tokens[7]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 8, tokens[8]), QueueState::kWaiting);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Re-entry.

TEST(AdmissionQueueTest, ReentryWhileWaitingOrActiveReturnsTheSameTokenAndPlace) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  const Reply first = Enter(harness, 1);
  ASSERT_EQ(first.queue_state, QueueState::kActive);
  const Reply second = Enter(harness, 2);
  const Reply third = Enter(harness, 3);
  ASSERT_EQ(second.queue_state, QueueState::kWaiting);
  ASSERT_EQ(third.position, 2u);

  harness.AdvanceBy(1'000);
  const Reply first_again = Enter(harness, 1);
  EXPECT_EQ(first_again.code, ResultCode::kOk);
  EXPECT_EQ(first_again.token, first.token);
  EXPECT_EQ(first_again.queue_state, QueueState::kActive);
  EXPECT_EQ(first_again.active_deadline_ms, first.active_deadline_ms);

  const Reply third_again = Enter(harness, 3);
  EXPECT_EQ(third_again.token, third.token);
  EXPECT_EQ(third_again.queue_state, QueueState::kWaiting);
  EXPECT_EQ(third_again.position, 2u);
  const Reply second_again = Enter(harness, 2);
  EXPECT_EQ(second_again.token, second.token);
  EXPECT_EQ(second_again.position, 1u);

  // No new entries were made.
  EXPECT_EQ(Info(harness).queue_waiting, 2u);
  EXPECT_EQ(Info(harness).queue_active, 1u);
  EXPECT_EQ(Enter(harness, 4).position, 3u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, ReentryAfterLeavingGetsANewTokenAtTheBack) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 4);
  const Reply left = Leave(harness, 2, tokens[2]);
  ASSERT_EQ(left.code, ResultCode::kOk);
  EXPECT_EQ(left.queue_state, QueueState::kLeft);
  EXPECT_EQ(Poll(harness, 3, tokens[3]).position, 1u);

  const Reply back = Enter(harness, 2);
  ASSERT_EQ(back.code, ResultCode::kOk);
  EXPECT_NE(back.token, tokens[2]);
  EXPECT_EQ(back.queue_state, QueueState::kWaiting);
  EXPECT_EQ(back.position, 3u);  // Behind 3 and 4.
  // The old token still names the old, ended entry.
  EXPECT_EQ(Poll(harness, 2, tokens[2]).queue_state, QueueState::kLeft);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kExpired);
  // Leaving again with the old token is refused.
  EXPECT_EQ(Leave(harness, 2, tokens[2]).code, ResultCode::kTokenExpired);
  EXPECT_EQ(Poll(harness, 2, back.token).position, 3u);

  // The new entry is admitted after 3 and 4.
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kActive);
  ASSERT_TRUE(Leave(harness, 3, tokens[3]).ok());
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 2, back.token), QueueState::kWaiting);
  ASSERT_TRUE(Leave(harness, 4, tokens[4]).ok());
  EXPECT_EQ(GateState(harness, 2, back.token), QueueState::kActive);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, ReentryAfterExpiryOrPaymentMakesANewEntry) {
  ScheduleConfig config = ConfigWithPolicy(ActiveMaxPolicy(1));
  config.active_ttl_ms = 10'000;
  CoreHarness harness(config);
  ASSERT_TRUE(harness.Run(ChargeCommand(1, 100'000, 0)).ok());
  const Reply first = Enter(harness, 1);
  harness.AdvanceBy(10'000);
  ASSERT_EQ(Poll(harness, 1, first.token).queue_state, QueueState::kExpired);
  const Reply second = Enter(harness, 1);
  EXPECT_NE(second.token, first.token);
  ASSERT_EQ(second.queue_state, QueueState::kActive);

  const Reply held = harness.Run(HoldCommand(kSchedule, 1, second.token, {0}, 0));
  ASSERT_EQ(held.code, ResultCode::kOk);
  const Reply paid = harness.Run(PayCommand(kSchedule, 1, second.token, held.hold, 0));
  ASSERT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(paid.queue_state, QueueState::kDone);
  EXPECT_EQ(Poll(harness, 1, second.token).queue_state, QueueState::kDone);
  const Reply third = Enter(harness, 1);
  EXPECT_NE(third.token, second.token);
  EXPECT_NE(third.token, first.token);
  EXPECT_EQ(third.queue_state, QueueState::kActive);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Heartbeats and TTLs.

TEST(AdmissionQueueTest, WaitingEntryWithoutHeartbeatIsDroppedExactlyAtTimeout) {
  constexpr int64_t kTimeoutMs = 5'000;
  ScheduleConfig config = ConfigWithPolicy(ActiveMaxPolicy(1));
  config.heartbeat_timeout_ms = kTimeoutMs;
  CoreHarness harness(config);
  const TimestampMs start = harness.now();
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 3);
  // The core asks to be woken by the first drop.
  EXPECT_LE(harness.core().NextDeadlineMs(), start + kTimeoutMs);

  harness.AdvanceTo(start + 3'000);
  ASSERT_EQ(Poll(harness, 3, tokens[3]).position, 2u);  // 3 polls; 2 does not.
  harness.AdvanceTo(start + kTimeoutMs - 1);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  harness.AdvanceTo(start + kTimeoutMs);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kExpired);
  EXPECT_EQ(Poll(harness, 2, tokens[2]).queue_state, QueueState::kExpired);
  EXPECT_EQ(Info(harness).queue_waiting, 1u);

  // 3 keeps polling (every 4 s, under the timeout) and stays in line.
  TimestampMs last_poll = start + 3'000;
  for (int i = 0; i < 5; ++i) {
    last_poll += 4'000;
    harness.AdvanceTo(last_poll);
    const Reply status = Poll(harness, 3, tokens[3]);
    EXPECT_EQ(status.queue_state, QueueState::kWaiting);
    EXPECT_EQ(status.position, 1u);
  }
  // The ACTIVE user never polled and was not dropped (it has its own TTL).
  EXPECT_EQ(GateState(harness, 1, tokens[1]), QueueState::kActive);

  // 3 stops polling: dropped exactly at its last poll + timeout.
  harness.AdvanceTo(last_poll + kTimeoutMs - 1);
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kWaiting);
  harness.AdvanceTo(last_poll + kTimeoutMs);
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kExpired);
  EXPECT_EQ(Info(harness).queue_waiting, 0u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, DroppedEntryIsNotAdmittedWhenASlotFrees) {
  ScheduleConfig config = ConfigWithPolicy(ActiveMaxPolicy(1));
  config.heartbeat_timeout_ms = 2'000;
  CoreHarness harness(config);
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 3);
  harness.AdvanceBy(1'000);
  Poll(harness, 3, tokens[3]);
  harness.AdvanceBy(1'000);  // 2 dropped.
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kExpired);
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kActive);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, ActiveTokenExpiresExactlyAtAdmissionPlusTtl) {
  constexpr int64_t kTtlMs = 30'000;
  ScheduleConfig config = ConfigWithPolicy(ActiveMaxPolicy(1));
  config.active_ttl_ms = kTtlMs;
  CoreHarness harness(config);
  const TimestampMs start = harness.now();
  const Reply first = Enter(harness, 1);
  ASSERT_EQ(first.queue_state, QueueState::kActive);
  EXPECT_EQ(first.active_deadline_ms, start + kTtlMs);
  harness.AdvanceTo(start + 1'000);
  const Reply second = Enter(harness, 2);
  ASSERT_EQ(second.queue_state, QueueState::kWaiting);

  // Polling keeps 2 in line; polling does not extend 1's TTL.
  for (TimestampMs at = start + 10'000; at < start + kTtlMs; at += 10'000) {
    harness.AdvanceTo(at);
    EXPECT_EQ(Poll(harness, 1, first.token).active_deadline_ms, start + kTtlMs);
    EXPECT_EQ(Poll(harness, 2, second.token).queue_state, QueueState::kWaiting);
  }
  harness.AdvanceTo(start + kTtlMs - 1);
  EXPECT_EQ(GateState(harness, 1, first.token), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 2, second.token), QueueState::kWaiting);
  harness.AdvanceTo(start + kTtlMs);
  EXPECT_EQ(Poll(harness, 1, first.token).queue_state, QueueState::kExpired);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, 1, first.token, {0}, 0)).code,
            ResultCode::kTokenExpired);
  // The freed slot went to 2, whose TTL counts from its own admission.
  const Reply admitted = Poll(harness, 2, second.token);
  EXPECT_EQ(admitted.queue_state, QueueState::kActive);
  EXPECT_EQ(admitted.active_deadline_ms, start + 2 * kTtlMs);
  harness.AdvanceTo(start + 2 * kTtlMs - 1);
  EXPECT_EQ(GateState(harness, 2, second.token), QueueState::kActive);
  harness.AdvanceTo(start + 2 * kTtlMs);
  EXPECT_EQ(GateState(harness, 2, second.token), QueueState::kExpired);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, DefaultActiveTtlIsTenMinutes) {
  CoreHarness harness;
  const TimestampMs start = harness.now();
  const Reply entered = Enter(harness, 1);
  EXPECT_EQ(entered.active_deadline_ms, start + 10 * 60'000);
  harness.AdvanceTo(start + 10 * 60'000 - 1);
  EXPECT_EQ(GateState(harness, 1, entered.token), QueueState::kActive);
  harness.AdvanceTo(start + 10 * 60'000);
  EXPECT_EQ(GateState(harness, 1, entered.token), QueueState::kExpired);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Freed slots.

TEST(AdmissionQueueTest, PaymentFreesTheSlotAtOnce) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  ASSERT_TRUE(harness.Run(ChargeCommand(1, 100'000, 0)).ok());
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 3);
  const Reply held = harness.Run(HoldCommand(kSchedule, 1, tokens[1], {0, 1}, 0));
  ASSERT_EQ(held.code, ResultCode::kOk);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  const Reply paid = harness.Run(PayCommand(kSchedule, 1, tokens[1], held.hold, 0));
  ASSERT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(paid.queue_state, QueueState::kDone);
  EXPECT_EQ(GateState(harness, 1, tokens[1]), QueueState::kExpired);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kActive);
  EXPECT_EQ(Poll(harness, 3, tokens[3]).position, 1u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, LeavingActiveFreesTheSlotAtOnce) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 2);
  const Reply left = Leave(harness, 1, tokens[1]);
  ASSERT_EQ(left.code, ResultCode::kOk);
  EXPECT_EQ(left.queue_state, QueueState::kLeft);
  const Reply admitted = Poll(harness, 2, tokens[2]);
  EXPECT_EQ(admitted.queue_state, QueueState::kActive);
  EXPECT_EQ(admitted.active_deadline_ms, harness.now() + kActiveTtlDefaultMs);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, HoldsAndFailedPaymentsDoNotFreeTheSlot) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 2);
  const Reply held = harness.Run(HoldCommand(kSchedule, 1, tokens[1], {0}, 0));
  ASSERT_EQ(held.code, ResultCode::kOk);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  // No balance: the payment is refused and the turn goes on.
  EXPECT_EQ(harness.Run(PayCommand(kSchedule, 1, tokens[1], held.hold, 0)).code,
            ResultCode::kInsufficientBalance);
  EXPECT_EQ(GateState(harness, 1, tokens[1]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  ASSERT_TRUE(harness.Run(ReleaseCommand(kSchedule, 1, tokens[1], held.hold, 0)).ok());
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  // A hold that runs out does not end the turn either.
  const Reply again = harness.Run(HoldCommand(kSchedule, 1, tokens[1], {1}, 0));
  ASSERT_EQ(again.code, ResultCode::kOk);
  // 2 keeps polling so that it stays in line until the hold's deadline.
  for (TimestampMs at = harness.now(); at < again.hold_deadline_ms; at += 30'000) {
    harness.AdvanceTo(at);
    ASSERT_EQ(Poll(harness, 2, tokens[2]).queue_state, QueueState::kWaiting);
  }
  harness.AdvanceTo(again.hold_deadline_ms);
  std::vector<SeatState> seats;
  ASSERT_EQ(harness.core().SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  EXPECT_EQ(seats[1], SeatState::kAvailable);  // The hold did run out.
  EXPECT_EQ(GateState(harness, 1, tokens[1]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Positions and ETA.

TEST(AdmissionQueueTest, PositionsShrinkExactlyAsUsersAheadDepart) {
  ScheduleConfig config = ConfigWithPolicy(ActiveMaxPolicy(1));
  config.heartbeat_timeout_ms = 5'000;
  CoreHarness harness(config);
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 8);
  auto expect_positions = [&](const std::vector<std::pair<UserId, uint64_t>>& expected) {
    for (const auto& [user, position] : expected) {
      const Reply status = Poll(harness, user, tokens[user]);
      EXPECT_EQ(status.queue_state, QueueState::kWaiting) << "user " << user;
      EXPECT_EQ(status.position, position) << "user " << user;
    }
  };
  expect_positions({{2, 1}, {3, 2}, {4, 3}, {5, 4}, {6, 5}, {7, 6}, {8, 7}});

  // A waiting user in the middle leaves: those behind move up by one.
  ASSERT_TRUE(Leave(harness, 4, tokens[4]).ok());
  harness.AdvanceBy(3'000);
  // Everyone but 6 polls; 6 is dropped at +5000.
  expect_positions({{2, 1}, {3, 2}, {5, 3}, {7, 5}, {8, 6}});
  harness.AdvanceBy(2'000);
  EXPECT_EQ(GateState(harness, 6, tokens[6]), QueueState::kExpired);
  expect_positions({{2, 1}, {3, 2}, {5, 3}, {7, 4}, {8, 5}});

  // The head of the line leaves.
  ASSERT_TRUE(Leave(harness, 2, tokens[2]).ok());
  expect_positions({{3, 1}, {5, 2}, {7, 3}, {8, 4}});
  // An admission takes the head.
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kActive);
  expect_positions({{5, 1}, {7, 2}, {8, 3}});
  EXPECT_EQ(Poll(harness, 3, tokens[3]).position, 0u);
  // The tail leaves: no one else moves.
  ASSERT_TRUE(Leave(harness, 8, tokens[8]).ok());
  expect_positions({{5, 1}, {7, 2}});
  EXPECT_EQ(Info(harness).queue_waiting, 2u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, EtaIsUnknownWithoutRateInformation) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 4);
  for (UserId user = 2; user <= 4; ++user) {
    EXPECT_EQ(Poll(harness, user, tokens[user]).eta_ms, -1) << "user " << user;
  }
  // Measured admissions (one per second) give a rate, and so an ETA.
  harness.AdvanceBy(1'000);
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  harness.AdvanceBy(1'000);
  ASSERT_TRUE(Leave(harness, 2, tokens[2]).ok());
  const Reply fourth = Poll(harness, 4, tokens[4]);
  ASSERT_EQ(fourth.queue_state, QueueState::kWaiting);
  EXPECT_EQ(fourth.position, 1u);
  EXPECT_GT(fourth.eta_ms, 0);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, EtaIsPositiveAndGrowsWithPlaceUnderRatePolicy) {
  CoreHarness harness(ConfigWithPolicy(RatePolicy(2)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 8);
  int64_t previous = 0;
  for (UserId user = 3; user <= 8; ++user) {
    const Reply status = Poll(harness, user, tokens[user]);
    ASSERT_EQ(status.queue_state, QueueState::kWaiting);
    EXPECT_GT(status.eta_ms, 0) << "user " << user;
    EXPECT_GE(status.eta_ms, previous) << "user " << user;
    previous = status.eta_ms;
  }
  EXPECT_GT(Poll(harness, 8, tokens[8]).eta_ms, Poll(harness, 3, tokens[3]).eta_ms);
  // Admitted entries report no wait.
  EXPECT_EQ(Poll(harness, 1, tokens[1]).position, 0u);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Policy changes and the sale window.

TEST(AdmissionQueueTest, RaisingActiveMaxWhileRunningAdmitsMoreAtOnce) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 5);
  ASSERT_TRUE(harness.Run(SetPolicyCommand(kSchedule, ActiveMaxPolicy(3), 0)).ok());
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kActive);
  EXPECT_EQ(Poll(harness, 4, tokens[4]).position, 1u);
  EXPECT_EQ(Poll(harness, 5, tokens[5]).position, 2u);
  EXPECT_EQ(Info(harness).config.policy.active_max, 3u);
  EXPECT_EQ(Info(harness).queue_active, 3u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, LoweringActiveMaxKeepsActiveUsersAndAdmitsBelowTheNewLimit) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(3)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 5);
  ASSERT_TRUE(harness.Run(SetPolicyCommand(kSchedule, ActiveMaxPolicy(1), 0)).ok());
  EXPECT_EQ(Info(harness).queue_active, 3u);
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kWaiting);
  ASSERT_TRUE(Leave(harness, 2, tokens[2]).ok());
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kWaiting);
  ASSERT_TRUE(Leave(harness, 3, tokens[3]).ok());
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 5, tokens[5]), QueueState::kWaiting);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, SwitchingToRatePolicyWhileRunning) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 6);
  const TimestampMs changed_at = harness.now() + 100;
  harness.AdvanceTo(changed_at);
  ASSERT_TRUE(harness.Run(SetPolicyCommand(kSchedule, RatePolicy(2), 0)).ok());
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 3, tokens[3]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kWaiting);
  harness.AdvanceTo(changed_at + kIntervalMs);
  EXPECT_EQ(GateState(harness, 4, tokens[4]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 5, tokens[5]), QueueState::kActive);
  EXPECT_EQ(GateState(harness, 6, tokens[6]), QueueState::kWaiting);
  // Turning every limit off admits the rest at once.
  ASSERT_TRUE(harness.Run(SetPolicyCommand(kSchedule, AdmissionPolicy{}, 0)).ok());
  EXPECT_EQ(GateState(harness, 6, tokens[6]), QueueState::kActive);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, ResettingThePolicyMidWindowLetsNoExtraBurstIn) {
  CoreHarness harness(ConfigWithPolicy(RatePolicy(2)));
  EnterAll(harness, 1, 6);
  EXPECT_EQ(Info(harness).queue_active, 2u);
  harness.AdvanceBy(kIntervalMs / 2);
  // The same rate again, and then a new interval, mid-window: the two
  // admitted in this window still count.
  ASSERT_TRUE(harness.Run(SetPolicyCommand(kSchedule, RatePolicy(2), 0)).ok());
  EXPECT_EQ(Info(harness).queue_active, 2u);
  ASSERT_TRUE(harness.Run(SetPolicyCommand(kSchedule, RatePolicy(2, 2 * kIntervalMs), 0)).ok());
  EXPECT_EQ(Info(harness).queue_active, 2u);
  // The new window (2 s from the change) holds the two already admitted.
  harness.AdvanceBy(2 * kIntervalMs - 1);
  EXPECT_EQ(Info(harness).queue_active, 2u);
  harness.AdvanceBy(1);
  EXPECT_EQ(Info(harness).queue_active, 4u);
  ExpectStrictFifo(harness);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, InvalidPolicyIsRefused) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  AdmissionPolicy rate_without_interval;
  rate_without_interval.admit_per_interval = 5;
  EXPECT_EQ(harness.Run(SetPolicyCommand(kSchedule, rate_without_interval, 0)).code,
            ResultCode::kInvalidArgument);
  EXPECT_EQ(harness.Run(SetPolicyCommand(kSchedule + 1, ActiveMaxPolicy(2), 0)).code,
            ResultCode::kScheduleNotFound);
  EXPECT_EQ(Info(harness).config.policy.active_max, 1u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, NoAdmissionBeforeTheSaleOpensThenInOrder) {
  constexpr int64_t kLeadMs = 10'000;
  ScheduleConfig config = ConfigWithPolicy(ActiveMaxPolicy(2));
  config.sale_opens_at_ms = kSaleOpensMs + kLeadMs;
  CoreHarness harness(config);
  const TimestampMs opens = config.sale_opens_at_ms;
  ASSERT_LT(harness.now(), opens);
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 3);
  for (UserId user = 1; user <= 3; ++user) {
    const Reply status = Poll(harness, user, tokens[user]);
    EXPECT_EQ(status.queue_state, QueueState::kWaiting) << "user " << user;
    EXPECT_EQ(status.position, user) << "user " << user;
    EXPECT_EQ(status.eta_ms, -1) << "user " << user;
  }
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, 1, tokens[1], {0}, 0)).code,
            ResultCode::kTokenNotActive);
  EXPECT_LE(harness.core().NextDeadlineMs(), opens);
  harness.AdvanceTo(opens - 1);
  EXPECT_EQ(GateState(harness, 1, tokens[1]), QueueState::kWaiting);
  harness.AdvanceTo(opens);
  const Reply first = Poll(harness, 1, tokens[1]);
  EXPECT_EQ(first.queue_state, QueueState::kActive);
  EXPECT_EQ(first.active_deadline_ms, opens + kActiveTtlDefaultMs);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kActive);
  EXPECT_EQ(Poll(harness, 3, tokens[3]).position, 1u);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, 1, tokens[1], {0}, 0)).code, ResultCode::kOk);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, RatePolicyBeforeOpenAdmitsFromTheOpening) {
  ScheduleConfig config = ConfigWithPolicy(RatePolicy(2));
  config.sale_opens_at_ms = kSaleOpensMs + 5'000;
  CoreHarness harness(config);
  const TimestampMs opens = config.sale_opens_at_ms;
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 5);
  harness.AdvanceTo(opens);
  EXPECT_EQ(Info(harness).queue_active, 2u);
  harness.AdvanceTo(opens + kIntervalMs - 1);
  EXPECT_EQ(Info(harness).queue_active, 2u);
  harness.AdvanceTo(opens + kIntervalMs);
  EXPECT_EQ(Info(harness).queue_active, 4u);
  EXPECT_EQ(GateState(harness, 5, tokens[5]), QueueState::kWaiting);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, EnteringAtOrAfterCloseIsSaleClosedAndNoOneIsAdmitted) {
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  harness.AdvanceTo(kSaleClosesMs - 2'000);
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 2);
  harness.AdvanceTo(kSaleClosesMs - 1);
  EXPECT_EQ(Enter(harness, 3).code, ResultCode::kOk);
  harness.AdvanceTo(kSaleClosesMs);
  const Reply late = Enter(harness, 4);
  EXPECT_EQ(late.code, ResultCode::kSaleClosed);
  EXPECT_EQ(late.token, QueueToken{});
  EXPECT_EQ(Enter(harness, 5).code, ResultCode::kSaleClosed);
  harness.AdvanceBy(1'000);
  EXPECT_EQ(Enter(harness, 5).code, ResultCode::kSaleClosed);
  // A slot freed after the close admits no one.
  ASSERT_TRUE(Leave(harness, 1, tokens[1]).ok());
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  EXPECT_EQ(Info(harness).queue_active, 0u);
  EXPECT_EQ(Info(harness).queue_waiting, 2u);
  ExpectConsistent(harness);
}

TEST(AdmissionQueueTest, QueuesOfSchedulesAreIndependent) {
  constexpr ScheduleId kOther = kSchedule + 1;
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  ScheduleConfig other = ConfigWithPolicy(ActiveMaxPolicy(1));
  other.schedule = kOther;
  ASSERT_TRUE(harness.Run(CreateScheduleCommand(other, 0)).ok());
  std::vector<QueueToken> tokens = EnterAll(harness, 1, 2);
  // User 2 waits in kSchedule but is first in the other queue.
  const Reply elsewhere = harness.Run(EnterCommand(kOther, 2, 0));
  EXPECT_EQ(elsewhere.queue_state, QueueState::kActive);
  EXPECT_NE(elsewhere.token, tokens[2]);
  const Reply third = harness.Run(EnterCommand(kOther, 3, 0));
  EXPECT_EQ(third.position, 1u);
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  ASSERT_TRUE(harness.Run(LeaveCommand(kOther, 2, elsewhere.token, 0)).ok());
  EXPECT_EQ(GateState(harness, 2, tokens[2]), QueueState::kWaiting);
  EXPECT_EQ(harness.Run(StatusCommand(kOther, 3, third.token)).queue_state, QueueState::kActive);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Memory.

TEST(AdmissionQueueTest, WaitingUserCostsAtMost64Bytes) {
  constexpr UserId kUsers = 100'001;  // One ACTIVE, 100,000 WAITING.
  CoreHarness harness(ConfigWithPolicy(ActiveMaxPolicy(1)));
  for (UserId user = 1; user <= kUsers; ++user) {
    const Reply reply = Enter(harness, user);
    ASSERT_EQ(reply.code, ResultCode::kOk) << "user " << user;
  }
  const CoreStats stats = harness.core().Stats();
  ASSERT_EQ(stats.queue_waiting, kUsers - 1);
  ASSERT_EQ(stats.queue_active, 1u);
  ASSERT_GT(stats.queue_state_bytes, 0u);
  const double bytes_per_waiting =
      static_cast<double>(stats.queue_state_bytes) / static_cast<double>(stats.queue_waiting);
  EXPECT_LE(bytes_per_waiting, 64.0) << stats.queue_state_bytes << " bytes";
  ExpectConsistent(harness);
}

}  // namespace
}  // namespace encore::testing
