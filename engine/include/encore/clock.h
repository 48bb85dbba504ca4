// Clock: where the runtime gets the time that stamps each batch. The core
// never reads a clock; the runtime reads this one once per batch.
//
// Thread safety: NowMs() may be called from any thread.
#ifndef ENCORE_CLOCK_H_
#define ENCORE_CLOCK_H_

#include <atomic>
#include <chrono>

#include "encore/types.h"

namespace encore {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimestampMs NowMs() const = 0;
};

// Wall-clock time (system_clock), in milliseconds since the Unix epoch.
class SystemClock final : public Clock {
 public:
  TimestampMs NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told: for tests and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimestampMs start_ms) : now_ms_(start_ms) {}
  TimestampMs NowMs() const override { return now_ms_.load(std::memory_order_acquire); }
  void Set(TimestampMs now_ms) { now_ms_.store(now_ms, std::memory_order_release); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms, std::memory_order_acq_rel); }

 private:
  std::atomic<TimestampMs> now_ms_;
};

}  // namespace encore

#endif  // ENCORE_CLOCK_H_
