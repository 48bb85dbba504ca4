// TimerHeap: a min-heap of due times with lazy cancellation. A timer is never
// removed when what it guards ends early (a hold released, a queue head
// moved); the owner checks, when it fires, whether it is still due. So every
// operation is O(log n) and no index is kept per timer.
#ifndef ENCORE_INTERNAL_TIMER_HEAP_H_
#define ENCORE_INTERNAL_TIMER_HEAP_H_

#include <algorithm>
#include <cstdint>
#include <functional>
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
    heap_.push_back(Timer{due_ms, next_sequence_++, schedule_index, kind, hold});
    std::push_heap(heap_.begin(), heap_.end(), Later);
  }
  bool empty() const { return heap_.empty(); }
  const Timer& top() const { return heap_.front(); }
  TimestampMs NextDueMs() const { return heap_.empty() ? kNoDeadline : heap_.front().due_ms; }
  Timer Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    Timer timer = heap_.back();
    heap_.pop_back();
    return timer;
  }
  size_t size() const { return heap_.size(); }

 private:
  static bool Later(const Timer& a, const Timer& b) {
    return a.due_ms != b.due_ms ? a.due_ms > b.due_ms : a.sequence > b.sequence;
  }
  std::vector<Timer> heap_;
  uint64_t next_sequence_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_TIMER_HEAP_H_
