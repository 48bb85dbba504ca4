// Wakeup: lets an idle thread block, and another wake it, without a lost
// wake-up and without a lock on the busy path.
//
// The sleeper announces itself with an exchange on sleeping_, then checks for
// work once more, then blocks. The waker publishes its work (a ring push),
// then does a read-modify-write on sleeping_. Both are RMWs on one atomic, so
// they are ordered: if the waker's comes first, the sleeper's exchange reads
// from it and so sees the work (acquire/release); if the sleeper's comes
// first, the waker reads `true` and signals. (Fences would do the same, but
// ThreadSanitizer cannot check fences; it checks this.)
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
    if (sleeping_.fetch_add(0, std::memory_order_acq_rel) == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    signaled_ = true;
    condition_.notify_one();
  }

  // Sleeper side: blocks up to `timeout` unless has_work() is true after the
  // announcement, or until Notify().
  template <typename HasWork>
  void Sleep(std::chrono::microseconds timeout, HasWork has_work) {
    sleeping_.exchange(1, std::memory_order_acq_rel);
    if (!has_work()) {
      std::unique_lock<std::mutex> lock(mutex_);
      condition_.wait_for(lock, timeout, [this] { return signaled_; });
      signaled_ = false;
    }
    sleeping_.exchange(0, std::memory_order_acq_rel);
  }

 private:
  std::atomic<uint32_t> sleeping_{0};
  std::mutex mutex_;
  std::condition_variable condition_;
  bool signaled_ = false;
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_WAKEUP_H_
