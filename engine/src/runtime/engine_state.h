// The runtime's internals: EngineState owns the shards and the producers'
// rings; Shard is one single-writer thread around a Core.
//
// Rings (Boost.Lockfree spsc_queue, allocated once, one writer and one reader
// each):
//   producer p -> shard s   ProducerState::to_shard[s]     requests
//   shard s -> producer p   ProducerState::from_shard[s]   completions
//   shard a -> shard b      Shard(b).inbox[a]              saga messages
// A producer never has more than ring_capacity commands in flight to a shard,
// so a completion always finds room in its reply ring.
#ifndef ENCORE_RUNTIME_ENGINE_STATE_H_
#define ENCORE_RUNTIME_ENGINE_STATE_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "boost/lockfree/spsc_queue.hpp"
#include "encore/engine.h"
#include "encore/snapshot_buffer.h"
#include "internal/check.h"
#include "runtime/wakeup.h"

namespace encore::internal {

template <typename T>
using Ring = boost::lockfree::spsc_queue<T>;

// The bytes of a Command that client commands use: every field before
// `policy`. Only the admin commands read past them (policy, title,
// schedule_config): see Core::Apply and CoreState::Fingerprint.
inline constexpr size_t kCommandHeadBytes = offsetof(Command, policy);
constexpr bool NeedsWholeCommand(CommandType type) {
  return type == CommandType::kCreateConcert || type == CommandType::kCreateSchedule ||
         type == CommandType::kSetAdmissionPolicy;
}

// A command on its way to a shard. The ring carries the command's head only
// (112 of its 400 bytes: each request crosses from the producer's core to the
// shard's in 2 cache lines instead of 7); an admin command also goes whole, on
// the producer's whole-command ring to the same shard, pushed just before.
struct Request {
  alignas(8) std::array<uint8_t, kCommandHeadBytes> head;
  uint64_t tag;
  // A copy of a broadcast command (CREATE_CONCERT goes to every shard): its
  // completion only settles the ring accounting and is not handed out.
  bool silent;
  bool whole;  // Take the command from the whole-command ring.
};
static_assert(std::is_trivially_copyable_v<Request>);
static_assert(offsetof(Command, hold_proof) < kCommandHeadBytes,
              "RELEASE_HOLD's proof must travel in the head");

struct PeerMessage {
  enum class Kind : uint8_t { kDebit = 1, kOutcome = 2 };
  Kind kind;
  DebitRequest debit;
  DebitOutcome outcome;
};

struct CompletionSlot {
  Completion completion;
  bool silent;
};

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

  // Shard side.
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
  uint64_t Inspect(const std::function<void(const Core&)>& fn);
  // Before Start(): loads the newest snapshot and replays the log after it.
  absl::Status Recover();
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
  struct Inspection {
    const std::function<void(const Core&)>* fn;
    uint64_t lsn = 0;  // Of the last event in the state fn saw.
    bool done = false;
  };
  struct Waiter {
    uint32_t producer;
    uint64_t tag;
  };

  void Run();
  bool RunBatch();
  // The command of a request that is not whole, in expanded_.
  const Command& Expand(const Request& request);
  void HandleRequest(uint32_t producer, const Request& request, const Command& command,
                     TimestampMs now);
  void HandlePeer(const PeerMessage& message, TimestampMs now);
  void QueueCompletion(uint32_t producer, const Completion& completion, bool silent);
  void QueuePeer(uint32_t shard, const PeerMessage& message);
  size_t Release();
  // The journal failed: answer everything pending UNAVAILABLE, drop messages.
  size_t ReleaseAfterFailure();
  void MaybeSnapshot();
  // Stores the serialized snapshot_buffer_ as covering `lsn`, drops the log
  // before it and prefaults room for a larger next snapshot: on a background
  // thread (threaded drive) or inline (manual).
  void StoreSnapshot(uint64_t lsn);
  void RunInspections();
  bool HasInput() const;

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

  // Written only by this shard's thread (a load and a store, no locked
  // instruction), read by anyone: the figures behind ShardStats.
  struct alignas(64) Counters {
    std::array<std::atomic<uint64_t>, kCommandTypeSlots> commands{};
    std::array<std::atomic<uint64_t>, kResultCodeSlots> results{};
    std::atomic<uint64_t> batches{0};
    std::atomic<uint64_t> batch_commands{0};
    std::atomic<uint64_t> events{0};
    std::atomic<uint64_t> peer_messages{0};
    std::atomic<uint64_t> ring_backlog{0};
    std::atomic<uint64_t> last_lsn{0};
  };
  static void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  Counters counters_;
  uint64_t events_since_snapshot_ = 0;
  uint64_t log_bytes_since_snapshot_ = 0;  // EventBuffer bytes submitted.
  uint64_t last_snapshot_bytes_ = 0;       // Of the last snapshot taken.
  // Cleared by the storing thread when the journal keeps no snapshots.
  std::atomic<bool> snapshots_enabled_{true};
  // The snapshot being stored. Writing and fsyncing tens of MB took the shard
  // 100 ms and more, so the shard only serializes it and a thread of its own
  // stores it; while one is being stored, the next waits (snapshot_storing_).
  // Kept across snapshots, and prefaulted by the snapshot thread for the next
  // one, so serializing is a copy into pages already mapped.
  SnapshotBuffer snapshot_buffer_;
  std::atomic<bool> snapshot_storing_{false};
  std::thread snapshot_thread_;
  mutable std::mutex stats_mutex_;
  ShardStats stats_;

  std::mutex inspect_mutex_;
  std::condition_variable inspect_done_;
  std::vector<Inspection*> inspections_;
  std::atomic<bool> inspection_pending_{false};
};

class EngineState {
 public:
  EngineState(const EngineOptions& options, const std::array<uint64_t, 2>& token_key);
  ~EngineState();

  // The new producer's state, owned by the engine; or ResourceExhausted.
  absl::StatusOr<ProducerState*> NewProducer();
  uint64_t Inspect(uint32_t shard, const std::function<void(const Core&)>& fn);
  void Close();
  // Drive::kManual: one Step of every shard; if none moved, waits on the
  // journal for each. False when nothing could move.
  bool DriveRound();

  const EngineOptions& options() const { return options_; }
  bool manual() const { return options_.drive == Drive::kManual; }
  const Clock& clock() const { return *clock_; }
  Journal& journal() { return *journal_; }
  uint32_t shard_count() const { return options_.shards; }
  Shard& shard(uint32_t index) { return *shards_[index]; }
  uint32_t producer_count() const { return producer_count_.load(std::memory_order_acquire); }
  ProducerState& producer(uint32_t index) { return *producers_[index]; }
  bool closing() const { return closing_.load(std::memory_order_acquire); }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  std::atomic<int64_t>& peer_messages_in_flight() { return peer_messages_in_flight_; }
  std::atomic<int32_t>& submits_under_way() { return submits_under_way_; }
  // True when every command submitted has been answered (checked at close).
  bool AllAnswered() const;
  // The first failure (the journal's); then every command gets UNAVAILABLE.
  void SetFailed(const absl::Status& status);
  absl::Status failure() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  EngineOptions options_;
  SystemClock system_clock_;
  NoopJournal noop_journal_;
  const Clock* clock_;
  Journal* journal_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex producers_mutex_;
  std::unique_ptr<ProducerState> producers_[kProducersMax];
  std::atomic<uint32_t> producer_count_{0};
  std::atomic<bool> closing_{false};
  std::atomic<bool> stopping_{false};
  bool closed_ = false;
  std::atomic<int64_t> peer_messages_in_flight_{0};
  std::atomic<int32_t> submits_under_way_{0};
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mutex_;
  absl::Status failure_;
};

// kOk, or InvalidArgument naming the field.
absl::Status ValidateEngineOptions(const EngineOptions& options);

// The queue-token key: the options' if set, else the one stored in the
// journal (may be null), else a new random one, stored there.
absl::StatusOr<std::array<uint64_t, 2>> TokenKey(const EngineOptions& options, Journal* journal);

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_ENGINE_STATE_H_
