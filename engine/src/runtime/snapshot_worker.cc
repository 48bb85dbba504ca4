// SnapshotWorker: serializing on the shard's thread, storing on its own.
#include "runtime/snapshot_worker.h"

#include <pthread.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "runtime/engine_state.h"

namespace encore::internal {

SnapshotWorker::SnapshotWorker(EngineState* engine, uint32_t shard)
    : engine_(engine),
      shard_(shard),
      every_events_(engine->options().snapshot_every_events),
      log_ratio_(engine->options().snapshot_log_ratio) {}

SnapshotWorker::~SnapshotWorker() { Join(); }

void SnapshotWorker::Join() {
  if (thread_.joinable()) thread_.join();
}

void SnapshotWorker::Take(const Core& core, uint64_t lsn) {
  // The previous snapshot is still being stored: the next one waits for it.
  if (storing_.load(std::memory_order_acquire)) return;
  Join();
  const auto started = std::chrono::steady_clock::now();
  Journal& journal = engine_->journal();
  // The snapshot covers `lsn`: wait until the log holds everything before
  // it, so dropping the log below it never loses an event.
  while (journal.DurableLsn(shard_) < lsn) {
    if (!journal.status().ok()) return;
    journal.WaitDurable(shard_, lsn, std::chrono::milliseconds(10));
  }
  core.SaveSnapshot(&buffer_);
  events_since_snapshot_ = 0;
  log_bytes_since_snapshot_ = 0;
  last_snapshot_bytes_ = buffer_.size();
  {
    std::lock_guard<std::mutex> lock(figures_mutex_);
    last_stall_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  }
  if (engine_->manual()) {
    // One thread drives everything: store now, so a seed replays exactly.
    Store(lsn);
    return;
  }
  storing_.store(true, std::memory_order_release);
  thread_ = std::thread([this, lsn] {
    pthread_setname_np(pthread_self(), absl::StrCat("encore-snap", shard_).c_str());
    Store(lsn);
    storing_.store(false, std::memory_order_release);
  });
}

void SnapshotWorker::Store(uint64_t lsn) {
  Journal& journal = engine_->journal();
  const absl::Status stored = journal.PutSnapshot(shard_, lsn, buffer_.bytes());
  if (absl::IsUnimplemented(stored)) {
    enabled_.store(false, std::memory_order_relaxed);  // It keeps no snapshots.
    return;
  }
  if (!stored.ok() || !journal.DeleteBefore(shard_, lsn + 1).ok()) {
    engine_->SetFailed(stored.ok() ? absl::InternalError("dropping the log failed") : stored);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(figures_mutex_);
    ++snapshots_;
    last_snapshot_lsn_ = lsn;
    last_stored_bytes_ = buffer_.size();
  }
  // The state only grows between snapshots in a sale: map a quarter more now,
  // here, so the shard's next serialization takes no page faults.
  // Failing to is harmless: the shard then faults them in itself.
  (void)buffer_.Prefault(buffer_.size() + buffer_.size() / 4);
}

void SnapshotWorker::figures(ShardStats* stats) const {
  std::lock_guard<std::mutex> lock(figures_mutex_);
  stats->snapshots = snapshots_;
  stats->last_snapshot_lsn = last_snapshot_lsn_;
  stats->last_snapshot_bytes = last_stored_bytes_;
  stats->last_snapshot_stall_us = last_stall_us_;
}

}  // namespace encore::internal
