// InspectionQueue: reads of a shard's core from other threads. A caller
// queues a function and waits; the shard's thread runs every queued one at
// the start of a batch, after its timers and before its commands, so each
// sees a consistent state.
//
// Thread safety: Inspect from any thread but the shard's; pending() and
// RunAll on the shard's thread.
#ifndef ENCORE_RUNTIME_INSPECTION_QUEUE_H_
#define ENCORE_RUNTIME_INSPECTION_QUEUE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "encore/core.h"
#include "runtime/wakeup.h"

namespace encore::internal {

class InspectionQueue {
 public:
  using Fn = std::function<void(const Core&)>;

  // Queues fn, wakes the shard and waits until it ran; returns the LSN that
  // RunAll gave it.
  uint64_t Inspect(const Fn& fn, Wakeup& shard_wakeup);
  // Something is queued: a load, on every batch.
  bool pending() const { return pending_.load(std::memory_order_acquire); }
  // Runs every queued fn on `core`, each seeing the state up to `lsn`, and
  // wakes their callers.
  void RunAll(const Core& core, uint64_t lsn);

 private:
  struct Inspection {
    const Fn* fn;
    uint64_t lsn = 0;  // Of the last event in the state fn saw.
    bool done = false;
  };

  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<Inspection*> queued_;
  std::atomic<bool> pending_{false};
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_INSPECTION_QUEUE_H_
