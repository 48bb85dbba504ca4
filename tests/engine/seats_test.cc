// Seat holds: validation, all-or-nothing, limits, release, expiry, sale window and prices.
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;

std::vector<SeatState> SeatStates(const Core& core, ScheduleId schedule = kSchedule) {
  std::vector<SeatState> seats;
  EXPECT_EQ(core.SeatMapUnchecked(schedule, &seats), ResultCode::kOk);
  return seats;
}

// A hold command with an arbitrary seat count (beyond what an initializer list
// of HoldCommand can express).
Command HoldOfCount(UserId user, QueueToken token, uint8_t seat_count) {
  Command command = HoldCommand(kSchedule, user, token, {}, 0);
  command.seat_count = seat_count;
  for (uint32_t i = 0; i < kHoldSeatsMax; ++i) command.seats[i] = i;
  return command;
}

void ExpectConsistent(CoreHarness& harness) {
  EXPECT_TRUE(harness.core().CheckInvariants().ok()) << harness.core().CheckInvariants();
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
}

TEST(SeatsTest, HoldReportsHoldDeadlineSeatsAndPrice) {
  CoreHarness harness;
  const QueueToken token = harness.Admit(kAlice);
  const Reply reply = harness.Run(HoldCommand(kSchedule, kAlice, token, {3, 7}, 0));
  ASSERT_EQ(reply.code, ResultCode::kOk);
  EXPECT_EQ(reply.type, CommandType::kHoldSeats);
  EXPECT_EQ(reply.hold, 1u);
  EXPECT_EQ(reply.hold_deadline_ms, harness.now() + kHoldTtlDefaultMs);
  EXPECT_EQ(reply.seat_count, 2);
  EXPECT_EQ(reply.amount, 2 * 5000);

  const std::vector<SeatState> seats = SeatStates(harness.core());
  EXPECT_EQ(seats[3], SeatState::kHeld);
  EXPECT_EQ(seats[7], SeatState::kHeld);
  EXPECT_EQ(seats[4], SeatState::kAvailable);
  ScheduleInfo info;
  ASSERT_EQ(harness.core().GetSchedule(kSchedule, &info), ResultCode::kOk);
  EXPECT_EQ(info.seats_held, 2u);
  EXPECT_EQ(info.seats_available, 98u);
  EXPECT_EQ(info.seats_sold, 0u);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);
  ExpectConsistent(harness);
}

TEST(SeatsTest, HoldIdsAreSequentialPerSchedule) {
  CoreHarness harness;
  const QueueToken alice = harness.Admit(kAlice);
  const QueueToken bob = harness.Admit(kBob);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {0}, 0)).hold, 1u);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {1}, 0)).hold, 2u);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {2}, 0)).hold, 3u);
}

TEST(SeatsTest, HoldIsAllOrNothing) {
  CoreHarness harness;
  const QueueToken bob = harness.Admit(kBob);
  ASSERT_TRUE(harness.Run(HoldCommand(kSchedule, kBob, bob, {5}, 0)).ok());
  const QueueToken alice = harness.Admit(kAlice);

  const size_t events_before = harness.events().count();
  const Reply refused = harness.Run(HoldCommand(kSchedule, kAlice, alice, {4, 5, 6}, 0));
  EXPECT_EQ(refused.code, ResultCode::kSeatUnavailable);
  EXPECT_EQ(refused.hold, 0u);
  // Only the request record: no seat was taken.
  EXPECT_EQ(harness.events().count(), events_before + 1);
  std::vector<SeatState> seats = SeatStates(harness.core());
  EXPECT_EQ(seats[4], SeatState::kAvailable);
  EXPECT_EQ(seats[5], SeatState::kHeld);
  EXPECT_EQ(seats[6], SeatState::kAvailable);
  EXPECT_EQ(harness.core().Stats().seats_held, 1u);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);

  // The refused hold did not count against Alice's limit: the free seats are hers.
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, alice, {4, 6}, 0));
  ASSERT_EQ(held.code, ResultCode::kOk);
  seats = SeatStates(harness.core());
  EXPECT_EQ(seats[4], SeatState::kHeld);
  EXPECT_EQ(seats[6], SeatState::kHeld);
  ExpectConsistent(harness);
}

TEST(SeatsTest, AllOrNothingWhenTheLastSeatOfTheListIsTaken) {
  CoreHarness harness;
  const QueueToken bob = harness.Admit(kBob);
  ASSERT_TRUE(harness.Run(HoldCommand(kSchedule, kBob, bob, {9}, 0)).ok());
  const QueueToken alice = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {0, 1, 2, 9}, 0)).code,
            ResultCode::kSeatUnavailable);
  const std::vector<SeatState> seats = SeatStates(harness.core());
  for (SeatIndex seat : {0u, 1u, 2u}) EXPECT_EQ(seats[seat], SeatState::kAvailable) << seat;
  EXPECT_EQ(harness.core().Stats().seats_held, 1u);
}

TEST(SeatsTest, LastSeatGoesToExactlyOneUser) {
  CoreHarness harness(MakeScheduleConfig(kSchedule, 1));
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 5000, 0)).ok());
  const QueueToken alice = harness.Admit(kAlice);
  const QueueToken bob = harness.Admit(kBob);

  const Reply first = harness.Run(HoldCommand(kSchedule, kAlice, alice, {0}, 0));
  ASSERT_EQ(first.code, ResultCode::kOk);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {0}, 0)).code,
            ResultCode::kSeatUnavailable);

  ASSERT_EQ(harness.Run(PayCommand(kSchedule, kAlice, alice, first.hold, 0)).code, ResultCode::kOk);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {0}, 0)).code,
            ResultCode::kSeatUnavailable);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kSold);
  ScheduleInfo info;
  ASSERT_EQ(harness.core().GetSchedule(kSchedule, &info), ResultCode::kOk);
  EXPECT_EQ(info.seats_available, 0u);
  EXPECT_EQ(info.seats_sold, 1u);
  ExpectConsistent(harness);
}

TEST(SeatsTest, SeatOutOfRangeIsNotFound) {
  CoreHarness harness;  // 100 seats: 0 .. 99.
  const QueueToken token = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {100}, 0)).code,
            ResultCode::kSeatNotFound);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {UINT32_MAX}, 0)).code,
            ResultCode::kSeatNotFound);
  // A valid seat beside an invalid one is not taken either.
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {0, 100}, 0)).code,
            ResultCode::kSeatNotFound);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kAvailable);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);

  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {99}, 0)).code, ResultCode::kOk);
  EXPECT_EQ(SeatStates(harness.core())[99], SeatState::kHeld);
}

TEST(SeatsTest, DuplicateSeatIsRefused) {
  CoreHarness harness;
  const QueueToken token = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {3, 3}, 0)).code,
            ResultCode::kDuplicateSeat);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {1, 2, 1}, 0)).code,
            ResultCode::kDuplicateSeat);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);
  EXPECT_EQ(harness.core().Stats().holds_live, 0u);
}

TEST(SeatsTest, SeatCountZeroOrOverMaxIsRefused) {
  ScheduleConfig config = MakeScheduleConfig();
  config.seats_per_user_max = kHoldSeatsMax;
  CoreHarness harness(config);
  const QueueToken token = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldOfCount(kAlice, token, 0)).code, ResultCode::kInvalidSeatCount);
  EXPECT_EQ(harness.Run(HoldOfCount(kAlice, token, kHoldSeatsMax + 1)).code,
            ResultCode::kInvalidSeatCount);
  EXPECT_EQ(harness.Run(HoldOfCount(kAlice, token, UINT8_MAX)).code, ResultCode::kInvalidSeatCount);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);

  // Exactly kHoldSeatsMax is allowed.
  const Reply full = harness.Run(HoldOfCount(kAlice, token, kHoldSeatsMax));
  ASSERT_EQ(full.code, ResultCode::kOk);
  EXPECT_EQ(full.seat_count, kHoldSeatsMax);
  EXPECT_EQ(harness.core().Stats().seats_held, kHoldSeatsMax);
}

TEST(SeatsTest, SeatHeldBySomeoneIsUnavailable) {
  CoreHarness harness;
  const QueueToken alice = harness.Admit(kAlice);
  const QueueToken bob = harness.Admit(kBob);
  ASSERT_TRUE(harness.Run(HoldCommand(kSchedule, kAlice, alice, {0, 1}, 0)).ok());
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {1}, 0)).code,
            ResultCode::kSeatUnavailable);
  // Also by the holder herself: a seat is in at most one hold.
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {1}, 0)).code,
            ResultCode::kSeatUnavailable);
  EXPECT_EQ(harness.core().Stats().seats_held, 2u);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);
}

TEST(SeatsTest, SoldSeatIsUnavailable) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 10'000, 0)).ok());
  QueueToken alice;
  const HoldId hold = harness.HoldFor(kAlice, {0}, &alice);
  ASSERT_NE(hold, 0u);
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, alice, hold, 0)).ok());
  const QueueToken bob = harness.Admit(kBob);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {0}, 0)).code,
            ResultCode::kSeatUnavailable);
  // The buyer cannot hold her own sold seat again either.
  const QueueToken alice_again = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice_again, {0}, 0)).code,
            ResultCode::kSeatUnavailable);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kSold);
  ExpectConsistent(harness);
}

TEST(SeatsTest, PerUserLimitCountsHeldSeats) {
  CoreHarness harness;  // seats_per_user_max = 4.
  const QueueToken token = harness.Admit(kAlice);
  ASSERT_TRUE(harness.Run(HoldCommand(kSchedule, kAlice, token, {0, 1, 2}, 0)).ok());
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {3, 4}, 0)).code,
            ResultCode::kSeatLimitExceeded);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {3}, 0)).code, ResultCode::kOk);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {4}, 0)).code,
            ResultCode::kSeatLimitExceeded);
  EXPECT_EQ(harness.core().Stats().seats_held, 4u);
  // The limit is per user: Bob is not affected by Alice's seats.
  const QueueToken bob = harness.Admit(kBob);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {4, 5, 6, 7}, 0)).code, ResultCode::kOk);
  ExpectConsistent(harness);
}

TEST(SeatsTest, PerUserLimitAppliesToOneHold) {
  CoreHarness harness;  // seats_per_user_max = 4, kHoldSeatsMax = 8.
  const QueueToken token = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {0, 1, 2, 3, 4}, 0)).code,
            ResultCode::kSeatLimitExceeded);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {0, 1, 2, 3}, 0)).code,
            ResultCode::kOk);
}

TEST(SeatsTest, PerUserLimitCountsSoldSeats) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 100'000, 0)).ok());
  QueueToken token;
  const HoldId hold = harness.HoldFor(kAlice, {0, 1, 2}, &token);
  ASSERT_NE(hold, 0u);
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, token, hold, 0)).ok());
  // Paying ended the token; a new entry gives a new one.
  const QueueToken again = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, again, {3, 4}, 0)).code,
            ResultCode::kSeatLimitExceeded);
  const Reply last = harness.Run(HoldCommand(kSchedule, kAlice, again, {3}, 0));
  ASSERT_EQ(last.code, ResultCode::kOk);
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, again, last.hold, 0)).ok());
  const QueueToken third = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, third, {4}, 0)).code,
            ResultCode::kSeatLimitExceeded);
  EXPECT_EQ(harness.core().Stats().seats_sold, 4u);
  ExpectConsistent(harness);
}

TEST(SeatsTest, ReleasedAndExpiredSeatsNoLongerCountAgainstTheLimit) {
  CoreHarness harness;
  const QueueToken token = harness.Admit(kAlice);
  const Reply first = harness.Run(HoldCommand(kSchedule, kAlice, token, {0, 1, 2, 3}, 0));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(harness.Run(ReleaseCommand(kSchedule, kAlice, token, first.hold, 0)).ok());
  const Reply second = harness.Run(HoldCommand(kSchedule, kAlice, token, {4, 5, 6, 7}, 0));
  ASSERT_EQ(second.code, ResultCode::kOk);
  harness.AdvanceTo(second.hold_deadline_ms);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {8, 9, 10, 11}, 0)).code,
            ResultCode::kOk);
  ExpectConsistent(harness);
}

TEST(SeatsTest, HolderReleasesHold) {
  CoreHarness harness;
  const QueueToken alice = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, alice, {10, 11, 12}, 0));
  ASSERT_TRUE(held.ok());

  const Reply released = harness.Run(ReleaseCommand(kSchedule, kAlice, alice, held.hold, 0));
  ASSERT_EQ(released.code, ResultCode::kOk);
  EXPECT_EQ(released.type, CommandType::kReleaseHold);
  EXPECT_EQ(released.hold, held.hold);
  EXPECT_EQ(released.seat_count, 3);
  const std::vector<SeatState> seats = SeatStates(harness.core());
  for (SeatIndex seat : {10u, 11u, 12u}) EXPECT_EQ(seats[seat], SeatState::kAvailable) << seat;
  EXPECT_EQ(harness.core().Stats().holds_live, 0u);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);

  // Released once only; the seats are free for anyone.
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, alice, held.hold, 0)).code,
            ResultCode::kHoldReleased);
  const QueueToken bob = harness.Admit(kBob);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {10, 11, 12}, 0)).code, ResultCode::kOk);
  ExpectConsistent(harness);
}

TEST(SeatsTest, ReleaseOfForeignHoldIsNotOwned) {
  CoreHarness harness;
  const QueueToken alice = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, alice, {0, 1}, 0));
  ASSERT_TRUE(held.ok());
  const QueueToken bob = harness.Admit(kBob);
  const size_t events_before = harness.events().count();
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kBob, bob, held.hold, 0)).code,
            ResultCode::kHoldNotOwned);
  EXPECT_EQ(harness.events().count(), events_before + 1);  // The request record only.
  const std::vector<SeatState> seats = SeatStates(harness.core());
  EXPECT_EQ(seats[0], SeatState::kHeld);
  EXPECT_EQ(seats[1], SeatState::kHeld);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);
  // The owner still can.
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, alice, held.hold, 0)).code,
            ResultCode::kOk);
}

TEST(SeatsTest, ReleaseOfUnknownHoldOrScheduleIsNotFound) {
  CoreHarness harness;
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, QueueToken{}, 0, 0)).code,
            ResultCode::kHoldNotFound);
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, QueueToken{}, 999, 0)).code,
            ResultCode::kHoldNotFound);
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule + 1, kAlice, QueueToken{}, 1, 0)).code,
            ResultCode::kScheduleNotFound);
}

TEST(SeatsTest, ReleaseOfPaidHoldIsAlreadyPaid) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 5000, 0)).ok());
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 0));
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, token, held.hold, 0)).ok());
  // Paying ended the token's turn: only the hold's proof still speaks for it.
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, token, held.hold, 0)).code,
            ResultCode::kTokenExpired);
  EXPECT_EQ(
      harness.Run(ReleaseWithProofCommand(kSchedule, kAlice, held.hold, held.hold_proof, 0)).code,
      ResultCode::kAlreadyPaid);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kSold);
}

TEST(SeatsTest, HoldIsLiveOneMillisecondBeforeItsDeadline) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 5000, 0)).ok());
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 0));
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(harness.core().NextDeadlineMs(), held.hold_deadline_ms);

  harness.AdvanceTo(held.hold_deadline_ms - 1);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kHeld);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);
  const Reply paid = harness.Run(PayCommand(kSchedule, kAlice, token, held.hold, 0));
  EXPECT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kSold);
  ExpectConsistent(harness);
}

TEST(SeatsTest, CommandAtDeadlineMinusOneSeesTheHold) {
  CoreHarness harness;
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 0));
  ASSERT_TRUE(held.ok());
  const QueueToken bob = harness.Admit(kBob);
  EXPECT_EQ(
      harness.RunAt(HoldCommand(kSchedule, kBob, bob, {0}, 0), held.hold_deadline_ms - 1).code,
      ResultCode::kSeatUnavailable);
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, token, held.hold, 0)).code,
            ResultCode::kOk);
}

TEST(SeatsTest, HoldExpiresExactlyAtItsDeadline) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 10'000, 0)).ok());
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {0, 1}, 0));
  ASSERT_TRUE(held.ok());

  harness.AdvanceTo(held.hold_deadline_ms);
  std::vector<SeatState> seats = SeatStates(harness.core());
  EXPECT_EQ(seats[0], SeatState::kAvailable);
  EXPECT_EQ(seats[1], SeatState::kAvailable);
  EXPECT_EQ(harness.core().Stats().holds_live, 0u);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);

  const Reply paid = harness.Run(PayCommand(kSchedule, kAlice, token, held.hold, 0));
  EXPECT_EQ(paid.code, ResultCode::kHoldExpired);
  EXPECT_EQ(harness.core().Balance(kAlice), 10'000);
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, token, held.hold, 0)).code,
            ResultCode::kHoldExpired);
  seats = SeatStates(harness.core());
  EXPECT_EQ(seats[0], SeatState::kAvailable);
  EXPECT_EQ(harness.core().Stats().seats_sold, 0u);
  ExpectConsistent(harness);
}

TEST(SeatsTest, PayArrivingExactlyAtTheDeadlineFindsTheHoldExpired) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 10'000, 0)).ok());
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 0));
  ASSERT_TRUE(held.ok());
  // No AdvanceTime first: the pay command itself is the first to see the deadline.
  const Reply paid =
      harness.RunAt(PayCommand(kSchedule, kAlice, token, held.hold, 0), held.hold_deadline_ms);
  EXPECT_EQ(paid.code, ResultCode::kHoldExpired);
  EXPECT_EQ(harness.core().Balance(kAlice), 10'000);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kAvailable);
  ExpectConsistent(harness);
}

TEST(SeatsTest, SeatsOfAnExpiredHoldCanBeHeldAtTheDeadline) {
  CoreHarness harness;
  const QueueToken alice = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, alice, {0, 1}, 0));
  ASSERT_TRUE(held.ok());
  const QueueToken bob = harness.Admit(kBob);
  const Reply taken =
      harness.RunAt(HoldCommand(kSchedule, kBob, bob, {0, 1}, 0), held.hold_deadline_ms);
  EXPECT_EQ(taken.code, ResultCode::kOk);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);
  ExpectConsistent(harness);
}

TEST(SeatsTest, ExpiredHoldStaysExpired) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 10'000, 0)).ok());
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 0));
  ASSERT_TRUE(held.ok());
  harness.AdvanceTo(held.hold_deadline_ms + 1'000);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kAvailable);
  EXPECT_EQ(harness.Run(PayCommand(kSchedule, kAlice, token, held.hold, 0)).code,
            ResultCode::kHoldExpired);
  EXPECT_EQ(harness.core().Balance(kAlice), 10'000);
  ExpectConsistent(harness);
}

TEST(SeatsTest, HoldTtlComesFromTheSchedule) {
  ScheduleConfig config = MakeScheduleConfig();
  config.hold_ttl_ms = kHoldTtlMinMs;
  CoreHarness harness(config);
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 0));
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held.hold_deadline_ms, harness.now() + kHoldTtlMinMs);
  harness.AdvanceBy(kHoldTtlMinMs - 1);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kHeld);
  harness.AdvanceBy(1);
  EXPECT_EQ(SeatStates(harness.core())[0], SeatState::kAvailable);
}

TEST(SeatsTest, NoHoldBeforeTheSaleOpens) {
  ScheduleConfig config = MakeScheduleConfig();
  config.sale_opens_at_ms = kSaleOpensMs + 10'000;  // The harness clock starts at kSaleOpensMs.
  CoreHarness harness(config);
  const Reply entered = harness.Run(EnterCommand(kSchedule, kAlice, 0));
  ASSERT_EQ(entered.code, ResultCode::kOk);
  EXPECT_EQ(entered.queue_state, QueueState::kWaiting);
  // Nobody is admitted before the sale opens, so the gate refuses first.
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, entered.token, {0}, 0)).code,
            ResultCode::kTokenNotActive);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);

  harness.AdvanceTo(config.sale_opens_at_ms);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, entered.token, {0}, 0)).code,
            ResultCode::kOk);
  ExpectConsistent(harness);
}

TEST(SeatsTest, NoHoldFromTheMomentTheSaleCloses) {
  CoreHarness harness;
  harness.AdvanceTo(kSaleClosesMs - 1'000);
  const QueueToken token = harness.Admit(kAlice);
  harness.AdvanceTo(kSaleClosesMs - 1);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {0}, 0)).code, ResultCode::kOk);
  harness.AdvanceTo(kSaleClosesMs);
  const Reply closed = harness.Run(HoldCommand(kSchedule, kAlice, token, {1}, 0));
  EXPECT_EQ(closed.code, ResultCode::kSaleClosed);
  EXPECT_EQ(harness.core().Stats().seats_held, 1u);
  EXPECT_EQ(SeatStates(harness.core())[1], SeatState::kAvailable);
}

TEST(SeatsTest, UnknownScheduleIsNotFound) {
  CoreHarness harness;
  const QueueToken token = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule + 1, kAlice, token, {0}, 0)).code,
            ResultCode::kScheduleNotFound);
  std::vector<SeatState> seats;
  EXPECT_EQ(harness.core().SeatMapUnchecked(kSchedule + 1, &seats), ResultCode::kScheduleNotFound);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);
}

TEST(SeatsTest, HoldPriceFollowsTheTiers) {
  CoreHarness harness;  // Seats 0..49 at 5000, 50..99 at 3000.
  const QueueToken alice = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {0}, 0)).amount, 5000);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {49}, 0)).amount, 5000);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {50}, 0)).amount, 3000);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {99}, 0)).amount, 3000);
  const QueueToken bob = harness.Admit(kBob);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob, {48, 51}, 0)).amount, 8000);
}

TEST(SeatsTest, ThreeTierPricesAreChargedOnPayment) {
  ScheduleConfig config = MakeScheduleConfig(kSchedule, 30);
  config.seats_per_user_max = kHoldSeatsMax;
  config.tier_count = 3;
  config.tiers[0] = PriceTier{0, 0, 10'000};
  config.tiers[1] = PriceTier{10, 0, 7'000};
  config.tiers[2] = PriceTier{20, 0, 4'000};
  CoreHarness harness(config);
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 100'000, 0)).ok());
  const QueueToken token = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, token, {9, 10, 19, 20, 29}, 0));
  ASSERT_EQ(held.code, ResultCode::kOk);
  EXPECT_EQ(held.amount, 10'000 + 7'000 + 7'000 + 4'000 + 4'000);
  const Reply paid = harness.Run(PayCommand(kSchedule, kAlice, token, held.hold, 0));
  ASSERT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(paid.amount, 32'000);
  EXPECT_EQ(harness.core().Balance(kAlice), 100'000 - 32'000);
  ExpectConsistent(harness);
}

}  // namespace
}  // namespace encore::testing
