// Wakeup: lets an idle thread block, and another wake it, without a lost
// wake-up and without a lock on the busy path.
//
// The sleeper announces itself (sleeping_ = true), then checks for work once
// more, then blocks. The waker publishes its work (a ring push), then reads
// sleeping_. Both sides put a seq_cst fence between their write and their
// read, so at least one of them sees the other's write: either the sleeper
// finds the work, or the waker sees it sleeping and signals.
#ifndef ENCORE_RUNTIME_WAKEUP_H_
#define ENCORE_RUNTIME_WAKEUP_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace encore::internal {

class alignas(64) Wakeup {
 public:
  // Waker side, after publishing work.
  void Notify() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!sleeping_.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    signaled_ = true;
    condition_.notify_one();
  }

  // Sleeper side: blocks up to `timeout` unless has_work() is true after the
  // announcement, or until Notify().
  template <typename HasWork>
  void Sleep(std::chrono::microseconds timeout, HasWork has_work) {
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!has_work()) {
      std::unique_lock<std::mutex> lock(mutex_);
      condition_.wait_for(lock, timeout, [this] { return signaled_; });
      signaled_ = false;
    }
    sleeping_.store(false, std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> sleeping_{false};
  std::mutex mutex_;
  std::condition_variable condition_;
  bool signaled_ = false;
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_WAKEUP_H_
