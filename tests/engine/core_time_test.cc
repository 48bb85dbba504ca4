// The core's time never goes back: a `now` earlier than one it has seen counts
// as the latest seen (core.h). The wall clock can step back and a restarted
// shard resumes at its snapshot's time, so an earlier `now` is an operating
// condition, clamped, not a programmer error.
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr int64_t kLaterByMs = 60'000;

TEST(CoreTimeTest, AnEarlierNowCountsAsTheLatestSeen) {
  CoreHarness harness;
  const TimestampMs latest = kSaleOpensMs + kLaterByMs;
  harness.AdvanceTo(latest);
  // Entered and held at a time before the latest one seen.
  const Reply entered = harness.RunAt(EnterCommand(kSchedule, 1, 0), kSaleOpensMs);
  ASSERT_TRUE(entered.ok()) << ResultCodeName(entered.code);
  const Reply held = harness.Run(HoldCommand(kSchedule, 1, entered.token, {0}, 0));
  ASSERT_TRUE(held.ok()) << ResultCodeName(held.code);
  EXPECT_EQ(held.hold_deadline_ms, latest + MakeScheduleConfig().hold_ttl_ms);
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
}

TEST(CoreTimeTest, AnEarlierNowFiresNothingAndUndoesNothing) {
  CoreHarness harness;
  QueueToken token;
  const HoldId hold = harness.HoldFor(1, {0}, &token);
  ASSERT_NE(hold, 0u);
  const int64_t ttl_ms = MakeScheduleConfig().hold_ttl_ms;
  harness.AdvanceTo(kSaleOpensMs + ttl_ms);  // The hold expires at its deadline.
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);
  const size_t events_before = harness.events().count();
  harness.AdvanceTo(kSaleOpensMs);  // Back before the deadline: still expired.
  EXPECT_EQ(harness.events().count(), events_before);
  EXPECT_EQ(harness.core().Stats().seats_held, 0u);
  EXPECT_TRUE(harness.core().CheckInvariants().ok());
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
}

}  // namespace
}  // namespace encore::testing
