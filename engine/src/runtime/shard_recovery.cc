// Shard: recovery at open. The newest snapshot, then every batch of the log
// after it, checked for gaps and whole events, then the core's invariants.
#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "runtime/engine_state.h"
#include "runtime/shard.h"

namespace encore::internal {

absl::Status Shard::Recover() {
  const auto started = std::chrono::steady_clock::now();
  Journal& journal = engine_->journal();
  absl::StatusOr<std::optional<Journal::StoredSnapshot>> snapshot = journal.LatestSnapshot(index_);
  if (!snapshot.ok()) return snapshot.status();
  if (snapshot->has_value()) {
    const absl::Status loaded = core_.LoadSnapshot((*snapshot)->second);
    if (!loaded.ok()) {
      return absl::DataLossError(absl::StrCat("shard ", index_, ": snapshot at lsn ",
                                              (*snapshot)->first, ": ", loaded.message()));
    }
    last_lsn_ = (*snapshot)->first;
    snapshots_.NoteLoaded((*snapshot)->second.size());
  }
  uint64_t replayed = 0;
  const absl::Status read = journal.ReadShard(
      index_, last_lsn_ + 1,
      [&](uint64_t first_lsn, std::span<const uint8_t> records, uint32_t count) -> absl::Status {
        if (first_lsn != last_lsn_ + 1) {
          return absl::DataLossError(absl::StrCat("shard ", index_,
                                                  ": gap in the log: expected lsn ", last_lsn_ + 1,
                                                  ", found ", first_lsn));
        }
        uint64_t lsn = first_lsn;
        absl::Status applied;
        const size_t walked = ForEachEventRecord(records, [&](const EventView& event) {
          applied = core_.ApplyEvent(event);
          if (!applied.ok()) return false;
          ++lsn;
          return true;
        });
        if (!applied.ok()) {
          return absl::DataLossError(
              absl::StrCat("shard ", index_, " lsn ", lsn, ": ", applied.message()));
        }
        if (walked != records.size() || lsn != first_lsn + count) {
          return absl::DataLossError(absl::StrCat("shard ", index_, " lsn ", first_lsn,
                                                  ": batch holds ", lsn - first_lsn,
                                                  " whole events, says ", count));
        }
        last_lsn_ += count;
        replayed += count;
        // The snapshot policy counts from the last snapshot, not from this
        // start: a server restarted more often than every
        // snapshot_every_events would otherwise never take one, and replay
        // ever more log at each start.
        snapshots_.NoteLogged(count, records.size());
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  const absl::Status invariants = core_.CheckInvariants();
  if (!invariants.ok()) {
    return absl::DataLossError(absl::StrCat("shard ", index_, " after recovery to lsn ", last_lsn_,
                                            ": ", invariants.message()));
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  recovered_events_ = replayed;
  recovery_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count();
  counters_.last_lsn.store(last_lsn_, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace encore::internal
