// ShardCounters: the figures behind a shard's ShardStats, on their own cache
// lines.
//
// Thread safety: written only by the shard's thread (Bump: a load and a
// store, no locked instruction), read by anyone.
#ifndef ENCORE_RUNTIME_SHARD_COUNTERS_H_
#define ENCORE_RUNTIME_SHARD_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "encore/engine.h"

namespace encore::internal {

struct alignas(64) ShardCounters {
  std::array<std::atomic<uint64_t>, kCommandTypeSlots> commands{};
  std::array<std::atomic<uint64_t>, kResultCodeSlots> results{};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> batch_commands{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> peer_messages{0};
  std::atomic<uint64_t> ring_backlog{0};
  std::atomic<uint64_t> last_lsn{0};

  static void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  // Fills the counted fields of `stats`.
  void figures(ShardStats* stats) const;
};

inline void ShardCounters::figures(ShardStats* stats) const {
  for (uint32_t i = 0; i < kCommandTypeSlots; ++i) {
    stats->commands[i] = commands[i].load(std::memory_order_relaxed);
  }
  for (uint32_t i = 0; i < kResultCodeSlots; ++i) {
    stats->results[i] = results[i].load(std::memory_order_relaxed);
  }
  stats->batches = batches.load(std::memory_order_relaxed);
  stats->batch_commands = batch_commands.load(std::memory_order_relaxed);
  stats->events = events.load(std::memory_order_relaxed);
  stats->peer_messages = peer_messages.load(std::memory_order_relaxed);
  stats->ring_backlog = ring_backlog.load(std::memory_order_relaxed);
  stats->last_lsn = last_lsn.load(std::memory_order_relaxed);
}

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_SHARD_COUNTERS_H_
