// RequestResults against a reference model: random records (with repeats,
// so "already recorded" is exercised) through small and odd capacities, so
// the ring wraps many times and the index's removals shift probe runs. After
// every step each key of the domain is looked up in both.
//   ENCORE_REQUEST_RESULTS_SEED=<n> replays one seed.
#include "internal/request_results.h"

#include <cstdlib>
#include <cstring>
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
        const std::optional<RequestRecorded> found = results.Find(u, k);
        auto expected = model.find({u, k});
        ASSERT_EQ(found.has_value(), expected != model.end())
            << "step " << step << " user " << u << " key " << k;
        if (found.has_value()) {
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

// A record keeps only the reply words that differ from a default Reply's,
// and a reply with more of them whole on the side: either way Find() gives
// back the very bytes recorded, also after the ring wrapped over a slot that
// held the other kind.
TEST(RequestResultsTest, RepliesComeBackByteForByte) {
  const uint64_t seed = SeedFromEnv(20261207);
  SCOPED_TRACE(testing::Message() << "ENCORE_REQUEST_RESULTS_SEED=" << seed);
  std::mt19937_64 random(seed);
  constexpr uint32_t kCapacity = 37;
  RequestResults results(kCapacity);
  std::deque<RequestRecorded> recorded;  // The last kCapacity, oldest first.
  for (uint32_t step = 0; step < 2'000; ++step) {
    RequestRecorded record{};
    record.user = 1 + step % 5;
    record.key = 1 + step;
    record.fingerprint = random();
    uint64_t words[sizeof(Reply) / 8];
    std::memcpy(words, &record.reply, sizeof(Reply));
    // 0 to all 11 words after the first set; the first word random, its
    // reserved bytes included now and then.
    const uint32_t set = static_cast<uint32_t>(random() % 12);
    for (uint32_t i = 0; i < set; ++i) words[1 + random() % 11] = random();
    words[0] = random() % 4 == 0 ? random() : random() & 0xff'ffff'ffffULL;
    std::memcpy(&record.reply, words, sizeof(Reply));
    ASSERT_TRUE(results.Record(record));
    recorded.push_back(record);
    if (recorded.size() > kCapacity) recorded.pop_front();
    for (const RequestRecorded& expected : recorded) {
      const std::optional<RequestRecorded> found = results.Find(expected.user, expected.key);
      ASSERT_TRUE(found.has_value()) << "step " << step;
      ASSERT_EQ(std::memcmp(&*found, &expected, sizeof(RequestRecorded)), 0) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace encore::internal
