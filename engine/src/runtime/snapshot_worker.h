// SnapshotWorker: when a shard snapshots its core, and the thread that
// stores each snapshot.
//
// A snapshot falls due after snapshot_every_events events, once the log
// since the last one holds snapshot_log_ratio times that snapshot's bytes.
// The shard then only waits for its log to be durable up to the snapshot's
// LSN and serializes the core into a buffer kept across snapshots; writing
// and fsyncing tens of MB took the shard 100 ms and more, so a thread of its
// own stores it (inline with Drive::kManual, so a seed replays exactly),
// drops the log before it and prefaults the buffer for the next, larger one.
// While one is being stored, the next waits.
//
// Thread safety: everything on the shard's thread, but figures() (any
// thread). The storing thread touches only the buffer, the journal and the
// figures.
#ifndef ENCORE_RUNTIME_SNAPSHOT_WORKER_H_
#define ENCORE_RUNTIME_SNAPSHOT_WORKER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "encore/core.h"
#include "encore/engine.h"
#include "encore/snapshot_buffer.h"

namespace encore::internal {

class EngineState;

class SnapshotWorker {
 public:
  SnapshotWorker(EngineState* engine, uint32_t shard);
  // Joins the storing thread.
  ~SnapshotWorker();
  SnapshotWorker(const SnapshotWorker&) = delete;
  SnapshotWorker& operator=(const SnapshotWorker&) = delete;

  // At recovery: the snapshot loaded was `snapshot_bytes` long (0: none).
  void NoteLoaded(uint64_t snapshot_bytes) { last_snapshot_bytes_ = snapshot_bytes; }
  // The shard's log grew by `events` events in `bytes` EventBuffer bytes
  // (submitted, or replayed at recovery).
  void NoteLogged(uint64_t events, uint64_t bytes) {
    events_since_snapshot_ += events;
    log_bytes_since_snapshot_ += bytes;
  }

  // After each batch: takes a snapshot of `core`, covering `lsn`, if due.
  void MaybeTake(const Core& core, uint64_t lsn) {
    if (Due()) Take(core, lsn);
  }

  // Waits for a snapshot being stored.
  void Join();

  // Fills the snapshot fields of `stats`.
  void figures(ShardStats* stats) const;

 private:
  bool Due() const {
    return every_events_ != 0 && events_since_snapshot_ >= every_events_ &&
           log_bytes_since_snapshot_ >= log_ratio_ * last_snapshot_bytes_ &&
           enabled_.load(std::memory_order_relaxed);
  }
  void Take(const Core& core, uint64_t lsn);
  // Stores buffer_ as covering `lsn`, drops the log before it and prefaults
  // room for a larger next snapshot.
  void Store(uint64_t lsn);

  EngineState* engine_;
  const uint32_t shard_;
  const uint64_t every_events_;
  const uint64_t log_ratio_;
  uint64_t events_since_snapshot_ = 0;
  uint64_t log_bytes_since_snapshot_ = 0;  // EventBuffer bytes submitted.
  uint64_t last_snapshot_bytes_ = 0;       // Of the last snapshot taken.
  // Cleared by the storing thread when the journal keeps no snapshots.
  std::atomic<bool> enabled_{true};
  // The snapshot being stored; prefaulted by the storing thread for the
  // next one, so serializing is a copy into pages already mapped.
  SnapshotBuffer buffer_;
  std::atomic<bool> storing_{false};
  std::thread thread_;

  mutable std::mutex figures_mutex_;
  uint64_t snapshots_ = 0;
  uint64_t last_snapshot_lsn_ = 0;
  uint64_t last_stored_bytes_ = 0;
  uint64_t last_stall_us_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_SNAPSHOT_WORKER_H_
