// TimerHeap: due times in order, with lazy cancellation. A timer is never
// removed when what it guards ends early (a hold released, a queue head
// moved); the owner checks, when it fires, whether it is still due. So no
// index is kept per timer.
//
// Most timers arrive in due order: a hold's deadline is now plus its
// schedule's TTL, and now never goes back. So timers go to a few FIFO lanes,
// each in due order: appended at the end of the lane whose last timer is the
// latest not after them (one lane per TTL in use, in effect), in O(1) and next
// to the previous one in memory. Only a timer that fits no lane (more TTLs
// than lanes, a queue timer due early) goes to a min-heap. The next timer is
// the earliest of the fronts. Pushing every hold's deadline into one heap of
// millions cost the shard a fifth of its time in hold-only
// (docs/PERFORMANCE.md).
#ifndef ENCORE_INTERNAL_TIMER_HEAP_H_
#define ENCORE_INTERNAL_TIMER_HEAP_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "encore/core.h"
#include "encore/types.h"

namespace encore::internal {

enum class TimerKind : uint8_t { kHoldDeadline = 0, kQueue = 1 };

struct Timer {
  TimestampMs due_ms;
  // Ties break on insertion order, so expiry order is deterministic.
  uint64_t sequence;
  uint32_t schedule_index;
  TimerKind kind;
  HoldId hold;  // kHoldDeadline only.
};

class TimerHeap {
 public:
  void Push(TimestampMs due_ms, uint32_t schedule_index, TimerKind kind, HoldId hold) {
    const Timer timer{due_ms, next_sequence_++, schedule_index, kind, hold};
    const bool earliest = empty() || Later(top(), timer);
    // Sequences only grow, so a timer due at or after a lane's last is after it.
    uint32_t source = kHeap;
    for (uint32_t lane = 0; lane < kLanes; ++lane) {
      const std::deque<Timer>& fifo = lanes_[lane];
      if (fifo.empty()) {
        if (source == kHeap) source = lane;
      } else if (fifo.back().due_ms <= due_ms &&
                 (source == kHeap || lanes_[source].empty() ||
                  lanes_[source].back().due_ms < fifo.back().due_ms)) {
        source = lane;
      }
    }
    if (source == kHeap) {
      heap_.push_back(timer);
      std::push_heap(heap_.begin(), heap_.end(), Later);
    } else {
      lanes_[source].push_back(timer);
    }
    ++size_;
    // Earlier than every other timer: it is at its source's front.
    if (earliest) next_ = source;
  }
  bool empty() const { return size_ == 0; }
  // The earliest timer; not empty().
  const Timer& top() const { return next_ == kHeap ? heap_.front() : lanes_[next_].front(); }
  TimestampMs NextDueMs() const { return empty() ? kNoDeadline : top().due_ms; }
  // Removes and returns top(); not empty().
  Timer Pop() {
    Timer timer;
    if (next_ == kHeap) {
      std::pop_heap(heap_.begin(), heap_.end(), Later);
      timer = heap_.back();
      heap_.pop_back();
    } else {
      timer = lanes_[next_].front();
      lanes_[next_].pop_front();
    }
    --size_;
    FindNext();
    return timer;
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint32_t kLanes = 4;
  static constexpr uint32_t kHeap = kLanes;  // A source index: the heap.

  static bool Later(const Timer& a, const Timer& b) {
    return a.due_ms != b.due_ms ? a.due_ms > b.due_ms : a.sequence > b.sequence;
  }
  void FindNext() {
    next_ = kHeap;
    const Timer* best = heap_.empty() ? nullptr : &heap_.front();
    for (uint32_t lane = 0; lane < kLanes; ++lane) {
      if (lanes_[lane].empty()) continue;
      const Timer& front = lanes_[lane].front();
      if (best == nullptr || Later(*best, front)) {
        best = &front;
        next_ = lane;
      }
    }
  }

  std::vector<Timer> heap_;
  std::array<std::deque<Timer>, kLanes> lanes_;  // Each in (due, sequence) order.
  size_t size_ = 0;
  uint32_t next_ = kHeap;  // The source of top(), when not empty().
  uint64_t next_sequence_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_TIMER_HEAP_H_
