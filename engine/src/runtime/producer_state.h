// ProducerState: one producer's rings to and from every shard, its
// in-flight accounting and its broadcasts (see encore/engine.h, Producer).
//
// Thread safety: Submit, batches, Poll, Wait and Call on the producer's own
// thread; the ring accessors, NotifyCompletions and submitted() from the
// shards' threads (each ring has one writer and one reader).
#ifndef ENCORE_RUNTIME_PRODUCER_STATE_H_
#define ENCORE_RUNTIME_PRODUCER_STATE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "encore/engine.h"
#include "internal/check.h"
#include "runtime/completion_slot.h"
#include "runtime/request.h"
#include "runtime/ring.h"
#include "runtime/wakeup.h"

namespace encore::internal {

class EngineState;

class ProducerState {
 public:
  explicit ProducerState(EngineState* engine);

  ResultCode Submit(const Command& command, uint64_t tag);
  void BeginBatch();
  void EndBatch();
  void CheckNotBatching() const { ENCORE_CHECK(!batching_); }
  size_t Poll(std::span<Completion> out);
  size_t Wait(std::span<Completion> out, std::chrono::milliseconds timeout);
  Reply Call(const Command& command);
  uint64_t in_flight() const { return in_flight_; }

  // The shard side.
  Ring<Request>& to_shard(uint32_t shard) { return *to_shard_[shard]; }
  Ring<Command>& whole_to_shard(uint32_t shard) { return *whole_to_shard_[shard]; }
  Ring<CompletionSlot>& from_shard(uint32_t shard) { return *from_shard_[shard]; }
  Wakeup& wakeup() { return wakeup_; }
  // Wakes a Wait() and calls the completion callback, if any.
  void NotifyCompletions() {
    wakeup_.Notify();
    if (completion_callback_) completion_callback_();
  }
  void SetCompletionCallback(std::function<void()> callback) {
    completion_callback_ = std::move(callback);
  }
  uint64_t submitted() const { return submitted_.load(std::memory_order_acquire); }

 private:
  // Waits for room on the ring to `shard`; false if the engine closed.
  bool WaitForRoom(uint32_t shard);
  // Pushes `command` (head, and whole if it needs it) to `shard`; false if
  // the shard has ring_capacity commands in flight.
  bool Push(uint32_t shard, const Command& command, uint64_t tag, bool silent);
  // Wakes the shards whose wake-up a batch left for later.
  void WakeDeferred();
  // Completions popped from the shards' rings (not the stash), at most
  // out.size(); a broadcast's copies are counted, not handed out.
  size_t TakeFromRings(std::span<Completion> out);
  bool AnyCompletion();
  bool AnyInRings() const;

  EngineState* engine_;
  std::vector<std::unique_ptr<Ring<Request>>> to_shard_;
  // Admin commands, whole; bounded by the same in-flight count as to_shard_.
  std::vector<std::unique_ptr<Ring<Command>>> whole_to_shard_;
  std::vector<std::unique_ptr<Ring<CompletionSlot>>> from_shard_;
  std::vector<uint32_t> in_flight_to_shard_;
  uint64_t in_flight_ = 0;
  // Written by the producer's thread only (a load and a store: no locked
  // instruction), read by the engine.
  std::atomic<uint64_t> submitted_{0};
  bool batching_ = false;       // Between BeginBatch and EndBatch.
  uint64_t wake_deferred_ = 0;  // Bit s: shard s got a command since the last wake-up.
  static_assert(kShardsMax <= 64, "one bit per shard");
  // Completions taken from the rings while waiting for room (kBlock).
  std::deque<Completion> stash_;
  // CREATE_CONCERTs in flight, in submission order: one is answered only
  // when every shard's copy is durable, or a crash could keep the concert on
  // some shards only. Each shard answers its copies in order, so the k-th
  // copy a shard returns belongs to the k-th broadcast.
  struct Broadcast {
    Completion completion;
    uint32_t copies_left;
    bool unavailable;  // A copy's effect is unknown: so is the broadcast's.
  };
  std::deque<Broadcast> broadcasts_;
  uint64_t broadcasts_answered_ = 0;
  std::vector<uint64_t> broadcast_copies_taken_;  // Per shard.
  void TakeBroadcast(uint32_t shard, const CompletionSlot& slot);
  Wakeup wakeup_;
  std::function<void()> completion_callback_;
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_PRODUCER_STATE_H_
