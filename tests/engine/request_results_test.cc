// RequestResults against a reference model: random records (with repeats,
// so "already recorded" is exercised) through small and odd capacities, so
// the ring wraps many times and the index's removals shift probe runs. After
// every step each key of the domain is looked up in both.
//   ENCORE_REQUEST_RESULTS_SEED=<n> replays one seed.
#include "internal/request_results.h"

#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <utility>

#include "encore/event.h"
#include "gtest/gtest.h"

namespace encore::internal {
namespace {

uint64_t SeedFromEnv(uint64_t fallback) {
  const char* text = std::getenv("ENCORE_REQUEST_RESULTS_SEED");
  return text == nullptr ? fallback : std::strtoull(text, nullptr, 10);
}

void RunAgainstModel(uint32_t capacity, uint64_t seed) {
  SCOPED_TRACE(testing::Message() << "capacity " << capacity << ", seed " << seed
                                  << " (ENCORE_REQUEST_RESULTS_SEED=" << seed << ")");
  std::mt19937_64 random(seed);
  RequestResults results(capacity);
  std::deque<std::pair<UserId, RequestKey>> order;  // Oldest first.
  std::map<std::pair<UserId, RequestKey>, uint64_t> model;
  // A domain about three times the capacity: many keys come back while
  // recorded, many after being forgotten.
  const uint64_t users = 7;
  const uint64_t keys = capacity * 3 / users + 2;
  for (uint32_t step = 0; step < capacity * 20 + 200; ++step) {
    const UserId user = 1 + random() % users;
    const RequestKey key = 1 + random() % keys;
    RequestRecorded record{};
    record.user = user;
    record.key = key;
    record.fingerprint = random();
    const bool known = model.contains({user, key});
    ASSERT_EQ(results.Record(record), !known) << "step " << step;
    if (!known) {
      if (order.size() == capacity) {
        model.erase(order.front());
        order.pop_front();
      }
      order.emplace_back(user, key);
      model[{user, key}] = record.fingerprint;
    }
    ASSERT_EQ(results.size(), order.size());
    if (step % 7 != 0) continue;  // Full sweeps now and then keep it fast.
    for (UserId u = 1; u <= users; ++u) {
      for (RequestKey k = 1; k <= keys; ++k) {
        const RequestRecorded* found = results.Find(u, k);
        auto expected = model.find({u, k});
        ASSERT_EQ(found != nullptr, expected != model.end())
            << "step " << step << " user " << u << " key " << k;
        if (found != nullptr) {
          ASSERT_EQ(found->fingerprint, expected->second);
        }
      }
    }
  }
}

TEST(RequestResultsTest, MatchesAReferenceModelThroughManyWraps) {
  const uint64_t seed = SeedFromEnv(20261124);
  for (uint32_t capacity : {1u, 2u, 3u, 17u, 64u, 100u, 1000u}) RunAgainstModel(capacity, seed);
}

}  // namespace
}  // namespace encore::internal
