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
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
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

// A FIFO in chunks of 64K timers (2 MB), each allocated whole and freed once
// popped through: memory follows what is queued, and pushing never moves or
// copies what is there (std::deque allocates every 16 timers instead). Its
// last chunk is kept when it empties, so a lane that empties and refills (a
// queue timer at a time) allocates nothing.
class TimerFifo {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  const Timer& front() const { return chunks_.front()[head_]; }
  const Timer& back() const { return chunks_.back()[tail_ - 1]; }
  void push_back(const Timer& timer) {
    if (chunks_.empty() || tail_ == kChunk) {
      chunks_.push_back(std::make_unique_for_overwrite<Timer[]>(kChunk));
      tail_ = 0;
    }
    chunks_.back()[tail_++] = timer;
    ++size_;
  }
  void pop_front() {
    if (--size_ == 0) {  // Front and back were in the one chunk left: keep it.
      head_ = 0;
      tail_ = 0;
      return;
    }
    if (++head_ == kChunk) {
      chunks_.pop_front();
      head_ = 0;
    }
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 16;
  std::deque<std::unique_ptr<Timer[]>> chunks_;
  size_t size_ = 0;
  size_t head_ = 0;  // The front's index in the first chunk.
  size_t tail_ = 0;  // One past the back's index in the last chunk.
};

class TimerHeap {
 public:
  void Push(TimestampMs due_ms, uint32_t schedule_index, TimerKind kind, HoldId hold) {
    const Timer timer{due_ms, next_sequence_++, schedule_index, kind, hold};
    // Its sequence is the latest: before top() only if due strictly earlier.
    const bool earliest = empty() || due_ms < next_due_ms_;
    // Sequences only grow, so a timer due at or after a lane's last is after
    // it: the lane whose last is the latest such, else an empty lane.
    uint32_t source = kHeap;
    uint32_t empty_lane = kHeap;
    for (uint32_t lane = 0; lane < kLanes; ++lane) {
      const TimerFifo& fifo = lanes_[lane];
      if (fifo.empty()) {
        if (empty_lane == kHeap) empty_lane = lane;
      } else if (fifo.back().due_ms <= due_ms &&
                 (source == kHeap || lanes_[source].back().due_ms < fifo.back().due_ms)) {
        source = lane;
      }
    }
    if (source == kHeap) source = empty_lane;
    if (source == kHeap) {
      heap_.push_back(timer);
      std::push_heap(heap_.begin(), heap_.end(), Later);
    } else {
      lanes_[source].push_back(timer);
    }
    ++size_;
    // Earlier than every other timer: it is at its source's front.
    if (earliest) {
      next_ = source;
      next_due_ms_ = due_ms;
    }
  }
  bool empty() const { return size_ == 0; }
  // The earliest timer; not empty().
  const Timer& top() const { return next_ == kHeap ? heap_.front() : lanes_[next_].front(); }
  // top()'s due time, kNoDeadline when empty(): one load, for a check made
  // before every command.
  TimestampMs NextDueMs() const { return next_due_ms_; }
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
    next_due_ms_ = best == nullptr ? kNoDeadline : best->due_ms;
  }

  std::vector<Timer> heap_;
  std::array<TimerFifo, kLanes> lanes_;  // Each in (due, sequence) order.
  size_t size_ = 0;
  uint32_t next_ = kHeap;  // The source of top(), when not empty().
  TimestampMs next_due_ms_ = kNoDeadline;
  uint64_t next_sequence_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_TIMER_HEAP_H_
