// A first walk through the whole flow: admit, hold, pay, replay.
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

TEST(CoreSmokeTest, AdmitHoldPayReplay) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(1, 10'000, 0)).ok());
  QueueToken token;
  const HoldId hold = harness.HoldFor(1, {0, 1}, &token);
  ASSERT_NE(hold, 0u);
  const Reply paid = harness.Run(PayCommand(kSchedule, 1, token, hold, 0));
  ASSERT_TRUE(paid.ok()) << ResultCodeName(paid.code);
  EXPECT_EQ(paid.amount, 10'000);
  EXPECT_EQ(paid.balance, 0);
  EXPECT_TRUE(harness.core().CheckInvariants().ok());
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
  EXPECT_EQ(harness.core().Stats().seats_sold, 2u);
}

}  // namespace
}  // namespace encore::testing
