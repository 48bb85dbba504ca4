// InspectionQueue: a mutex-guarded list of waiting callers.
#include "runtime/inspection_queue.h"

namespace encore::internal {

uint64_t InspectionQueue::Inspect(const Fn& fn, Wakeup& shard_wakeup) {
  Inspection inspection{&fn};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queued_.push_back(&inspection);
    pending_.store(true, std::memory_order_release);
  }
  shard_wakeup.Notify();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return inspection.done; });
  return inspection.lsn;
}

void InspectionQueue::RunAll(const Core& core, uint64_t lsn) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Inspection* inspection : queued_) {
    (*inspection->fn)(core);
    inspection->lsn = lsn;
    inspection->done = true;
  }
  queued_.clear();
  pending_.store(false, std::memory_order_release);
  done_.notify_all();
}

}  // namespace encore::internal
