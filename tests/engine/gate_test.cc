// Admission gate: each token refusal for holds, payments and seat-map reads; token binding.
#include <array>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr ScheduleId kOtherSchedule = kSchedule + 1;
constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;
constexpr UserId kCarol = 3;
constexpr SeatIndex kProbeSeat = 10;
constexpr int64_t kActiveTtlMs = 60'000;

// kSchedule admits one user at a time, so a second entrant waits.
ScheduleConfig OneAtATimeConfig() {
  ScheduleConfig config = MakeScheduleConfig();
  config.policy.active_max = 1;
  config.active_ttl_ms = kActiveTtlMs;
  return config;
}

QueueToken FlipBit(QueueToken token, bool in_mac, int bit) {
  (in_mac ? token.mac : token.locator) ^= uint64_t{1} << bit;
  return token;
}

// What the gate answers for one (user, token) at each gated operation.
struct GateCodes {
  ResultCode hold;
  ResultCode pay;
  ResultCode seat_map;
};

// Alice is ACTIVE in kSchedule and holds seat 0 there; Bob waits behind her.
// Alice is also ACTIVE in kOtherSchedule (no admission limit).
class GateTest : public ::testing::Test {
 protected:
  GateTest() : harness_(OneAtATimeConfig()) {
    EXPECT_TRUE(harness_.Run(CreateScheduleCommand(MakeScheduleConfig(kOtherSchedule), 0)).ok());
    EXPECT_TRUE(harness_.Run(ChargeCommand(kAlice, 100'000, 0)).ok());
    EXPECT_TRUE(harness_.Run(ChargeCommand(kBob, 100'000, 0)).ok());
    alice_ = Enter(kSchedule, kAlice);
    EXPECT_EQ(alice_.queue_state, QueueState::kActive);
    const Reply held = harness_.Run(HoldCommand(kSchedule, kAlice, alice_.token, {0}, 0));
    EXPECT_EQ(held.code, ResultCode::kOk);
    alice_hold_ = held.hold;
    bob_ = Enter(kSchedule, kBob);
    EXPECT_EQ(bob_.queue_state, QueueState::kWaiting);
    alice_other_ = Enter(kOtherSchedule, kAlice);
    EXPECT_EQ(alice_other_.queue_state, QueueState::kActive);
  }

  Reply Enter(ScheduleId schedule, UserId user) {
    return harness_.Run(EnterCommand(schedule, user, 0));
  }

  // Tries each gated operation on kSchedule as `user` with `token`: a hold of
  // kProbeSeat, payment of `hold` (default: Alice's), and a seat-map read.
  GateCodes Attempt(UserId user, QueueToken token, HoldId hold = 0) {
    if (hold == 0) hold = alice_hold_;
    GateCodes codes;
    codes.hold = harness_.Run(HoldCommand(kSchedule, user, token, {kProbeSeat}, 0)).code;
    codes.pay = harness_.Run(PayCommand(kSchedule, user, token, hold, 0)).code;
    std::vector<SeatState> seats;
    codes.seat_map = harness_.core().SeatMap(kSchedule, user, token, &seats);
    if (codes.seat_map != ResultCode::kOk) {
      EXPECT_TRUE(seats.empty()) << "a refused seat-map read returned seats";
    }
    return codes;
  }

  void ExpectAllRefusedWith(UserId user, QueueToken token, ResultCode expected, HoldId hold = 0) {
    const Points alice_balance = harness_.core().Balance(kAlice);
    const GateCodes codes = Attempt(user, token, hold);
    EXPECT_EQ(codes.hold, expected) << "hold";
    EXPECT_EQ(codes.pay, expected) << "pay";
    EXPECT_EQ(codes.seat_map, expected) << "seat map";
    // Refusals change nothing.
    std::vector<SeatState> seats;
    ASSERT_EQ(harness_.core().SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
    EXPECT_EQ(seats[kProbeSeat], SeatState::kAvailable);
    EXPECT_EQ(seats[0], SeatState::kHeld);
    EXPECT_EQ(harness_.core().Balance(kAlice), alice_balance);
    EXPECT_EQ(harness_.core().Stats().payments, 0u);
  }

  void ExpectConsistent() {
    EXPECT_TRUE(harness_.core().CheckInvariants().ok()) << harness_.core().CheckInvariants();
    EXPECT_EQ(harness_.ReplayHash(), harness_.core().StateHash());
  }

  CoreHarness harness_;
  Reply alice_;
  Reply bob_;
  Reply alice_other_;
  HoldId alice_hold_ = 0;
};

TEST_F(GateTest, ActiveTokenOfItsOwnUserPasses) {
  std::vector<SeatState> seats;
  EXPECT_EQ(harness_.core().SeatMap(kSchedule, kAlice, alice_.token, &seats), ResultCode::kOk);
  EXPECT_EQ(seats.size(), 100u);
  EXPECT_EQ(seats[0], SeatState::kHeld);
  const Reply second = harness_.Run(HoldCommand(kSchedule, kAlice, alice_.token, {1}, 0));
  EXPECT_EQ(second.code, ResultCode::kOk);
  const Reply paid = harness_.Run(PayCommand(kSchedule, kAlice, alice_.token, alice_hold_, 0));
  EXPECT_EQ(paid.code, ResultCode::kOk);
  ExpectConsistent();
}

TEST_F(GateTest, ZeroTokenIsInvalid) {
  ExpectAllRefusedWith(kAlice, QueueToken{}, ResultCode::kTokenInvalid);
  ExpectConsistent();
}

TEST_F(GateTest, GarbageTokenIsInvalid) {
  const QueueToken garbage[] = {
      {0x0123456789abcdefULL, 0xfedcba9876543210ULL},
      {1, 1},
      {0, 0xffffffffffffffffULL},
      {0xffffffffffffffffULL, 0xffffffffffffffffULL},
      {alice_.token.mac, alice_.token.locator},  // Halves swapped.
  };
  for (const QueueToken& token : garbage) {
    SCOPED_TRACE(::testing::Message() << "token " << token.locator << ":" << token.mac);
    ExpectAllRefusedWith(kAlice, token, ResultCode::kTokenInvalid);
  }
  ExpectConsistent();
}

TEST_F(GateTest, GarbageMacOnARealLocatorIsInvalid) {
  ExpectAllRefusedWith(kAlice, QueueToken{alice_.token.locator, 0}, ResultCode::kTokenInvalid);
  ExpectAllRefusedWith(kAlice, QueueToken{alice_.token.locator, 0x5555aaaa5555aaaaULL},
                       ResultCode::kTokenInvalid);
  // A locator of this schedule naming an entry that does not exist.
  QueueToken beyond = alice_.token;
  beyond.locator += 1'000;
  ExpectAllRefusedWith(kAlice, beyond, ResultCode::kTokenInvalid);
  ExpectConsistent();
}

TEST_F(GateTest, TokenWithOneMacBitFlippedIsInvalid) {
  for (int bit = 0; bit < 64; ++bit) {
    SCOPED_TRACE(::testing::Message() << "mac bit " << bit);
    ExpectAllRefusedWith(kAlice, FlipBit(alice_.token, /*in_mac=*/true, bit),
                         ResultCode::kTokenInvalid);
  }
  ExpectConsistent();
}

TEST_F(GateTest, TokenWithOneEntryBitFlippedIsInvalid) {
  // Bob's entry is 1: a flipped low bit names Alice's entry (0), which is not
  // the entry the MAC was made for.
  for (int bit = 0; bit < 32; ++bit) {
    SCOPED_TRACE(::testing::Message() << "locator bit " << bit);
    ExpectAllRefusedWith(kBob, FlipBit(bob_.token, /*in_mac=*/false, bit),
                         ResultCode::kTokenInvalid);
    ExpectAllRefusedWith(kAlice, FlipBit(alice_.token, /*in_mac=*/false, bit),
                         ResultCode::kTokenInvalid);
  }
  ExpectConsistent();
}

TEST_F(GateTest, TokenOfAnotherScheduleIsWrongSchedule) {
  ExpectAllRefusedWith(kAlice, alice_other_.token, ResultCode::kTokenWrongSchedule);
  // And the other way round: kSchedule's token on kOtherSchedule.
  EXPECT_EQ(harness_.Run(HoldCommand(kOtherSchedule, kAlice, alice_.token, {0}, 0)).code,
            ResultCode::kTokenWrongSchedule);
  std::vector<SeatState> seats;
  EXPECT_EQ(harness_.core().SeatMap(kOtherSchedule, kAlice, alice_.token, &seats),
            ResultCode::kTokenWrongSchedule);
  // The right token there still works.
  EXPECT_EQ(harness_.core().SeatMap(kOtherSchedule, kAlice, alice_other_.token, &seats),
            ResultCode::kOk);
  ExpectConsistent();
}

TEST_F(GateTest, AnotherUsersRealTokenIsWrongUser) {
  // Bob presents Alice's ACTIVE token (for her hold and for a hold of his own).
  ExpectAllRefusedWith(kBob, alice_.token, ResultCode::kTokenWrongUser);
  // Carol, who never entered, presents it too.
  ExpectAllRefusedWith(kCarol, alice_.token, ResultCode::kTokenWrongUser);
  // Alice presents Bob's (waiting) token: ownership is checked before state.
  ExpectAllRefusedWith(kAlice, bob_.token, ResultCode::kTokenWrongUser);
  // Queue commands check ownership too.
  EXPECT_EQ(harness_.Run(StatusCommand(kSchedule, kBob, alice_.token)).code,
            ResultCode::kTokenWrongUser);
  EXPECT_EQ(harness_.Run(LeaveCommand(kSchedule, kBob, alice_.token, 0)).code,
            ResultCode::kTokenWrongUser);
  std::vector<SeatState> seats;
  EXPECT_EQ(harness_.core().SeatMap(kSchedule, kAlice, alice_.token, &seats), ResultCode::kOk);
  ExpectConsistent();
}

TEST_F(GateTest, WaitingTokenIsNotActive) {
  ExpectAllRefusedWith(kBob, bob_.token, ResultCode::kTokenNotActive);
  // Alice leaves (Bob is admitted) and enters again: her new entry waits, and
  // her own hold cannot be paid with it.
  ASSERT_TRUE(harness_.Run(LeaveCommand(kSchedule, kAlice, alice_.token, 0)).ok());
  const Reply again = Enter(kSchedule, kAlice);
  ASSERT_EQ(again.queue_state, QueueState::kWaiting);
  ExpectAllRefusedWith(kAlice, again.token, ResultCode::kTokenNotActive);
  ExpectConsistent();
}

TEST_F(GateTest, LeftTokenIsExpired) {
  ASSERT_TRUE(harness_.Run(LeaveCommand(kSchedule, kAlice, alice_.token, 0)).ok());
  ExpectAllRefusedWith(kAlice, alice_.token, ResultCode::kTokenExpired);
  // A waiting entry that left is refused the same way.
  std::vector<SeatState> seats;
  ASSERT_EQ(harness_.core().SeatMap(kSchedule, kBob, bob_.token, &seats), ResultCode::kOk);
  ASSERT_TRUE(harness_.Run(LeaveCommand(kSchedule, kBob, bob_.token, 0)).ok());
  EXPECT_EQ(harness_.core().SeatMap(kSchedule, kBob, bob_.token, &seats),
            ResultCode::kTokenExpired);
  EXPECT_EQ(harness_.Run(LeaveCommand(kSchedule, kBob, bob_.token, 0)).code,
            ResultCode::kTokenExpired);
  ExpectConsistent();
}

TEST_F(GateTest, TokenPastItsTtlIsExpired) {
  harness_.AdvanceBy(kActiveTtlMs);
  // Alice's hold (5 min) outlives her turn (1 min), but cannot be paid now.
  ExpectAllRefusedWith(kAlice, alice_.token, ResultCode::kTokenExpired);
  ExpectConsistent();
}

TEST_F(GateTest, DroppedWaitingTokenIsExpired) {
  // Bob never polls: dropped after the default heartbeat timeout. Alice's
  // TTL (1 min) runs out at the same time, so Bob is dropped, not admitted.
  harness_.AdvanceBy(kHeartbeatTimeoutDefaultMs);
  EXPECT_EQ(harness_.Run(StatusCommand(kSchedule, kBob, bob_.token)).queue_state,
            QueueState::kExpired);
  const Reply bob_hold_reply = harness_.Run(HoldCommand(kSchedule, kBob, bob_.token, {5}, 0));
  EXPECT_EQ(bob_hold_reply.code, ResultCode::kTokenExpired);
  std::vector<SeatState> seats;
  EXPECT_EQ(harness_.core().SeatMap(kSchedule, kBob, bob_.token, &seats),
            ResultCode::kTokenExpired);
  ExpectConsistent();
}

TEST_F(GateTest, DoneTokenIsExpired) {
  const Reply paid = harness_.Run(PayCommand(kSchedule, kAlice, alice_.token, alice_hold_, 0));
  ASSERT_EQ(paid.code, ResultCode::kOk);
  ASSERT_EQ(paid.queue_state, QueueState::kDone);
  EXPECT_EQ(harness_.Run(HoldCommand(kSchedule, kAlice, alice_.token, {kProbeSeat}, 0)).code,
            ResultCode::kTokenExpired);
  std::vector<SeatState> seats;
  EXPECT_EQ(harness_.core().SeatMap(kSchedule, kAlice, alice_.token, &seats),
            ResultCode::kTokenExpired);
  // Bob, now ACTIVE, holds; Alice's spent token cannot pay for anything.
  const Reply bob_hold = harness_.Run(HoldCommand(kSchedule, kBob, bob_.token, {7}, 0));
  ASSERT_EQ(bob_hold.code, ResultCode::kOk);
  EXPECT_EQ(harness_.Run(PayCommand(kSchedule, kAlice, alice_.token, bob_hold.hold, 0)).code,
            ResultCode::kTokenExpired);
  ExpectConsistent();
}

TEST_F(GateTest, GateComesAfterNotFoundChecks) {
  // 3xx before 4xx: a seat out of range, an unknown hold or schedule wins
  // over a bad token.
  EXPECT_EQ(harness_.Run(HoldCommand(kSchedule, kAlice, QueueToken{}, {100}, 0)).code,
            ResultCode::kSeatNotFound);
  EXPECT_EQ(harness_.Run(PayCommand(kSchedule, kAlice, QueueToken{}, 999, 0)).code,
            ResultCode::kHoldNotFound);
  std::vector<SeatState> seats;
  EXPECT_EQ(harness_.core().SeatMap(kSchedule + 100, kAlice, QueueToken{}, &seats),
            ResultCode::kScheduleNotFound);
  // 4xx before 5xx: a foreign hold paid with a waiting token is NOT_ACTIVE.
  EXPECT_EQ(harness_.Run(PayCommand(kSchedule, kBob, bob_.token, alice_hold_, 0)).code,
            ResultCode::kTokenNotActive);
  ExpectConsistent();
}

TEST_F(GateTest, ChargeAndBalanceNeedNoToken) {
  // Carol never entered any queue.
  const Reply charged = harness_.Run(ChargeCommand(kCarol, 2'500, 0));
  EXPECT_EQ(charged.code, ResultCode::kOk);
  EXPECT_EQ(charged.balance, 2'500);
  // Bob is only waiting.
  EXPECT_EQ(harness_.Run(ChargeCommand(kBob, 500, 0)).balance, 100'500);
  const Reply balance = harness_.Run(BalanceCommand(kCarol));
  EXPECT_EQ(balance.code, ResultCode::kOk);
  EXPECT_EQ(balance.balance, 2'500);
  EXPECT_EQ(harness_.core().Balance(kBob), 100'500);
  ExpectConsistent();
}

TEST_F(GateTest, TokensDifferPerUserScheduleAndEntry) {
  const Reply carol = Enter(kSchedule, kCarol);
  const Reply bob_other = Enter(kOtherSchedule, kBob);
  const std::vector<QueueToken> tokens = {alice_.token, bob_.token, carol.token, alice_other_.token,
                                          bob_other.token};
  for (size_t i = 0; i < tokens.size(); ++i) {
    for (size_t j = i + 1; j < tokens.size(); ++j) {
      EXPECT_NE(tokens[i], tokens[j]) << i << " vs " << j;
      EXPECT_NE(tokens[i].mac, tokens[j].mac) << i << " vs " << j;
    }
  }
  // The same user's next entry gets a new token; the old one stays dead.
  ASSERT_TRUE(harness_.Run(LeaveCommand(kSchedule, kCarol, carol.token, 0)).ok());
  const Reply carol_again = Enter(kSchedule, kCarol);
  EXPECT_NE(carol_again.token, carol.token);
  EXPECT_EQ(harness_.Run(StatusCommand(kSchedule, kCarol, carol.token)).queue_state,
            QueueState::kLeft);
  ExpectConsistent();
}

// A core with one schedule (no admission limit) and the given token key.
class KeyedCore {
 public:
  explicit KeyedCore(std::array<uint64_t, 2> key) : core_(Options(key)) {
    EXPECT_TRUE(Run(CreateConcertCommand(kConcert, "Keyed", 1)).ok());
    EXPECT_TRUE(Run(CreateScheduleCommand(MakeScheduleConfig(), 2)).ok());
  }
  Reply Run(const Command& command) { return core_.Apply(command, kSaleOpensMs, &events_); }
  Core& core() { return core_; }

 private:
  static CoreOptions Options(std::array<uint64_t, 2> key) {
    CoreOptions options;
    options.token_key = key;
    return options;
  }
  Core core_;
  EventBuffer events_;
};

TEST(GateKeyTest, TokenDependsOnTheSecretKey) {
  KeyedCore first({0x1111111111111111ULL, 0x2222222222222222ULL});
  KeyedCore second({0x1111111111111111ULL, 0x2222222222222223ULL});
  const Reply in_first = first.Run(EnterCommand(kSchedule, kAlice, 3));
  const Reply in_second = second.Run(EnterCommand(kSchedule, kAlice, 3));
  ASSERT_EQ(in_first.queue_state, QueueState::kActive);
  ASSERT_EQ(in_second.queue_state, QueueState::kActive);
  // Same user, schedule and entry: only the key differs, and so the MAC.
  EXPECT_NE(in_first.token, in_second.token);
  EXPECT_NE(in_first.token.mac, in_second.token.mac);
  // A token made under one key is not a token of the other engine.
  std::vector<SeatState> seats;
  EXPECT_EQ(second.core().SeatMap(kSchedule, kAlice, in_first.token, &seats),
            ResultCode::kTokenInvalid);
  EXPECT_EQ(second.Run(HoldCommand(kSchedule, kAlice, in_first.token, {0}, 4)).code,
            ResultCode::kTokenInvalid);
  EXPECT_EQ(second.core().SeatMap(kSchedule, kAlice, in_second.token, &seats), ResultCode::kOk);
  EXPECT_EQ(first.core().SeatMap(kSchedule, kAlice, in_first.token, &seats), ResultCode::kOk);
}

TEST(GateKeyTest, SameKeyGivesTheSameToken) {
  // The token is a function of (key, schedule, user, entry): a core rebuilt
  // with the same key (after a restart) accepts the tokens it gave out.
  KeyedCore first({42, 43});
  KeyedCore second({42, 43});
  const Reply in_first = first.Run(EnterCommand(kSchedule, kBob, 3));
  const Reply in_second = second.Run(EnterCommand(kSchedule, kBob, 3));
  EXPECT_EQ(in_first.token, in_second.token);
  std::vector<SeatState> seats;
  EXPECT_EQ(second.core().SeatMap(kSchedule, kBob, in_first.token, &seats), ResultCode::kOk);
}

}  // namespace
}  // namespace encore::testing
