// Completions: waits for the callbacks of asynchronous requests to have run.
//
// net::Client takes a request off in_flight() just before it runs the
// request's callback, so in_flight() == 0 does not mean the callbacks are
// done: a caller that then reads (or destroys) what they write races with
// the last one. Add() before each Send, Done() at the end of its callback,
// then Wait(). Every Client callback runs exactly once, also when the
// connection fails, so the count always comes out even. A caller that handles
// replies in batches on the reader thread counts a batch at once: Update(the
// requests it sent, the replies it handled), at the end of the batch.
//
// Thread safety: all members may be called from any thread.
#ifndef ENCORE_TOOLS_LOAD_COMPLETIONS_H_
#define ENCORE_TOOLS_LOAD_COMPLETIONS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace encore::load {

// Most the tool waits for the replies it is owed (a server that stopped
// answering without closing the connection): then it closes the connection,
// which fails the rest, so their callbacks run too.
inline constexpr std::chrono::seconds kRepliesWaitMax{60};

class Completions {
 public:
  void Add(uint64_t count = 1) { Update(count, 0); }
  void Done(uint64_t count = 1) { Update(0, count); }
  void Update(uint64_t added, uint64_t done) {
    std::lock_guard<std::mutex> lock(mutex_);
    added_ += added;
    done_ += done;
    if (done_ == added_) all_done_.notify_all();
  }
  // True when every Add() so far has had its Done().
  bool Idle() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_ == added_;
  }
  // True once every Add() has had its Done(); false after `timeout`.
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return all_done_.wait_for(lock, timeout, [this] { return done_ == added_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable all_done_;
  uint64_t added_ = 0;  // Under mutex_.
  uint64_t done_ = 0;   // Under mutex_.
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_COMPLETIONS_H_
