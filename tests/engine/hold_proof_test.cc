// RELEASE_HOLD proves the holder: the holder's ACTIVE queue token, or the
// hold's proof from HOLD_SEATS' reply (which outlives the token). Anything
// else is refused and leaves the hold as it was; the proof is derived from
// the token key, so replay and snapshots agree on it.
#include <cstdint>
#include <cstring>
#include <vector>

#include "encore/event_buffer.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;

// Alice holds seats 4 and 5 with an ACTIVE token.
struct AliceHolds {
  explicit AliceHolds(const ScheduleConfig& config = MakeScheduleConfig()) : harness(config) {
    token = harness.Admit(kAlice);
    held = harness.Run(HoldCommand(kSchedule, kAlice, token, {4, 5}, kHoldKey));
    EXPECT_TRUE(held.ok());
  }

  static constexpr RequestKey kHoldKey = 4'242;
  CoreHarness harness;
  QueueToken token;
  Reply held;
};

// The hold is still HELD by Alice, seats and all.
void ExpectStillHeld(CoreHarness& harness) {
  std::vector<SeatState> seats;
  ASSERT_EQ(harness.core().SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  EXPECT_EQ(seats[4], SeatState::kHeld);
  EXPECT_EQ(seats[5], SeatState::kHeld);
  EXPECT_EQ(harness.core().Stats().holds_live, 1u);
  EXPECT_EQ(harness.core().Stats().seats_held, 2u);
}

void ExpectReleased(CoreHarness& harness) {
  std::vector<SeatState> seats;
  ASSERT_EQ(harness.core().SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  EXPECT_EQ(seats[4], SeatState::kAvailable);
  EXPECT_EQ(seats[5], SeatState::kAvailable);
  EXPECT_EQ(harness.core().Stats().holds_live, 0u);
}

// A refusal adds its request record and nothing else.
void ExpectRefused(CoreHarness& harness, const Command& release, ResultCode code) {
  const size_t events_before = harness.events().count();
  const Reply reply = harness.Run(release);
  EXPECT_EQ(reply.code, code);
  EXPECT_EQ(reply.hold, 0u);
  EXPECT_EQ(harness.events().count(), events_before + 1);
  EXPECT_EQ(EventAt<RequestRecorded>(harness.events(), events_before).reply.code, code);
  ExpectStillHeld(harness);
}

TEST(HoldProofTest, HoldSeatsRepliesWithANonZeroProof) {
  AliceHolds alice;
  EXPECT_NE(alice.held.hold_proof, 0u);
}

TEST(HoldProofTest, ReleaseWithNeitherTokenNorProofIsRefused) {
  AliceHolds alice;
  ExpectRefused(alice.harness, ReleaseCommand(kSchedule, kAlice, QueueToken{}, alice.held.hold, 0),
                ResultCode::kTokenInvalid);
}

TEST(HoldProofTest, ReleaseWithAnotherUsersTokenIsRefused) {
  AliceHolds alice;
  const QueueToken bob = alice.harness.Admit(kBob);
  // Bob's token naming Alice: not hers.
  ExpectRefused(alice.harness, ReleaseCommand(kSchedule, kAlice, bob, alice.held.hold, 0),
                ResultCode::kTokenWrongUser);
  // Bob's token naming Bob: a real token, but not Bob's hold.
  ExpectRefused(alice.harness, ReleaseCommand(kSchedule, kBob, bob, alice.held.hold, 0),
                ResultCode::kHoldNotOwned);
}

TEST(HoldProofTest, ReleaseWithTheHoldersTokenReleases) {
  AliceHolds alice;
  const Reply released =
      alice.harness.Run(ReleaseCommand(kSchedule, kAlice, alice.token, alice.held.hold, 0));
  EXPECT_EQ(released.code, ResultCode::kOk);
  EXPECT_EQ(released.hold, alice.held.hold);
  EXPECT_EQ(released.seat_count, 2);
  ExpectReleased(alice.harness);
  EXPECT_EQ(alice.harness.ReplayHash(), alice.harness.core().StateHash());
}

TEST(HoldProofTest, ReleaseWithTheProofReleases) {
  AliceHolds alice;
  const Reply released = alice.harness.Run(
      ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold, alice.held.hold_proof, 0));
  EXPECT_EQ(released.code, ResultCode::kOk);
  ExpectReleased(alice.harness);
}

TEST(HoldProofTest, TheProofReleasesAfterTheTokenExpired) {
  ScheduleConfig config = MakeScheduleConfig();
  config.active_ttl_ms = 10'000;
  config.hold_ttl_ms = 60'000;
  AliceHolds alice(config);
  alice.harness.AdvanceBy(config.active_ttl_ms);
  ExpectRefused(alice.harness, ReleaseCommand(kSchedule, kAlice, alice.token, alice.held.hold, 0),
                ResultCode::kTokenExpired);
  const Reply released = alice.harness.Run(
      ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold, alice.held.hold_proof, 0));
  EXPECT_EQ(released.code, ResultCode::kOk);
  ExpectReleased(alice.harness);
}

TEST(HoldProofTest, AnAlteredOrForeignProofIsRefused) {
  AliceHolds alice;
  const HoldProof proof = alice.held.hold_proof;
  for (int bit = 0; bit < 64; bit += 7) {
    SCOPED_TRACE(bit);
    ExpectRefused(
        alice.harness,
        ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold, proof ^ (1ULL << bit), 0),
        ResultCode::kHoldProofInvalid);
  }
  // Alice's proof named by Bob.
  alice.harness.Admit(kBob);
  ExpectRefused(alice.harness, ReleaseWithProofCommand(kSchedule, kBob, alice.held.hold, proof, 0),
                ResultCode::kHoldProofInvalid);
  // Bob's proof of his own hold, for Alice's.
  const QueueToken bob = alice.harness.Admit(kBob);
  const Reply bobs = alice.harness.Run(HoldCommand(kSchedule, kBob, bob, {9}, 0));
  ASSERT_TRUE(bobs.ok());
  EXPECT_NE(bobs.hold_proof, proof);
  const size_t events_before = alice.harness.events().count();
  EXPECT_EQ(
      alice.harness
          .Run(ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold, bobs.hold_proof, 0))
          .code,
      ResultCode::kHoldProofInvalid);
  EXPECT_EQ(alice.harness.events().count(), events_before + 1);
  std::vector<SeatState> seats;
  ASSERT_EQ(alice.harness.core().SeatMapUnchecked(kSchedule, &seats), ResultCode::kOk);
  EXPECT_EQ(seats[4], SeatState::kHeld);
  EXPECT_EQ(seats[9], SeatState::kHeld);
}

TEST(HoldProofTest, AProofOfAnotherEngineKeyIsRefused) {
  AliceHolds alice;
  CoreOptions other_options = TestCoreOptions();
  other_options.token_key[0] ^= 1;
  Core other(other_options);
  EventBuffer events;
  ASSERT_TRUE(other.ApplyEvents(alice.harness.events()).ok());
  // The state does not depend on the key: proofs are derived, not recorded
  // (so a tool that replays a log without the key agrees on the hash).
  EXPECT_EQ(other.StateHash(), alice.harness.core().StateHash());
  // The same hold in a core with another key has another proof.
  const Reply repeat =
      other.Apply(HoldCommand(kSchedule, kAlice, alice.token, {4, 5}, AliceHolds::kHoldKey),
                  alice.harness.now(), &events);
  ASSERT_TRUE(repeat.ok());
  EXPECT_EQ(repeat.hold, alice.held.hold);
  EXPECT_NE(repeat.hold_proof, alice.held.hold_proof);
  ExpectRefused(alice.harness,
                ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold, repeat.hold_proof, 0),
                ResultCode::kHoldProofInvalid);
}

TEST(HoldProofTest, ARepeatedHoldSeatsAnswersTheSameProof) {
  AliceHolds alice;
  const Reply repeat =
      alice.harness.Run(HoldCommand(kSchedule, kAlice, alice.token, {4, 5}, AliceHolds::kHoldKey));
  EXPECT_EQ(std::memcmp(&repeat, &alice.held, sizeof(Reply)), 0);
}

TEST(HoldProofTest, TheProofSurvivesReplayAndSnapshot) {
  AliceHolds alice;
  // Replayed from the events: the recorded reply carries the same proof, and
  // the proof releases the hold there.
  Core replayed(TestCoreOptions());
  ASSERT_TRUE(replayed.ApplyEvents(alice.harness.events()).ok());
  EventBuffer events;
  const Reply repeat =
      replayed.Apply(HoldCommand(kSchedule, kAlice, alice.token, {4, 5}, AliceHolds::kHoldKey),
                     alice.harness.now(), &events);
  EXPECT_EQ(std::memcmp(&repeat, &alice.held, sizeof(Reply)), 0);
  EXPECT_TRUE(replayed
                  .Apply(ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold,
                                                 alice.held.hold_proof, 9'001),
                         alice.harness.now(), &events)
                  .ok());

  // Restored from a snapshot: the same.
  std::vector<uint8_t> snapshot;
  alice.harness.core().SaveSnapshot(&snapshot);
  Core restored(TestCoreOptions());
  ASSERT_TRUE(restored.LoadSnapshot(snapshot).ok());
  EXPECT_EQ(restored.StateHash(), alice.harness.core().StateHash());
  EXPECT_EQ(restored
                .Apply(ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold,
                                               alice.held.hold_proof ^ 2, 9'002),
                       alice.harness.now(), &events)
                .code,
            ResultCode::kHoldProofInvalid);
  EXPECT_TRUE(restored
                  .Apply(ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold,
                                                 alice.held.hold_proof, 9'003),
                         alice.harness.now(), &events)
                  .ok());
}

TEST(HoldProofTest, AReleaseRepeatedWithAnotherProofIsAKeyReuse) {
  AliceHolds alice;
  const Command wrong =
      ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold, alice.held.hold_proof ^ 4, 77);
  ASSERT_EQ(alice.harness.Run(wrong).code, ResultCode::kHoldProofInvalid);
  const Command right =
      ReleaseWithProofCommand(kSchedule, kAlice, alice.held.hold, alice.held.hold_proof, 77);
  EXPECT_EQ(alice.harness.Run(right).code, ResultCode::kRequestKeyReused);
  ExpectStillHeld(alice.harness);
}

// A core snapshot of version 2 (replies without hold_proof) still loads: its
// request records read with a zero proof, as version 3 records them.
TEST(HoldProofTest, ASnapshotWithoutHoldProofsLoads) {
  AliceHolds alice;
  ASSERT_TRUE(alice.harness.Run(ChargeCommand(kAlice, 500, 31)).ok());
  std::vector<uint8_t> v2;
  alice.harness.core().SaveSnapshot(&v2);
  // The request results end the snapshot: u32 oldest | u64 count | records.
  const uint64_t count = alice.harness.core().Stats().request_results;
  ASSERT_GE(count, 2u);
  const size_t record_v2 = sizeof(RequestRecorded);
  const size_t record_v1 = record_v2 - sizeof(HoldProof);
  const size_t records_at = v2.size() - count * record_v2;
  uint64_t saved_count = 0;
  std::memcpy(&saved_count, v2.data() + records_at - 8, 8);
  ASSERT_EQ(saved_count, count);
  std::vector<uint8_t> v1(v2.begin(), v2.begin() + static_cast<std::ptrdiff_t>(records_at));
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* record = v2.data() + records_at + i * record_v2;
    v1.insert(v1.end(), record, record + record_v1);
  }
  // The version follows the 4-byte magic: 2, the last without hold proofs
  // (its accounts laid out as now).
  v1[4] = 2;
  v1[5] = 0;

  Core restored(TestCoreOptions());
  const absl::Status status = restored.LoadSnapshot(v1);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(restored.Stats().request_results, count);
  // Recorded replies hold no proof in either version: the same state.
  EXPECT_EQ(restored.StateHash(), alice.harness.core().StateHash());
  EventBuffer events;
  const Reply repeat =
      restored.Apply(HoldCommand(kSchedule, kAlice, alice.token, {4, 5}, AliceHolds::kHoldKey),
                     alice.harness.now(), &events);
  EXPECT_EQ(std::memcmp(&repeat, &alice.held, sizeof(Reply)), 0);
  // A recorded charge answers as before; the hold releases with the token.
  const Reply charge = restored.Apply(ChargeCommand(kAlice, 500, 31), alice.harness.now(), &events);
  EXPECT_EQ(charge.code, ResultCode::kOk);
  EXPECT_EQ(charge.balance, 500);
  EXPECT_TRUE(restored
                  .Apply(ReleaseCommand(kSchedule, kAlice, alice.token, alice.held.hold, 9'004),
                         alice.harness.now(), &events)
                  .ok());
}

// A RequestRecorded written raw by a version 1 log (before hold_proof) reads
// with a zero proof.
TEST(HoldProofTest, ARawRequestRecordedOfTheOldSizeDecodes) {
  RequestRecorded record{};
  record.user = kAlice;
  record.key = 5;
  record.fingerprint = 6;
  record.reply = MakeReply(CommandType::kCharge, ResultCode::kOk);
  record.reply.balance = 700;
  record.reply.hold_proof = 0xdead;  // Not written: cut off below.
  std::vector<uint8_t> bytes(kEventRawBytesBefore<RequestRecorded>);
  std::memcpy(bytes.data(), &record, bytes.size());
  const EventView view{EventType::kRequestRecorded, bytes, false};
  RequestRecorded decoded{};
  ASSERT_TRUE(view.Decode(&decoded));
  EXPECT_EQ(decoded.user, kAlice);
  EXPECT_EQ(decoded.reply.balance, 700);
  EXPECT_EQ(decoded.reply.hold_proof, 0u);
  // Any other size is still refused.
  bytes.pop_back();
  EXPECT_FALSE((EventView{EventType::kRequestRecorded, bytes, false}.Decode(&decoded)));
}

}  // namespace
}  // namespace encore::testing
