// UserCounts (the per-user seat counts of a schedule) against a reference
// map: random adds and takes over a small domain, so counts fall to 0 and
// are erased inside probe runs many times and the backward shift is
// exercised; after every step each user of the domain is looked up in both.
//   ENCORE_USER_COUNTS_SEED=<n> replays one seed.
#include "internal/user_counts.h"

#include <cstdlib>
#include <map>
#include <random>

#include "gtest/gtest.h"

namespace encore::internal {
namespace {

uint64_t SeedFromEnv(uint64_t fallback) {
  const char* text = std::getenv("ENCORE_USER_COUNTS_SEED");
  return text == nullptr ? fallback : std::strtoull(text, nullptr, 10);
}

void ExpectSame(const UserCounts& counts, const std::map<UserId, uint32_t>& model, UserId domain) {
  ASSERT_EQ(counts.size(), model.size());
  for (UserId user = 0; user < domain; ++user) {
    const auto it = model.find(user);
    ASSERT_EQ(counts.Get(user), it == model.end() ? 0u : it->second) << "user " << user;
  }
  size_t visited = 0;
  counts.ForEach([&](UserId user, uint32_t count) {
    ++visited;
    const auto it = model.find(user);
    ASSERT_TRUE(it != model.end()) << "user " << user;
    EXPECT_EQ(count, it->second);
  });
  EXPECT_EQ(visited, model.size());
}

TEST(UserCountsTest, MatchesAMapThroughAddsTakesAndErases) {
  for (uint64_t seed : {SeedFromEnv(1), SeedFromEnv(2), SeedFromEnv(3)}) {
    SCOPED_TRACE(testing::Message()
                 << "seed " << seed << " (ENCORE_USER_COUNTS_SEED=" << seed << ")");
    std::mt19937_64 random(seed);
    UserCounts counts;
    std::map<UserId, uint32_t> model;
    // User 0 included: it is a valid id, not the empty marker.
    const UserId domain = 1 + random() % 300;
    for (int step = 0; step < 20'000; ++step) {
      const UserId user = random() % domain;
      uint32_t& expected = model[user];
      int32_t delta = 1 + static_cast<int32_t>(random() % 4);
      if (expected > 0 && random() % 2 == 0) {
        delta = -static_cast<int32_t>(1 + random() % expected);  // Down to 0 at most.
      }
      expected += static_cast<uint32_t>(delta);
      if (expected == 0) model.erase(user);
      counts.Add(user, delta);
      ExpectSame(counts, model, domain);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(UserCountsTest, InsertRefusesZeroAndRepeatsAndEqualityIgnoresOrder) {
  UserCounts a;
  EXPECT_TRUE(a.Insert(0, 2));
  EXPECT_TRUE(a.Insert(7, 1));
  EXPECT_FALSE(a.Insert(7, 3));  // Already there: unchanged.
  EXPECT_FALSE(a.Insert(9, 0));  // A count of 0 is never stored.
  EXPECT_EQ(a.Get(7), 1u);
  EXPECT_EQ(a.Get(9), 0u);
  EXPECT_EQ(a.size(), 2u);
  UserCounts b;
  b.Reserve(1000);  // Another capacity, so another layout.
  b.Add(7, 1);
  b.Add(0, 3);
  EXPECT_FALSE(a == b);
  b.Add(0, -1);
  EXPECT_TRUE(a == b);
  b.Add(7, -1);
  EXPECT_FALSE(a == b);
  EXPECT_EQ(b.size(), 1u);
}

// A count never goes below 0 (the header's REQUIRES): taking away more than a
// user has is a programmer error, and stops the process.
TEST(UserCountsDeathTest, TakingAwayMoreThanACountStops) {
  UserCounts counts;
  counts.Add(7, 2);
  EXPECT_DEATH(counts.Add(7, -3), "ENCORE_CHECK failed");
  EXPECT_DEATH(counts.Add(8, -1), "ENCORE_CHECK failed");
  EXPECT_EQ(counts.Get(7), 2u);
}

}  // namespace
}  // namespace encore::internal
