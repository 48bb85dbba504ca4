// TimerHeap (and its lanes' TimerFifo) against a model that sorts every timer by (due, insertion):
// the same timers come out in the same order, whether they fit its lanes (due times that only grow,
// one run per TTL) or fall back to its heap.
#include "internal/timer_heap.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "support/seed.h"

namespace encore::internal {
namespace {

uint64_t Seed() { return testing::SeedFromEnvOrRandom("ENCORE_TIMER_HEAP_SEED"); }

// The model: every pushed timer not popped yet, in push order.
struct Model {
  struct Entry {
    TimestampMs due_ms;
    uint64_t order;
    HoldId hold;
  };
  std::vector<Entry> live;
  uint64_t pushed = 0;

  void Push(TimestampMs due_ms, HoldId hold) { live.push_back({due_ms, pushed++, hold}); }
  // The earliest due, first pushed among equals.
  Entry Pop() {
    const auto earliest =
        std::min_element(live.begin(), live.end(), [](const Entry& a, const Entry& b) {
          return a.due_ms != b.due_ms ? a.due_ms < b.due_ms : a.order < b.order;
        });
    const Entry entry = *earliest;
    live.erase(earliest);
    return entry;
  }
};

void PushBoth(TimerHeap* timers, Model* model, TimestampMs due_ms, HoldId hold) {
  timers->Push(due_ms, 0, TimerKind::kHoldDeadline, hold);
  model->Push(due_ms, hold);
}

void PopBothAndCompare(TimerHeap* timers, Model* model) {
  ASSERT_FALSE(timers->empty());
  ASSERT_EQ(timers->NextDueMs(), std::min_element(model->live.begin(), model->live.end(),
                                                  [](const Model::Entry& a, const Model::Entry& b) {
                                                    return a.due_ms < b.due_ms;
                                                  })
                                     ->due_ms);
  const Model::Entry expected = model->Pop();
  ASSERT_EQ(timers->top().hold, expected.hold);
  const Timer timer = timers->Pop();
  ASSERT_EQ(timer.due_ms, expected.due_ms);
  ASSERT_EQ(timer.hold, expected.hold) << "due " << expected.due_ms;
  ASSERT_EQ(timers->size(), model->live.size());
}

TEST(TimerHeapTest, EmptyHasNoDeadline) {
  TimerHeap timers;
  EXPECT_TRUE(timers.empty());
  EXPECT_EQ(timers.size(), 0u);
  EXPECT_EQ(timers.NextDueMs(), kNoDeadline);
}

// Holds of several TTLs at a clock that only moves on, with pops as time
// passes: the shape of a sale. More TTLs than lanes send some to the heap.
TEST(TimerHeapTest, ManyTtlsAtAGrowingClockPopInDueOrder) {
  std::mt19937_64 random(Seed());
  for (const int ttls : {1, 2, 4, 7}) {
    SCOPED_TRACE(::testing::Message() << ttls << " TTLs");
    std::vector<TimestampMs> ttl_ms;
    for (int i = 0; i < ttls; ++i) ttl_ms.push_back(1 + static_cast<TimestampMs>(random() % 5000));
    TimerHeap timers;
    Model model;
    TimestampMs now = 1'000'000;
    HoldId hold = 0;
    for (int step = 0; step < 4000; ++step) {
      now += static_cast<TimestampMs>(random() % 3);
      if (random() % 3 != 0) {
        PushBoth(&timers, &model, now + ttl_ms[random() % ttl_ms.size()], ++hold);
      }
      while (!timers.empty() && timers.NextDueMs() <= now) {
        ASSERT_NO_FATAL_FAILURE(PopBothAndCompare(&timers, &model));
      }
    }
    while (!model.live.empty()) ASSERT_NO_FATAL_FAILURE(PopBothAndCompare(&timers, &model));
    EXPECT_TRUE(timers.empty());
    EXPECT_EQ(timers.NextDueMs(), kNoDeadline);
  }
}

// Due times in any order, many equal: ties come out in push order.
TEST(TimerHeapTest, AnyOrderAndTiesMatchTheModel) {
  std::mt19937_64 random(Seed());
  TimerHeap timers;
  Model model;
  HoldId hold = 0;
  for (int step = 0; step < 5000; ++step) {
    if (model.live.empty() || random() % 5 < 3) {
      PushBoth(&timers, &model, static_cast<TimestampMs>(random() % 64), ++hold);
    } else {
      ASSERT_NO_FATAL_FAILURE(PopBothAndCompare(&timers, &model));
    }
  }
  while (!model.live.empty()) ASSERT_NO_FATAL_FAILURE(PopBothAndCompare(&timers, &model));
}

// One far deadline first (a long TTL) must not push every later, nearer one
// out of order: they take another lane and still come out first.
TEST(TimerHeapTest, OneFarDeadlineDoesNotHoldBackNearerOnes) {
  TimerHeap timers;
  Model model;
  PushBoth(&timers, &model, 86'400'000, 1);
  for (HoldId hold = 2; hold < 100; ++hold) {
    PushBoth(&timers, &model, 1'000 + static_cast<TimestampMs>(hold), hold);
  }
  EXPECT_EQ(timers.NextDueMs(), 1'002);
  while (!model.live.empty()) ASSERT_NO_FATAL_FAILURE(PopBothAndCompare(&timers, &model));
}

// The lanes' FIFO across its 64K-timer chunks: order, size, front and back
// as chunks fill and are freed, and reuse once emptied.
TEST(TimerFifoTest, KeepsOrderAcrossChunks) {
  TimerFifo fifo;
  EXPECT_TRUE(fifo.empty());
  uint64_t pushed = 0;
  uint64_t popped = 0;
  const auto push = [&](uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      fifo.push_back(
          Timer{static_cast<TimestampMs>(pushed), pushed, 0, TimerKind::kHoldDeadline, pushed});
      ++pushed;
      ASSERT_EQ(fifo.back().sequence, pushed - 1);
    }
  };
  const auto pop = [&](uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      ASSERT_FALSE(fifo.empty());
      ASSERT_EQ(fifo.front().sequence, popped) << "after " << popped << " popped";
      fifo.pop_front();
      ++popped;
      ASSERT_EQ(fifo.size(), pushed - popped);
    }
  };
  for (int round = 0; round < 2; ++round) {
    ASSERT_NO_FATAL_FAILURE(push(150'000));  // Three chunks, the last part full.
    EXPECT_EQ(fifo.size(), pushed - popped);
    ASSERT_NO_FATAL_FAILURE(pop(70'000));  // Frees the first chunk.
    ASSERT_NO_FATAL_FAILURE(push(131'072));
    ASSERT_NO_FATAL_FAILURE(pop(pushed - popped));
    EXPECT_TRUE(fifo.empty());  // And usable again: the second round.
  }
}

// Many timers in one lane, across its chunks, with pops as time passes.
TEST(TimerHeapTest, LongRunsInOneLaneComeOutInOrder) {
  TimerHeap timers;
  TimestampMs now = 0;
  HoldId next_hold = 1;
  HoldId expected_hold = 1;
  for (int step = 0; step < 300'000; ++step) {
    if (step % 7 != 0) {
      timers.Push(now + 1'000, 0, TimerKind::kHoldDeadline, next_hold++);
    }
    ++now;
    while (timers.NextDueMs() <= now) {
      const Timer timer = timers.Pop();
      ASSERT_EQ(timer.hold, expected_hold++);
      ASSERT_LE(timer.due_ms, now);
    }
  }
  while (!timers.empty()) ASSERT_EQ(timers.Pop().hold, expected_hold++);
  EXPECT_EQ(expected_hold, next_hold);
  EXPECT_EQ(timers.NextDueMs(), kNoDeadline);
}

}  // namespace
}  // namespace encore::internal
