// The event stream: exact replay, refusal of corrupted events, and the state hash.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;
constexpr UserId kCarol = 3;

void ExpectReplayMatches(CoreHarness& harness, const std::string& step) {
  SCOPED_TRACE(step);
  const absl::Status invariants = harness.core().CheckInvariants();
  EXPECT_TRUE(invariants.ok()) << invariants;
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
}

template <typename T>
std::span<const uint8_t> BytesOf(const T& event) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&event), sizeof(T));
}

template <typename T>
absl::Status ApplyTyped(Core& core, const T& event) {
  return core.ApplyEvent(EventView{T::kType, BytesOf(event)});
}

TEST(EventsTest, ReplayMatchesAfterEveryKindOfCommand) {
  CoreHarness harness;
  ExpectReplayMatches(harness, "create concert and schedule");

  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 20'000, 500)).ok());
  ExpectReplayMatches(harness, "charge");
  ASSERT_EQ(harness.Run(ChargeCommand(kAlice, 0, 0)).code, ResultCode::kInvalidAmount);
  ExpectReplayMatches(harness, "refused charge");

  const QueueToken alice = harness.Admit(kAlice);
  ExpectReplayMatches(harness, "enter and admit");
  ASSERT_TRUE(harness.Run(StatusCommand(kSchedule, kAlice, alice)).ok());
  ExpectReplayMatches(harness, "status of an active entry");

  const Reply first = harness.Run(HoldCommand(kSchedule, kAlice, alice, {0, 1}, 0));
  ASSERT_TRUE(first.ok());
  ExpectReplayMatches(harness, "hold");
  ASSERT_TRUE(harness.Run(ReleaseCommand(kSchedule, kAlice, alice, first.hold, 0)).ok());
  ExpectReplayMatches(harness, "release");
  const Reply second = harness.Run(HoldCommand(kSchedule, kAlice, alice, {50, 51}, 0));
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {50}, 0)).code,
            ResultCode::kSeatUnavailable);
  ExpectReplayMatches(harness, "refused hold");

  ASSERT_TRUE(harness.Run(SetPolicyCommand(kSchedule, AdmissionPolicy{1, 0, 0}, 0)).ok());
  ExpectReplayMatches(harness, "policy change");
  const Reply bob = harness.Run(EnterCommand(kSchedule, kBob, 0));
  ASSERT_EQ(bob.queue_state, QueueState::kWaiting);
  ExpectReplayMatches(harness, "enter and wait");
  harness.AdvanceBy(1'000);
  ASSERT_TRUE(harness.Run(StatusCommand(kSchedule, kBob, bob.token)).ok());
  ExpectReplayMatches(harness, "heartbeat");
  ASSERT_TRUE(harness.Run(LeaveCommand(kSchedule, kBob, bob.token, 0)).ok());
  ExpectReplayMatches(harness, "leave");
  const Reply carol = harness.Run(EnterCommand(kSchedule, kCarol, 0));
  ASSERT_EQ(carol.queue_state, QueueState::kWaiting);

  ASSERT_EQ(harness.Run(PayCommand(kSchedule, kAlice, alice, 999, 0)).code,
            ResultCode::kHoldNotFound);
  ExpectReplayMatches(harness, "refused pay");
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, alice, second.hold, 0)).ok());
  ExpectReplayMatches(harness, "pay, which ends the token and admits the next");
  const Reply carol_status = harness.Run(StatusCommand(kSchedule, kCarol, carol.token));
  ASSERT_EQ(carol_status.queue_state, QueueState::kActive);

  ASSERT_TRUE(harness.Run(ChargeCommand(kCarol, 100, 0)).ok());
  const Reply carol_hold = harness.Run(HoldCommand(kSchedule, kCarol, carol.token, {2}, 0));
  ASSERT_TRUE(carol_hold.ok());
  ASSERT_EQ(harness.Run(PayCommand(kSchedule, kCarol, carol.token, carol_hold.hold, 0)).code,
            ResultCode::kInsufficientBalance);
  ExpectReplayMatches(harness, "pay refused for the balance");

  harness.AdvanceTo(carol_hold.hold_deadline_ms);
  ASSERT_EQ(harness.core().Stats().holds_live, 0u);
  ExpectReplayMatches(harness, "hold expiry");
  harness.AdvanceTo(carol_status.active_deadline_ms);
  ASSERT_EQ(harness.core().Stats().queue_active, 0u);
  ExpectReplayMatches(harness, "token expiry");

  const Reply repeat = harness.Run(ChargeCommand(kAlice, 20'000, 500));
  ASSERT_EQ(repeat.code, ResultCode::kOk);
  ASSERT_EQ(repeat.balance, 20'000);  // The recorded reply.
  ASSERT_EQ(harness.Run(ChargeCommand(kAlice, 1, 500)).code, ResultCode::kRequestKeyReused);
  ExpectReplayMatches(harness, "repeat and reused key");

  ScheduleConfig other = MakeScheduleConfig(kSchedule + 1, 10);
  other.concert = kConcert + 1;
  ASSERT_TRUE(harness.Run(CreateConcertCommand(kConcert + 1, "Second", 0)).ok());
  ASSERT_TRUE(harness.Run(CreateScheduleCommand(other, 0)).ok());
  ASSERT_EQ(harness.Run(CreateScheduleCommand(other, 0)).code, ResultCode::kScheduleExists);
  ExpectReplayMatches(harness, "second concert and schedule");
}

TEST(EventsTest, InvariantsHoldAfterEveryReplayedEvent) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 20'000, 0)).ok());
  QueueToken alice;
  const HoldId hold = harness.HoldFor(kAlice, {0, 1, 2}, &alice);
  ASSERT_NE(hold, 0u);
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, alice, hold, 0)).ok());
  QueueToken bob;
  const HoldId bobs = harness.HoldFor(kBob, {3}, &bob);
  ASSERT_NE(bobs, 0u);
  ASSERT_EQ(harness.Run(PayCommand(kSchedule, kBob, bob, bobs, 0)).code,
            ResultCode::kInsufficientBalance);
  harness.AdvanceBy(kHoldTtlDefaultMs);

  Core replayed(TestCoreOptions());
  size_t index = 0;
  harness.events().ForEach([&](const EventView& event) {
    const absl::Status status = replayed.ApplyEvent(event);
    EXPECT_TRUE(status.ok()) << "event " << index << ": " << status;
    const absl::Status invariants = replayed.CheckInvariants();
    EXPECT_TRUE(invariants.ok()) << "after event " << index << " (" << EventTypeName(event.type)
                                 << "): " << invariants;
    ++index;
  });
  EXPECT_EQ(index, harness.events().count());
  EXPECT_EQ(replayed.StateHash(), harness.core().StateHash());
}

TEST(EventsTest, ReplayedCoreRunsOnLikeTheOriginal) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 20'000, 0)).ok());
  QueueToken alice;
  const HoldId hold = harness.HoldFor(kAlice, {0, 1}, &alice);
  ASSERT_NE(hold, 0u);
  const QueueToken bob = harness.Admit(kBob);

  Core replayed(TestCoreOptions());
  ASSERT_TRUE(replayed.ApplyEvents(harness.events()).ok());
  EventBuffer replayed_events;
  // The hold's timer is rebuilt by replay: it expires in both at the deadline.
  const TimestampMs deadline = harness.now() + kHoldTtlDefaultMs;
  const Command take = HoldCommand(kSchedule, kBob, bob, {0, 1}, 55);
  const Reply before_deadline = replayed.Apply(take, deadline - 1, &replayed_events);
  EXPECT_EQ(before_deadline.code, ResultCode::kSeatUnavailable);
  EXPECT_EQ(harness.RunAt(take, deadline - 1).code, ResultCode::kSeatUnavailable);

  const Command take_later = HoldCommand(kSchedule, kBob, bob, {0, 1}, 56);
  const Reply replayed_reply = replayed.Apply(take_later, deadline, &replayed_events);
  const Reply original_reply = harness.RunAt(take_later, deadline);
  EXPECT_EQ(replayed_reply.code, ResultCode::kOk);
  EXPECT_EQ(std::memcmp(&replayed_reply, &original_reply, sizeof(Reply)), 0);
  EXPECT_EQ(replayed.StateHash(), harness.core().StateHash());
  EXPECT_EQ(replayed.NextDeadlineMs(), harness.core().NextDeadlineMs());
}

// A core with some of everything: a live hold, a released hold, a payment,
// balances and request records.
class CorruptionTest : public ::testing::Test {
 protected:
  static constexpr RequestKey kChargeKey = 77;

  CorruptionTest() {
    EXPECT_TRUE(harness_.Run(ChargeCommand(kAlice, 20'000, kChargeKey)).ok());
    paid_hold_ = harness_.HoldFor(kAlice, {0}, &alice_token_);
    EXPECT_TRUE(harness_.Run(PayCommand(kSchedule, kAlice, alice_token_, paid_hold_, 0)).ok());
    released_hold_ = harness_.HoldFor(kBob, {1}, &bob_token_);
    EXPECT_TRUE(harness_.Run(ReleaseCommand(kSchedule, kBob, bob_token_, released_hold_, 0)).ok());
    const Reply live = harness_.Run(HoldCommand(kSchedule, kBob, bob_token_, {2, 3}, 0));
    EXPECT_TRUE(live.ok());
    live_hold_ = live.hold;
    hash_before_ = harness_.core().StateHash();
  }

  // The core refused the event as data loss and is exactly as before.
  void ExpectRefused(const absl::Status& status) {
    EXPECT_TRUE(absl::IsDataLoss(status)) << status;
    EXPECT_EQ(harness_.core().StateHash(), hash_before_);
    const absl::Status invariants = harness_.core().CheckInvariants();
    EXPECT_TRUE(invariants.ok()) << invariants;
    // It keeps working, in step with its (uncorrupted) log.
    EXPECT_TRUE(harness_.Run(ChargeCommand(kCarol, 1, 0)).ok());
    EXPECT_EQ(harness_.ReplayHash(), harness_.core().StateHash());
    hash_before_ = harness_.core().StateHash();
  }

  // Applies `event` past the harness's log (so ExpectRefused's replay check
  // no longer holds after it), then checks a second application is refused
  // with nothing changed.
  template <typename T>
  void ExpectAppliesOnce(const T& event) {
    ASSERT_TRUE(ApplyTyped(harness_.core(), event).ok());
    const uint64_t hash = harness_.core().StateHash();
    EXPECT_TRUE(absl::IsDataLoss(ApplyTyped(harness_.core(), event)));
    EXPECT_EQ(harness_.core().StateHash(), hash);
    const absl::Status invariants = harness_.core().CheckInvariants();
    EXPECT_TRUE(invariants.ok()) << invariants;
  }

  SeatsHeld NextSeatsHeld(ScheduleId schedule, SeatIndex seat) const {
    SeatsHeld held{};
    held.schedule = schedule;
    held.user = kCarol;
    held.hold = live_hold_ + 1;
    held.deadline_ms = harness_.now() + kHoldTtlDefaultMs;
    held.seat_count = 1;
    held.seats[0] = seat;
    return held;
  }

  CoreHarness harness_;
  QueueToken alice_token_;
  QueueToken bob_token_;
  HoldId paid_hold_ = 0;
  HoldId released_hold_ = 0;
  HoldId live_hold_ = 0;
  uint64_t hash_before_ = 0;
};

TEST_F(CorruptionTest, ValidEventIsAccepted) {
  // The control: the same construction with good values applies.
  EXPECT_TRUE(ApplyTyped(harness_.core(), NextSeatsHeld(kSchedule, 10)).ok());
  EXPECT_NE(harness_.core().StateHash(), hash_before_);
  EXPECT_TRUE(harness_.core().CheckInvariants().ok());
}

// A packed record of `event`, as EventBuffer::Append writes it.
template <typename T>
std::vector<uint8_t> PackedPayloadOf(const T& event) {
  EventBuffer buffer;
  buffer.Append(event);
  std::vector<uint8_t> payload;
  buffer.ForEach([&](const EventView& view) {
    EXPECT_TRUE(view.packed);
    payload.assign(view.payload.begin(), view.payload.end());
  });
  return payload;
}

TEST_F(CorruptionTest, PackedEventIsAcceptedLikeItsRawBytes) {
  const SeatsHeld held = NextSeatsHeld(kSchedule, 10);
  const std::vector<uint8_t> payload = PackedPayloadOf(held);
  // Mask, then schedule, user, hold, deadline, and the word holding seat_count and
  // seats[0]; the other seven seat slots and `reserved` are zero and left out.
  EXPECT_EQ(payload.size(), 4u + 5 * 8);
  EXPECT_TRUE(harness_.core().ApplyEvent(EventView{EventType::kSeatsHeld, payload, true}).ok());
  EXPECT_TRUE(harness_.core().CheckInvariants().ok());
  EXPECT_NE(harness_.core().StateHash(), hash_before_);
}

TEST_F(CorruptionTest, PackedPayloadShorterThanItsMaskSays) {
  std::vector<uint8_t> payload = PackedPayloadOf(NextSeatsHeld(kSchedule, 10));
  payload.resize(payload.size() - 8);
  ExpectRefused(harness_.core().ApplyEvent(EventView{EventType::kSeatsHeld, payload, true}));
}

TEST_F(CorruptionTest, PackedPayloadLongerThanItsMaskSays) {
  std::vector<uint8_t> payload = PackedPayloadOf(NextSeatsHeld(kSchedule, 10));
  payload.resize(payload.size() + 8, 0x11);
  ExpectRefused(harness_.core().ApplyEvent(EventView{EventType::kSeatsHeld, payload, true}));
}

TEST_F(CorruptionTest, PackedMaskNamingAWordPastTheEvent) {
  const AccountCharged charged{kCarol, 100, harness_.now()};  // 3 words.
  std::vector<uint8_t> payload = PackedPayloadOf(charged);
  payload[0] |= 0x08;                        // Word 3 does not exist...
  payload.resize(payload.size() + 8, 0x22);  // ...though the size matches the mask.
  ExpectRefused(harness_.core().ApplyEvent(EventView{EventType::kAccountCharged, payload, true}));
}

TEST_F(CorruptionTest, PackedPayloadWithoutItsMask) {
  const std::vector<uint8_t> payload = {0x01, 0x00};
  ExpectRefused(harness_.core().ApplyEvent(EventView{EventType::kAccountCharged, payload, true}));
}

TEST_F(CorruptionTest, PayloadTooShort) {
  const AccountCharged charged{kCarol, 100, harness_.now()};
  const std::span<const uint8_t> bytes = BytesOf(charged);
  ExpectRefused(harness_.core().ApplyEvent(
      EventView{EventType::kAccountCharged, bytes.first(bytes.size() - 1)}));
}

TEST_F(CorruptionTest, PayloadTooLong) {
  const AccountCharged charged{kCarol, 100, harness_.now()};
  std::vector<uint8_t> bytes(sizeof(charged) + 8, 0);
  std::memcpy(bytes.data(), &charged, sizeof(charged));
  ExpectRefused(harness_.core().ApplyEvent(EventView{EventType::kAccountCharged, bytes}));
}

TEST_F(CorruptionTest, EmptyPayload) {
  ExpectRefused(harness_.core().ApplyEvent(EventView{EventType::kSeatsHeld, {}}));
}

TEST_F(CorruptionTest, UnknownEventType) {
  const AccountCharged charged{kCarol, 100, harness_.now()};
  ExpectRefused(
      harness_.core().ApplyEvent(EventView{static_cast<EventType>(999), BytesOf(charged)}));
}

TEST_F(CorruptionTest, EventTypeZero) {
  const AccountCharged charged{kCarol, 100, harness_.now()};
  ExpectRefused(harness_.core().ApplyEvent(EventView{static_cast<EventType>(0), BytesOf(charged)}));
}

TEST_F(CorruptionTest, SeatsHeldForUnknownSchedule) {
  ExpectRefused(ApplyTyped(harness_.core(), NextSeatsHeld(kSchedule + 1, 10)));
}

TEST_F(CorruptionTest, SeatsHeldOnAHeldSeat) {
  ExpectRefused(ApplyTyped(harness_.core(), NextSeatsHeld(kSchedule, 2)));
}

TEST_F(CorruptionTest, SeatsHeldOnASoldSeat) {
  ExpectRefused(ApplyTyped(harness_.core(), NextSeatsHeld(kSchedule, 0)));
}

TEST_F(CorruptionTest, SeatsHeldOutOfRange) {
  ExpectRefused(ApplyTyped(harness_.core(), NextSeatsHeld(kSchedule, 100)));
}

TEST_F(CorruptionTest, SeatsHeldWithHoldIdOutOfSequence) {
  SeatsHeld held = NextSeatsHeld(kSchedule, 10);
  held.hold = live_hold_ + 2;
  ExpectRefused(ApplyTyped(harness_.core(), held));
  held.hold = live_hold_;
  ExpectRefused(ApplyTyped(harness_.core(), held));
}

TEST_F(CorruptionTest, SeatsHeldWithBadSeatCount) {
  SeatsHeld held = NextSeatsHeld(kSchedule, 10);
  held.seat_count = 0;
  ExpectRefused(ApplyTyped(harness_.core(), held));
  held.seat_count = kHoldSeatsMax + 1;
  ExpectRefused(ApplyTyped(harness_.core(), held));
}

TEST_F(CorruptionTest, SeatsHeldWithTheSameSeatTwice) {
  SeatsHeld held = NextSeatsHeld(kSchedule, 10);
  held.seat_count = 2;
  held.seats[1] = 10;
  ExpectRefused(ApplyTyped(harness_.core(), held));
}

TEST_F(CorruptionTest, SeatsHeldOverTheUserLimit) {
  SeatsHeld held = NextSeatsHeld(kSchedule, 10);
  held.seat_count = 5;  // The limit is 4.
  for (uint32_t i = 0; i < 5; ++i) held.seats[i] = 10 + i;
  ExpectRefused(ApplyTyped(harness_.core(), held));
}

TEST_F(CorruptionTest, HoldEndedForAHoldThatDoesNotExist) {
  ExpectRefused(ApplyTyped(harness_.core(),
                           HoldEnded{kSchedule, live_hold_ + 1, HoldEndReason::kReleased, {}}));
  ExpectRefused(ApplyTyped(harness_.core(), HoldEnded{kSchedule, 0, HoldEndReason::kExpired, {}}));
}

TEST_F(CorruptionTest, HoldEndedForAHoldThatAlreadyEnded) {
  ExpectRefused(ApplyTyped(harness_.core(),
                           HoldEnded{kSchedule, released_hold_, HoldEndReason::kReleased, {}}));
  ExpectRefused(
      ApplyTyped(harness_.core(), HoldEnded{kSchedule, paid_hold_, HoldEndReason::kExpired, {}}));
}

TEST_F(CorruptionTest, HoldEndedForUnknownSchedule) {
  ExpectRefused(ApplyTyped(harness_.core(),
                           HoldEnded{kSchedule + 1, live_hold_, HoldEndReason::kReleased, {}}));
}

TEST_F(CorruptionTest, HoldEndedWithUnknownReason) {
  ExpectRefused(ApplyTyped(harness_.core(),
                           HoldEnded{kSchedule, live_hold_, static_cast<HoldEndReason>(9), {}}));
}

TEST_F(CorruptionTest, PaymentSettledWithoutAPaymentInFlight) {
  ExpectRefused(
      ApplyTyped(harness_.core(),
                 PaymentSettled{kSchedule, live_hold_, 2, harness_.now(), ResultCode::kOk, {}}));
  // The completed payment cannot settle twice.
  ExpectRefused(
      ApplyTyped(harness_.core(),
                 PaymentSettled{kSchedule, paid_hold_, 1, harness_.now(), ResultCode::kOk, {}}));
}

TEST_F(CorruptionTest, AccountDebitedBeyondTheBalance) {
  // A schedule on another shard: the debit of a cross-shard payment.
  constexpr ScheduleId kRemote = kSchedule + 100;
  ExpectRefused(ApplyTyped(
      harness_.core(), AccountDebited{kAlice, kRemote, 9, live_hold_, 1'000'000, harness_.now()}));
  ExpectRefused(
      ApplyTyped(harness_.core(), AccountDebited{kBob, kRemote, 9, live_hold_, 1, harness_.now()}));
}

TEST_F(CorruptionTest, AccountDebitedTwiceForOnePayment) {
  // The paid hold's payment was made in one step (PAYMENT_COMPLETED), which
  // keeps no debit key: the core refuses a debit of it all the same.
  ExpectRefused(ApplyTyped(harness_.core(),
                           AccountDebited{kAlice, kSchedule, 1, paid_hold_, 1, harness_.now()}));
  ExpectRefused(ApplyTyped(harness_.core(),
                           AccountDebited{kAlice, kSchedule, 2, live_hold_, 1, harness_.now()}));
  // A cross-shard debit is refused twice by its key.
  ExpectAppliesOnce(AccountDebited{kAlice, kSchedule + 100, 7, live_hold_, 1, harness_.now()});
}

// Bob's live hold paid in one step, as the core itself would write it.
PaymentCompleted BobPays(const CoreHarness& harness, HoldId hold, uint32_t entry) {
  return PaymentCompleted{kSchedule, hold, 2, kBob, 10'000, 901, 0x1234, harness.now(), entry, 0};
}

TEST_F(CorruptionTest, PaymentCompletedIsCheckedWholeBeforeAnyStep) {
  // One point short of the price (seats 2 and 3 at 5000).
  ASSERT_TRUE(harness_.Run(ChargeCommand(kBob, 9'999, 900)).ok());
  const uint32_t bob_entry = static_cast<uint32_t>(bob_token_.locator);
  const uint32_t alice_entry = static_cast<uint32_t>(alice_token_.locator);
  hash_before_ = harness_.core().StateHash();
  auto refused = [&](auto change) {
    PaymentCompleted event = BobPays(harness_, live_hold_, bob_entry);
    change(&event);
    ExpectRefused(ApplyTyped(harness_.core(), event));
  };
  refused([](PaymentCompleted* e) { e->schedule = kSchedule + 1; });
  refused([&](PaymentCompleted* e) { e->hold = paid_hold_; });      // Not live.
  refused([&](PaymentCompleted* e) { e->hold = released_hold_; });  // Not live.
  refused([](PaymentCompleted* e) { e->payment = 3; });             // Out of sequence.
  refused([](PaymentCompleted* e) { e->amount = 0; });
  refused([](PaymentCompleted* e) { e->amount = 9'000; });  // Not the price.
  refused([](PaymentCompleted*) {});                        // Over the balance.
  ASSERT_TRUE(harness_.Run(ChargeCommand(kBob, 1, 0)).ok());
  hash_before_ = harness_.core().StateHash();
  refused([](PaymentCompleted* e) { e->request_key = 0; });
  refused([](PaymentCompleted* e) { e->request_key = 900; });     // Recorded already.
  refused([&](PaymentCompleted* e) { e->entry = alice_entry; });  // Not Bob's.
  refused([](PaymentCompleted* e) { e->entry = 1'000; });         // No such entry.
  refused([](PaymentCompleted* e) { e->reserved = 1; });
  refused([](PaymentCompleted* e) { e->user = kAlice; });  // Not the holder.

  // The unchanged event applies: seats sold, Bob debited, the reply recorded.
  const PaymentCompleted event = BobPays(harness_, live_hold_, bob_entry);
  ExpectAppliesOnce(event);
  EXPECT_EQ(harness_.core().Balance(kBob), 0);
  std::vector<SeatState> seats;
  ASSERT_EQ(harness_.core().SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  EXPECT_EQ(seats[2], SeatState::kSold);
  EXPECT_EQ(seats[3], SeatState::kSold);
}

TEST_F(CorruptionTest, SeatsHeldRecordedIsCheckedWholeBeforeAnyStep) {
  ASSERT_TRUE(harness_.Run(ChargeCommand(kCarol, 5, 700)).ok());
  hash_before_ = harness_.core().StateHash();
  ExpectRefused(
      ApplyTyped(harness_.core(), SeatsHeldRecorded{NextSeatsHeld(kSchedule, 10), 0, 0x99}));
  // Carol's key 700 is recorded already: neither the hold nor the record is made.
  ExpectRefused(
      ApplyTyped(harness_.core(), SeatsHeldRecorded{NextSeatsHeld(kSchedule, 10), 700, 0x99}));
  // A seat that is held: the seats refuse, and the key is not recorded either...
  ExpectRefused(
      ApplyTyped(harness_.core(), SeatsHeldRecorded{NextSeatsHeld(kSchedule, 2), 701, 0x99}));
  ExpectRefused(
      ApplyTyped(harness_.core(), SeatsHeldRecorded{NextSeatsHeld(kSchedule + 1, 10), 701, 0x99}));
  // ...so the same key then applies with a free seat.
  ExpectAppliesOnce(SeatsHeldRecorded{NextSeatsHeld(kSchedule, 10), 701, 0x99});
  std::vector<SeatState> seats;
  ASSERT_EQ(harness_.core().SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  EXPECT_EQ(seats[10], SeatState::kHeld);
}

// A hold is one SEATS_HELD_RECORDED; logs written before it hold SEATS_HELD
// and REQUEST_RECORDED, which replay to the same state and the same reply.
TEST(EventsTest, AHoldIsOneEventAndItsOlderTwoEventFormReplaysAlike) {
  CoreHarness one_event;
  CoreHarness two_events;
  QueueToken token;
  for (CoreHarness* harness : {&one_event, &two_events}) {
    ASSERT_TRUE(harness->Run(ChargeCommand(kAlice, 20'000, 0)).ok());
    token = harness->Admit(kAlice);
  }
  const size_t before = one_event.events().count();
  const size_t bytes_before = one_event.events().bytes().size();
  const Command hold = HoldCommand(kSchedule, kAlice, token, {7}, 321);
  const Reply held = one_event.Run(hold);
  ASSERT_TRUE(held.ok());
  EXPECT_LE(one_event.events().bytes().size() - bytes_before, 64u);
  ASSERT_EQ(one_event.events().count(), before + 1);
  const auto recorded = EventAt<SeatsHeldRecorded>(one_event.events(), before);
  EXPECT_EQ(recorded.held.hold, held.hold);
  EXPECT_EQ(recorded.request_key, 321u);

  Core& core = two_events.core();
  ASSERT_TRUE(ApplyTyped(core, recorded.held).ok());
  // The record keeps no hold proof: the core adds it to each answer.
  Reply record = held;
  record.hold_proof = 0;
  ASSERT_TRUE(ApplyTyped(core, RequestRecorded{kAlice, 321, recorded.fingerprint, record}).ok());
  EXPECT_EQ(core.StateHash(), one_event.core().StateHash());
  const Reply from_two = two_events.Run(hold);
  const Reply from_one = one_event.Run(hold);
  EXPECT_EQ(std::memcmp(&from_two, &held, sizeof(Reply)), 0);
  EXPECT_EQ(std::memcmp(&from_one, &held, sizeof(Reply)), 0);
}

// Logs written before PAYMENT_COMPLETED hold a local payment as the saga's
// five events; they replay to the state the one event gives.
TEST(EventsTest, TheFiveEventSagaOfOlderLogsReplaysLikeOneEvent) {
  CoreHarness one_event;
  CoreHarness saga;
  QueueToken token;
  for (CoreHarness* harness : {&one_event, &saga}) {
    ASSERT_TRUE(harness->Run(ChargeCommand(kAlice, 20'000, 0)).ok());
    ASSERT_EQ(harness->HoldFor(kAlice, {4, 5}, &token), 1u);
  }
  const size_t before = one_event.events().count();
  const Reply paid = one_event.Run(PayCommand(kSchedule, kAlice, token, 1, 555));
  ASSERT_TRUE(paid.ok());
  const auto completed = EventAt<PaymentCompleted>(one_event.events(), before);
  ASSERT_EQ(completed.payment, 1u);

  Core& core = saga.core();
  ASSERT_TRUE(ApplyTyped(core, PaymentStarted{kSchedule, 1, 1, kAlice, completed.amount,
                                              completed.request_key, completed.fingerprint,
                                              completed.entry, 0})
                  .ok());
  ASSERT_TRUE(
      ApplyTyped(core, AccountDebited{kAlice, kSchedule, 1, 1, completed.amount, completed.at_ms})
          .ok());
  ASSERT_TRUE(
      ApplyTyped(core, PaymentSettled{kSchedule, 1, 1, completed.at_ms, ResultCode::kOk, {}}).ok());
  ASSERT_TRUE(ApplyTyped(core, QueueEnded{kSchedule, completed.entry, QueueState::kDone, {}}).ok());
  ASSERT_TRUE(
      ApplyTyped(core, RequestRecorded{kAlice, completed.request_key, completed.fingerprint, paid})
          .ok());
  EXPECT_EQ(core.StateHash(), one_event.core().StateHash());
  // The same PAY repeated gets the same recorded reply from both.
  const Reply from_saga = saga.Run(PayCommand(kSchedule, kAlice, token, 1, 555));
  EXPECT_EQ(std::memcmp(&from_saga, &paid, sizeof(Reply)), 0);
}

TEST_F(CorruptionTest, AccountChargedWithABadAmount) {
  ExpectRefused(ApplyTyped(harness_.core(), AccountCharged{kCarol, 0, harness_.now()}));
  ExpectRefused(ApplyTyped(harness_.core(), AccountCharged{kCarol, -5, harness_.now()}));
  ExpectRefused(
      ApplyTyped(harness_.core(), AccountCharged{kCarol, kChargeAmountMax + 1, harness_.now()}));
}

TEST_F(CorruptionTest, RequestRecordedTwice) {
  RequestRecorded recorded{};
  recorded.user = kAlice;
  recorded.key = kChargeKey;
  ExpectRefused(ApplyTyped(harness_.core(), recorded));
  recorded.key = 0;
  ExpectRefused(ApplyTyped(harness_.core(), recorded));
}

TEST_F(CorruptionTest, ConcertOrScheduleCreatedTwice) {
  ConcertCreated concert{};
  concert.concert = kConcert;
  std::memcpy(concert.title.data(), "Again", 5);
  ExpectRefused(ApplyTyped(harness_.core(), concert));
  ExpectRefused(ApplyTyped(harness_.core(), ScheduleCreated{MakeScheduleConfig()}));
}

TEST_F(CorruptionTest, QueueEventsThatCannotFollow) {
  ExpectRefused(
      ApplyTyped(harness_.core(), QueueEntered{kSchedule, kCarol, 99, 0, harness_.now()}));
  ExpectRefused(ApplyTyped(harness_.core(), QueueAdmitted{kSchedule, 99, 0, harness_.now()}));
  ExpectRefused(ApplyTyped(harness_.core(), QueueEnded{kSchedule + 1, 0, QueueState::kLeft, {}}));
}

TEST(EventsTest, StreamMissingAnEventIsRefusedOnReplay) {
  CoreHarness harness;
  QueueToken token;
  ASSERT_NE(harness.HoldFor(kAlice, {0}, &token), 0u);
  Core replayed(TestCoreOptions());
  absl::Status first_error;
  harness.events().ForEach([&](const EventView& event) {
    // Drop the schedule: everything that names it cannot follow.
    if (event.type != EventType::kScheduleCreated && first_error.ok()) {
      first_error = replayed.ApplyEvent(event);
    }
  });
  EXPECT_TRUE(absl::IsDataLoss(first_error)) << first_error;
  const absl::Status invariants = replayed.CheckInvariants();
  EXPECT_TRUE(invariants.ok()) << invariants;
}

// Every event type survives packing byte for byte, whether its words are all
// zero, all set, or a seeded mix.
template <typename T>
void ExpectPackedRoundTrip(uint64_t seed) {
  SCOPED_TRACE(EventTypeName(T::kType));
  std::vector<std::vector<uint8_t>> patterns = {std::vector<uint8_t>(sizeof(T), 0),
                                                std::vector<uint8_t>(sizeof(T), 0xA5),
                                                std::vector<uint8_t>(sizeof(T))};
  for (size_t i = 0; i < sizeof(T); ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    // About half the 8-byte words zero, the others random.
    patterns[2][i] = ((i / 8 + (seed >> 60)) % 2 == 0) ? 0 : static_cast<uint8_t>(seed >> 33);
  }
  std::vector<T> samples(patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    std::memcpy(static_cast<void*>(&samples[i]), patterns[i].data(), sizeof(T));
  }
  for (const T& sample : samples) {
    EventBuffer buffer;
    buffer.Append(sample);
    size_t seen = 0;
    buffer.ForEach([&](const EventView& view) {
      ++seen;
      EXPECT_EQ(view.type, T::kType);
      EXPECT_TRUE(view.packed);
      EXPECT_LE(view.payload.size(), 4 + kEventWords<T> * 8);
      T decoded;
      ASSERT_TRUE(view.Decode(&decoded));
      EXPECT_EQ(std::memcmp(&decoded, &sample, sizeof(T)), 0);
    });
    EXPECT_EQ(seen, 1u);
  }
}

TEST(EventsTest, EveryEventTypeRoundTripsPacked) {
  const uint64_t seed = 20261124;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  ExpectPackedRoundTrip<ConcertCreated>(seed);
  ExpectPackedRoundTrip<ScheduleCreated>(seed);
  ExpectPackedRoundTrip<AdmissionPolicyChanged>(seed);
  ExpectPackedRoundTrip<QueueEntered>(seed);
  ExpectPackedRoundTrip<QueueHeartbeat>(seed);
  ExpectPackedRoundTrip<QueueAdmitted>(seed);
  ExpectPackedRoundTrip<QueueEnded>(seed);
  ExpectPackedRoundTrip<SeatsHeld>(seed);
  ExpectPackedRoundTrip<SeatsHeldRecorded>(seed);
  ExpectPackedRoundTrip<HoldEnded>(seed);
  ExpectPackedRoundTrip<PaymentStarted>(seed);
  ExpectPackedRoundTrip<PaymentSettled>(seed);
  ExpectPackedRoundTrip<PaymentCompleted>(seed);
  ExpectPackedRoundTrip<AccountCharged>(seed);
  ExpectPackedRoundTrip<AccountDebited>(seed);
  ExpectPackedRoundTrip<RequestRecorded>(seed);
}

TEST(EventsTest, StateHashIsDeterministic) {
  CoreHarness first;
  CoreHarness second;
  EXPECT_EQ(first.core().StateHash(), second.core().StateHash());
  for (CoreHarness* harness : {&first, &second}) {
    ASSERT_TRUE(harness->Run(ChargeCommand(kAlice, 500, 0)).ok());
    QueueToken token;
    ASSERT_NE(harness->HoldFor(kAlice, {4, 5}, &token), 0u);
  }
  EXPECT_EQ(first.core().StateHash(), second.core().StateHash());
}

TEST(EventsTest, StateHashDiffersForDifferentStates) {
  CoreHarness base;
  CoreHarness charged_alice;
  CoreHarness charged_bob;
  CoreHarness charged_more;
  ASSERT_TRUE(charged_alice.Run(ChargeCommand(kAlice, 100, 0)).ok());
  ASSERT_TRUE(charged_bob.Run(ChargeCommand(kBob, 100, 0)).ok());
  ASSERT_TRUE(charged_more.Run(ChargeCommand(kAlice, 101, 0)).ok());
  const std::vector<uint64_t> hashes = {base.core().StateHash(), charged_alice.core().StateHash(),
                                        charged_bob.core().StateHash(),
                                        charged_more.core().StateHash()};
  for (size_t i = 0; i < hashes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) EXPECT_NE(hashes[i], hashes[j]) << i << " vs " << j;
  }
}

TEST(EventsTest, StateHashDiffersBySeatsAndHoldFate) {
  CoreHarness seat_zero;
  CoreHarness seat_one;
  CoreHarness released;
  CoreHarness expired;
  QueueToken token;
  QueueToken token_zero;
  ASSERT_NE(seat_zero.HoldFor(kAlice, {0}, &token_zero), 0u);
  ASSERT_NE(seat_one.HoldFor(kAlice, {1}, &token), 0u);
  const HoldId to_release = released.HoldFor(kAlice, {0}, &token);
  ASSERT_TRUE(released.Run(ReleaseCommand(kSchedule, kAlice, token, to_release, 0)).ok());
  ASSERT_NE(expired.HoldFor(kAlice, {0}, &token), 0u);
  expired.AdvanceBy(kHoldTtlDefaultMs);
  ASSERT_EQ(expired.core().Stats().holds_live, 0u);

  EXPECT_NE(seat_zero.core().StateHash(), seat_one.core().StateHash());
  EXPECT_NE(seat_zero.core().StateHash(), released.core().StateHash());
  EXPECT_NE(released.core().StateHash(), expired.core().StateHash());
  // A read changes nothing.
  const uint64_t hash = seat_zero.core().StateHash();
  std::vector<SeatState> seats;
  ASSERT_EQ(seat_zero.core().SeatMap(kSchedule, kAlice, token_zero, &seats), ResultCode::kOk);
  ASSERT_EQ(seat_zero.Run(BalanceCommand(kAlice)).code, ResultCode::kOk);
  EXPECT_EQ(seat_zero.core().StateHash(), hash);
}

}  // namespace
}  // namespace encore::testing
