// Shard: one single-writer thread around a Core.
//
// Each batch drains the shard's rings (saga messages from the other shards,
// then requests from the producers, in turn), reads the clock once, applies
// everything to the core and hands the batch's events to the journal. What
// the batch produced (completions, saga messages) waits in pending_ and is
// released once the journal says the batch is durable: a reply is never
// ahead of the log. The work is split by concern:
//   shard.cc           the thread, its idle loop, stats and inspections
//   shard_batch.cc     one batch: drain, apply, journal
//   shard_saga.cc      payments whose payer lives on another shard
//   shard_release.cc   handing out what is durable (or failing it)
//   shard_recovery.cc  snapshot and log replay at open
// Snapshots are a SnapshotWorker's, reads from other threads an
// InspectionQueue's.
//
// Thread safety: Start, Join, Recover, ResendPaymentsInFlight, Step and
// WaitForJournal by the engine (Recover and Resend before Start); after
// Start, the shard's thread owns the core. inbox_from(), wakeup(),
// released_to(), Inspect() and stats() from any thread.
#ifndef ENCORE_RUNTIME_SHARD_H_
#define ENCORE_RUNTIME_SHARD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "encore/core.h"
#include "encore/engine.h"
#include "encore/event_buffer.h"
#include "runtime/completion_slot.h"
#include "runtime/inspection_queue.h"
#include "runtime/peer_message.h"
#include "runtime/request.h"
#include "runtime/ring.h"
#include "runtime/shard_counters.h"
#include "runtime/snapshot_worker.h"
#include "runtime/wakeup.h"

namespace encore::internal {

class EngineState;

class Shard {
 public:
  Shard(EngineState* engine, uint32_t index, const CoreOptions& core_options);
  void Start();
  void Join();

  Ring<PeerMessage>& inbox_from(uint32_t peer) { return *inbox_[peer]; }
  Wakeup& wakeup() { return wakeup_; }
  uint64_t released_to(uint32_t producer) const {
    return released_[producer].load(std::memory_order_acquire);
  }
  // Returns the LSN of the last event in the state fn saw.
  uint64_t Inspect(const std::function<void(const Core&)>& fn) {
    return inspections_.Inspect(fn, wakeup_);
  }
  // Before Start(): loads the newest snapshot and replays the log after it.
  [[nodiscard]] absl::Status Recover();
  ShardStats stats() const;
  // After Join(): no thread owns the core any more.
  uint64_t InspectStopped(const std::function<void(const Core&)>& fn) {
    fn(core_);
    return last_lsn_;
  }
  // Before Start(): queues the debits of payments left in flight.
  void ResendPaymentsInFlight();
  // One batch on the caller's thread (Drive::kManual): true if it moved.
  bool Step() { return RunBatch(); }
  // Drive::kManual: asks the journal for the oldest pending LSN (WaitDurable
  // with no timeout); true if the next Step can release something.
  bool WaitForJournal();
  bool Quiescent() const;

 private:
  // A completion or a saga message, waiting for its batch to be durable.
  struct Pending {
    uint64_t lsn;
    bool to_peer;
    uint32_t target;  // Producer or shard.
    // One or the other, as to_peer says: every reply is copied in and out
    // of here, so it carries only what it needs.
    union Body {
      Body() : slot() {}
      CompletionSlot slot;
      PeerMessage message;
    } body;
  };
  static_assert(std::is_trivially_copyable_v<Pending>);
  // Who waits for a payment's outcome.
  struct Waiter {
    uint32_t producer;
    uint64_t tag;
  };

  // shard.cc
  void Run();
  bool HasInput() const;
  // shard_batch.cc
  bool RunBatch();
  // Drains the rings into batch_peer_, batch_requests_ and batch_whole_;
  // returns the number of producers it looked at.
  uint32_t DrainRings();
  // The command of a request that is not whole, in expanded_.
  const Command& Expand(const Request& request);
  void HandleRequest(uint32_t producer, const Request& request, const Command& command,
                     TimestampMs now);
  void QueueCompletion(uint32_t producer, const Completion& completion, bool silent);
  // shard_saga.cc
  // Sends `debit` to the payer's shard; the producer's reply waits for it.
  void DeferPayment(uint32_t producer, uint64_t tag, const DebitRequest& debit);
  void HandlePeer(const PeerMessage& message, TimestampMs now);
  void QueuePeer(uint32_t shard, const PeerMessage& message);
  // shard_release.cc
  size_t Release();
  // The journal failed: answer everything pending UNAVAILABLE, drop messages.
  size_t ReleaseAfterFailure();

  EngineState* engine_;
  const uint32_t index_;
  Core core_;
  EventBuffer events_;
  std::vector<DebitRequest> outbox_;
  // The batch being run, drained from the rings before the clock is read.
  std::vector<PeerMessage> batch_peer_;
  std::vector<std::pair<uint32_t, Request>> batch_requests_;
  std::vector<Command> batch_whole_;  // The batch's whole commands, in order.
  // A request's command: its head copied over this default Command.
  Command expanded_{};
  uint64_t last_lsn_ = 0;
  size_t unstamped_from_ = 0;  // pending_ items of this batch, stamped with its LSN.
  std::deque<Pending> pending_;
  absl::flat_hash_map<std::pair<ScheduleId, PaymentId>, Waiter> deferred_;
  std::vector<std::unique_ptr<Ring<PeerMessage>>> inbox_;
  std::unique_ptr<std::atomic<uint64_t>[]> released_;
  uint32_t round_robin_ = 0;
  Wakeup wakeup_;
  std::thread thread_;

  ShardCounters counters_;
  SnapshotWorker snapshots_;
  InspectionQueue inspections_;
  // Recovery's figures, for stats().
  mutable std::mutex stats_mutex_;
  uint64_t recovered_events_ = 0;
  uint64_t recovery_us_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_SHARD_H_
