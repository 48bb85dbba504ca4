// Shard: the thread, its idle loop, stats and the journal wait of manual drive.
#include "runtime/shard.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "runtime/engine_state.h"

namespace encore::internal {

Shard::Shard(EngineState* engine, uint32_t index, const CoreOptions& core_options)
    : engine_(engine),
      index_(index),
      core_(core_options),
      released_(new std::atomic<uint64_t>[kProducersMax]),
      snapshots_(engine, index) {
  for (uint32_t producer = 0; producer < kProducersMax; ++producer) released_[producer] = 0;
  const uint32_t shards = engine->shard_count();
  for (uint32_t peer = 0; peer < shards; ++peer) {
    inbox_.push_back(std::make_unique<Ring<PeerMessage>>(engine->options().ring_capacity));
  }
  events_.Reserve(1 << 16);
  batch_peer_.reserve(engine->options().batch_max);
  batch_requests_.reserve(engine->options().batch_max);
}

void Shard::Start() {
  thread_ = std::thread([this] {
    // Named for top -H and perf: encore-shard<N>.
    pthread_setname_np(pthread_self(), absl::StrCat("encore-shard", index_).c_str());
    Run();
  });
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
  snapshots_.Join();
}

void Shard::Run() {
  const EngineOptions& options = engine_->options();
  uint32_t idle_rounds = 0;
  for (;;) {
    if (RunBatch()) {
      idle_rounds = 0;
      continue;
    }
    if (engine_->stopping() && Quiescent()) break;
    if (++idle_rounds < options.idle_spins) {
      std::this_thread::yield();
      continue;
    }
    if (!pending_.empty() && engine_->journal().DurableLsn(index_) < pending_.front().lsn) {
      engine_->journal().WaitDurable(index_, pending_.front().lsn,
                                     std::chrono::milliseconds(options.idle_sleep_max_ms));
      continue;
    }
    // Sleep until work arrives, or the next timer (at most idle_sleep_max_ms).
    // While closing, look again soon: the last sagas may be finishing elsewhere.
    int64_t sleep_ms = engine_->stopping() ? 1 : options.idle_sleep_max_ms;
    const TimestampMs next_deadline = core_.NextDeadlineMs();
    if (next_deadline != kNoDeadline) {
      sleep_ms = std::clamp<int64_t>(next_deadline - engine_->clock().NowMs(), 0, sleep_ms);
    }
    wakeup_.Sleep(std::chrono::milliseconds(sleep_ms), [this] { return HasInput(); });
  }
}

ShardStats Shard::stats() const {
  ShardStats stats;
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    stats.recovered_events = recovered_events_;
    stats.recovery_us = recovery_us_;
  }
  snapshots_.figures(&stats);
  counters_.figures(&stats);
  stats.durable_lsn = engine_->journal().DurableLsn(index_);
  return stats;
}

bool Shard::WaitForJournal() {
  if (pending_.empty()) return false;
  Journal& journal = engine_->journal();
  const uint64_t lsn = pending_.front().lsn;
  if (journal.DurableLsn(index_) < lsn)
    journal.WaitDurable(index_, lsn, std::chrono::milliseconds(0));
  return journal.DurableLsn(index_) >= lsn || !journal.status().ok();
}

bool Shard::HasInput() const {
  if (inspections_.pending()) return true;
  for (const auto& ring : inbox_) {
    if (ring->read_available() > 0) return true;
  }
  const uint32_t producers = engine_->producer_count();
  for (uint32_t producer = 0; producer < producers; ++producer) {
    if (engine_->producer(producer).to_shard(index_).read_available() > 0) return true;
  }
  return false;
}

bool Shard::Quiescent() const {
  if (!pending_.empty() || !deferred_.empty()) return false;
  if (engine_->peer_messages_in_flight().load(std::memory_order_acquire) != 0) return false;
  return engine_->AllAnswered();
}

}  // namespace encore::internal
