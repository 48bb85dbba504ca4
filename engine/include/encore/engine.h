// Engine: the sharded, threaded runtime around the core.
//
// Each shard is one thread that owns one Core (single writer). Producers (any
// thread: a network I/O thread, a test, an embedding program) get a Producer
// with one bounded lock-free SPSC ring to each shard and one reply ring back
// from each, so every ring has exactly one writer and one reader. A shard
// drains its rings in batches, stamps each batch with one clock reading,
// applies it, hands the batch's events to the journal, and releases replies
// only when the journal says the batch is durable.
//
// Routing: schedule commands go to ShardOfSchedule(schedule); charge and
// balance to ShardOfUser(user). A payment is the saga of docs/design.md: the
// schedule's shard pins the hold and sends an idempotent debit over an
// inter-shard ring to the payer's shard, then sells or unpins on the answer.
//
// Drive::kManual runs the same shards, rings and journal with no threads: the
// caller steps each shard (Engine::Step), so a seeded simulation decides the
// interleaving of shards, journal syncs and crashes, and replays it exactly.
//
// Thread safety: Engine is thread-safe. A Producer is used by one thread at a
// time. With Drive::kManual, the engine and all its producers are used by one
// thread at a time.
#ifndef ENCORE_ENGINE_H_
#define ENCORE_ENGINE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/clock.h"
#include "encore/command.h"
#include "encore/core.h"
#include "encore/journal.h"
#include "encore/reply.h"

namespace encore {

namespace internal {
class EngineState;
class ProducerState;
}  // namespace internal

inline constexpr uint32_t kShardsMax = 64;
inline constexpr uint32_t kProducersMax = 256;
inline constexpr uint32_t kRingCapacityMin = 16;
inline constexpr uint32_t kRingCapacityMax = 1u << 20;

enum class FullRingPolicy : uint8_t {
  kBusy = 0,   // Submit returns kBusy at once.
  kBlock = 1,  // Submit waits for room.
};

// Who runs the shards.
enum class Drive : uint8_t {
  kThreads = 0,  // One thread per shard, started by Open.
  kManual = 1,   // No threads: the caller runs batches with Engine::Step.
};

struct EngineOptions {
  // Shard threads. Default 1; range 1 .. kShardsMax.
  uint32_t shards = 1;
  // Producers that may be created over the engine's life. Default 8; range
  // 1 .. kProducersMax. One per I/O thread, not one per connection.
  uint32_t producers_max = 8;
  // Slots of each ring: a power of two, kRingCapacityMin .. kRingCapacityMax.
  // It also bounds a producer's commands in flight to one shard. Default 4096.
  uint32_t ring_capacity = 4096;
  // Most commands a shard takes into one batch. Default 512; 1 .. ring_capacity.
  uint32_t batch_max = 512;
  // What Submit does when the producer's ring to a shard is full. Default kBusy.
  FullRingPolicy full_ring = FullRingPolicy::kBusy;
  // Spins of an idle thread before it blocks. Default 2000.
  uint32_t idle_spins = 2000;
  // Longest an idle shard sleeps before it reads the clock again, for timers.
  // Default 50 ms; range 1 .. 1000.
  uint32_t idle_sleep_max_ms = 50;
  // Not owned; must outlive the engine. Default (nullptr): a SystemClock.
  const Clock* clock = nullptr;
  // Not owned; must outlive the engine. Default (nullptr): a NoopJournal.
  Journal* journal = nullptr;
  // The queue-token MAC key. Default (all zero): the key stored in the
  // journal's metadata, or on first open one drawn from the OS CSPRNG and
  // stored there, so tokens stay valid across restarts.
  std::array<uint64_t, 2> token_key{};
  // Idempotency window per shard (CoreOptions). Default 262,144.
  uint32_t request_results_max = 1u << 18;
  // What a client can make a shard hold: queue entries, accounts, ledger
  // entries (CoreLimits, checked by ValidateCoreLimits).
  CoreLimits limits;
  // A shard snapshots its state after this many events, once they are
  // durable, and the journal drops the log before it. 0: never. Default
  // 1,048,576. A journal that keeps no snapshots turns this off.
  uint64_t snapshot_every_events = 1u << 20;
  // ...and only once the log since the last snapshot holds at least this
  // many times that snapshot's bytes, so that snapshots never write more than
  // the log: a shard with 20M seats (a 160 MB snapshot) taking one every 1M
  // events (50 MB of log) spent a core storing them. Recovery then replays at
  // most about that many bytes of log after loading the snapshot. 0: events
  // alone decide. Default 1; range 0 .. 1000.
  uint32_t snapshot_log_ratio = 1;
  // Default kThreads. kManual is for deterministic simulation and tests.
  Drive drive = Drive::kThreads;
};

// Result codes counted per shard, by slot: (code / 100) * 16 + code % 100.
inline constexpr uint32_t kResultCodeSlots = 7 * 16;
constexpr uint32_t ResultCodeSlot(ResultCode code) {
  return static_cast<uint32_t>(code) / 100 * 16 + static_cast<uint32_t>(code) % 100;
}
static_assert(ResultCodeSlot(ResultCode::kAccountsFull) < kResultCodeSlots);
static_assert(static_cast<uint32_t>(ResultCode::kAccountsFull) % 100 < 16,
              "every code's last two digits stay below 16");
// Command types counted per shard, by their value.
inline constexpr uint32_t kCommandTypeSlots = 32;

struct ShardStats {
  uint64_t last_lsn = 0;
  uint64_t durable_lsn = 0;
  uint64_t snapshots = 0;
  uint64_t last_snapshot_lsn = 0;
  uint64_t last_snapshot_bytes = 0;
  // How long the last snapshot stopped the shard: waiting for the log to be
  // durable, and serializing. Storing it (writing and syncing the file, then
  // dropping the log before it) runs on a thread of its own.
  uint64_t last_snapshot_stall_us = 0;
  // Recovery at Open: events replayed after the snapshot, and how long it took.
  uint64_t recovered_events = 0;
  uint64_t recovery_us = 0;
  // Since open: commands applied by type, results by code slot, batches and
  // their commands, events, saga messages handled, and requests waiting in
  // this shard's rings at the last batch.
  std::array<uint64_t, kCommandTypeSlots> commands{};
  std::array<uint64_t, kResultCodeSlots> results{};
  uint64_t batches = 0;
  uint64_t batch_commands = 0;
  uint64_t events = 0;
  uint64_t peer_messages = 0;
  uint64_t ring_backlog = 0;
};

// A command's reply, with the tag it was submitted with.
struct Completion {
  uint64_t tag = 0;
  Reply reply;
};

// REQUIRES: a Producer does not outlive its Engine.
class Producer {
 public:
  ~Producer() = default;
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues a command for its shard. kOk: queued, its Completion will come.
  // kBusy: the ring (or the in-flight bound) is full and the policy is kBusy.
  // kUnsupported: not a command type the engine knows. kUnavailable: the
  // engine is closing.
  [[nodiscard]] ResultCode Submit(const Command& command, uint64_t tag);

  // Between BeginBatch() and EndBatch(), Submit() leaves waking the shards to
  // EndBatch(), which wakes each shard that got a command once: a producer
  // that queues many commands at once (the server: every frame of one socket
  // read) then runs no locked instruction per command. Each one drained the
  // CPU's store buffer, so the ring slot just written had to reach the cache
  // before the next command could be queued. A shard that is busy, or
  // spinning, takes the commands as they come anyway; a sleeping one wakes at
  // EndBatch(). REQUIRES: no nesting, and EndBatch() before this producer
  // waits (Wait, Call).
  void BeginBatch();
  void EndBatch();

  // Takes the completions ready now, at most out.size(); returns how many.
  size_t Poll(std::span<Completion> out);
  // Like Poll, but first waits up to `timeout` for at least one. With
  // Drive::kManual nothing runs while it waits: use Poll and Engine::Step.
  size_t Wait(std::span<Completion> out, std::chrono::milliseconds timeout);

  // Submits and waits for this command's reply. REQUIRES: nothing else in
  // flight on this producer. Blocks on a full ring whatever the policy. With
  // Drive::kManual it steps the shards itself until the reply comes; if
  // nothing can move (a journal that never becomes durable) it returns
  // UNAVAILABLE and the command stays in flight.
  Reply Call(const Command& command);

  // Commands submitted whose completion has not been taken yet.
  uint64_t in_flight() const;

  // Called (on a shard's thread) each time a shard has pushed completions for
  // this producer, after the push: an event loop that cannot block in Wait()
  // (Asio) uses it to schedule a Poll(). It must be cheap, thread-safe and
  // must not call back into the engine. REQUIRES: set before the first
  // Submit, and not changed after.
  void SetCompletionCallback(std::function<void()> callback);

 private:
  friend class Engine;
  // The engine owns the state (and its rings); the handle only uses it.
  explicit Producer(internal::ProducerState* state);
  internal::ProducerState* state_;
};

class Engine {
 public:
  // Validates the options (a clear InvalidArgument naming the field),
  // recovers every shard from the journal (newest snapshot, then the log after
  // it, checking that LSNs are contiguous and the invariants hold; a corrupt
  // or unknown record is a DataLoss error naming shard and LSN), resends the
  // debits of payments left in flight, and starts the shard threads.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);

  // Close()s if still open.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // A new producer, or ResourceExhausted past producers_max.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<Producer>> NewProducer();

  // Runs fn(core) on the shard's thread between batches (after the shard
  // has advanced its time to the clock) and waits for it: for reads (seat
  // maps, ledgers) and for tests. fn must not keep the reference. With
  // Drive::kManual, fn runs at once on the caller's thread and sees the state
  // after the shard's last Step. Returns the LSN of the last event in the
  // state fn saw: what it saw may not be durable yet (see WaitDurable).
  uint64_t Inspect(uint32_t shard, const std::function<void(const Core&)>& fn);

  // Waits until the events of `shard` up to `lsn` are durable: OK; or
  // Unavailable, at once, if the journal has failed (those events may be
  // lost at the restart: a read must not show them), or after `timeout`. A
  // read answers what Inspect() saw only once this is OK.
  [[nodiscard]] absl::Status WaitDurable(uint32_t shard, uint64_t lsn,
                                         std::chrono::milliseconds timeout);

  // Drive::kManual only: runs one batch of `shard` on the caller's thread
  // (drain its rings, read the clock, apply, hand the events to the journal,
  // release what is durable, snapshot when due). True if it made progress:
  // took input, wrote events or released replies or messages. A shard with
  // nothing to do but wait for the journal returns false.
  // REQUIRES: options.drive == Drive::kManual, shard < shard_count().
  bool Step(uint32_t shard);

  // Stops taking commands, finishes every command and saga in flight, waits
  // for the journal, releases the last replies and stops the threads. With
  // Drive::kManual it steps the shards itself (calling the journal's
  // WaitDurable when only durability is missing) until all is answered, or
  // until nothing can move any more; what is left then is never answered.
  void Close();

  uint32_t shard_count() const;

  // OK, or why the engine stopped acknowledging: the journal failed. Every
  // command then gets UNAVAILABLE (its effect is unknown: retry it with the
  // same request key once the engine is reopened).
  [[nodiscard]] absl::Status status() const;

  // Thread-safe; figures are a moment's reading.
  ShardStats shard_stats(uint32_t shard) const;

 private:
  explicit Engine(std::unique_ptr<internal::EngineState> state);
  std::unique_ptr<internal::EngineState> state_;
};

// Which shard a command goes to.
uint32_t ShardOfCommand(const Command& command, uint32_t shard_count);

}  // namespace encore

#endif  // ENCORE_ENGINE_H_
