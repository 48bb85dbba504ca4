// RocksDbJournal: the Journal that keeps the shards' events on disk: the log
// in segment files of its own, snapshots in files, and a RocksDB database for
// the snapshot pointers and metadata.
//
// Submit() copies a shard's batch into that shard's pending buffer and wakes
// one writer thread. The writer takes everything pending from every shard,
// appends it to the log as one group (one entry per submitted batch) with one
// write(), and one fdatasync() in kSync, then publishes DurableLsn() per shard
// and wakes WaitDurable(). While a group is being written (and synced), the
// shards go on applying and submitting: that next group is what the writer
// takes next.
//
// On disk, in the data directory:
//   log/segment-<n>.log  the log (internal/segment_log.h has the layout); each
//         group holds, per submitted batch, the key below, the value's size
//         (u32 LE), then the value:
//   key   'E' | shard u32 BE | first_lsn u64 BE
//   value version u16 | count u32 | crc32c u32 | EventBuffer records
//         (little-endian; the CRC covers count and records). Version 2 (written
//         now) allows packed records (encore/event_buffer.h); version 1 (read
//         still) has raw records only. Data directories of earlier versions
//         hold these records as RocksDB keys: read first, truncated as before.
// The RocksDB database (default column family):
//   key   'S' | shard u32 BE | lsn u64 BE            a shard snapshot
//   value "file": in snapshots/shard-<shard>-lsn-<lsn>.snapshot,
//         version u16 | crc32c u32 | snapshot bytes
//   key   'M' | name                                 engine metadata (raw value)
// Big-endian keys sort a shard's batches in LSN order.
//
// Damage: a corrupt group, a bad group followed by whole ones (damage, not a
// torn write), a log that ends short of its end mark (a segment cut short or
// deleted: the database records how far the log reached on disk, see
// internal/log_end.h), or a database gone while the log is there, are
// DataLoss at Open() or ReadShard(), naming what and where, unless
// cut_log_at_damage.
//
// Failure: when a write fails, status() returns the error for good, no
// DurableLsn() advances again and WaitDurable() returns at once. Nothing is
// retried: the engine must not answer clients whose events may be lost.
//
// Thread safety: as Journal (Submit() from the shard's own thread only). The
// recovery and snapshot calls (ReadShard, LastLsn, DeleteBefore, PutSnapshot,
// LatestSnapshot) may be called from any thread, concurrently with Submit();
// Close() from one thread, after the shards have stopped submitting.
#ifndef ENCORE_ROCKSDB_JOURNAL_H_
#define ENCORE_ROCKSDB_JOURNAL_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/journal.h"

namespace encore {

enum class Durability {
  kNone,   // Memory only: nothing is written; DurableLsn advances at once.
  kAsync,  // Written to the log's file without fsync: survives a process crash.
  kSync,   // fsync per group commit: survives power loss.
};

struct RocksDbJournalOptions {
  static constexpr uint32_t kShardsMaxLimit = 4096;
  static constexpr size_t kPendingBytesMin = 64 * 1024;
  static constexpr uint64_t kLogSegmentBytesMin = 4096;

  // The data directory, created if missing. Unused (may be empty) with kNone.
  std::string path;
  // Default: kSync.
  Durability durability = Durability::kSync;
  // Shards are numbered 0 .. shards_max - 1. Default: 64. At most kShardsMaxLimit.
  uint32_t shards_max = 64;
  // Submit() waits for the writer while this many bytes (over all shards)
  // are submitted and not yet written: backpressure instead of unbounded
  // memory. At least kPendingBytesMin. Default: 256 MiB.
  size_t pending_bytes_max = size_t{256} << 20;
  // Snapshot files (PutSnapshot) are written at most this fast, so that the
  // log's fsyncs do not wait behind them: each fsync flushes the device's
  // cache, with whatever else was written since. 0: as fast as the disk goes.
  // A snapshot that falls due while one is being stored waits for it, and the
  // log since the last one grows meanwhile. Default: 256 MiB/s.
  uint64_t snapshot_write_bytes_per_s = uint64_t{256} << 20;
  // A log segment file is closed, and the next one started, once it holds
  // this many bytes; truncation deletes whole segments. At least
  // kLogSegmentBytesMin. Default: 64 MiB.
  uint64_t log_segment_bytes = uint64_t{64} << 20;
  // The operator's word after a DataLoss at open: cut the log at its first
  // damaged or torn group (the rest kept aside, see cuts()) and accept a log
  // that ends short of its end mark, instead of refusing. What was cut is
  // lost. Default: false (refuse).
  bool cut_log_at_damage = false;
};

// Counters of the writer thread, for benchmarks and metrics.
struct RocksDbJournalStats {
  uint64_t groups_written = 0;   // Group commits (appends to the log).
  uint64_t batches_written = 0;  // Submitted shard batches written.
  uint64_t events_written = 0;
  uint64_t bytes_written = 0;   // Record bytes, without keys and headers.
  uint64_t write_ns_total = 0;  // Time appending groups, sync included.
};

class RocksDbJournal final : public Journal {
 public:
  // Opens (or creates) the database at options.path and starts the writer
  // thread. Every shard continues after LastLsn(shard).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RocksDbJournal>> Open(
      const RocksDbJournalOptions& options);

  // Close()s, ignoring its status (call Close() to see it).
  ~RocksDbJournal() override;
  RocksDbJournal(const RocksDbJournal&) = delete;
  RocksDbJournal& operator=(const RocksDbJournal&) = delete;

  // REQUIRES: shard < shards_max, count >= 1, first_lsn == LastLsn(shard) + 1
  // (checked: a gap or overlap aborts), not closed.
  // Waits only when pending_bytes_max is reached.
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override;
  uint64_t DurableLsn(uint32_t shard) const override;
  void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) override;
  [[nodiscard]] absl::Status status() const override;

  // Writes everything pending, stops the writer thread and closes the
  // database. Returns status() (or the close error). Later calls return the
  // same; the recovery and snapshot calls then fail with FailedPrecondition.
  [[nodiscard]] absl::Status Close();

  // The last LSN of `shard` known to the journal: the end of its stored log or
  // its latest snapshot at open, then the last submitted. 0: none.
  uint64_t LastLsn(uint32_t shard) const;

  // --- Recovery and snapshots (Journal's readers and writers).

  // Calls fn for the stored batches of `shard` holding the events from
  // from_lsn (0 is taken as 1) to the end, in LSN order. The first call starts
  // exactly at from_lsn (a batch holding earlier events is cut). Each batch is
  // checked; a failed check is DataLoss naming shard and LSN: an unknown
  // format version, a bad checksum or record framing ("corrupt record"), or a
  // batch not starting where the previous one (or from_lsn) ended ("gap").
  // A non-OK status from fn stops the scan and is returned. With kNone:
  // nothing.
  [[nodiscard]] absl::Status ReadShard(uint32_t shard, uint64_t from_lsn,
                                       const BatchReader& fn) override;

  // Deletes the stored batches of `shard` whose events are all before `lsn`
  // (a batch holding lsn is kept whole): ReadShard() no longer sees them, and
  // a segment file goes once every shard in it is truncated past it. Not
  // synced: after a crash the files still there show their batches again
  // (recovery starts after the snapshot). For log truncation after a
  // snapshot at lsn - 1. REQUIRES: a snapshot at lsn - 1 or later is stored.
  [[nodiscard]] absl::Status DeleteBefore(uint32_t shard, uint64_t lsn) override;

  // Stores a snapshot of `shard` holding its events up to `lsn`, synced with
  // kAsync and kSync. Older snapshots of the shard are deleted in the same
  // write. With kNone: Unimplemented (the engine then takes no snapshots).
  [[nodiscard]] absl::Status PutSnapshot(uint32_t shard, uint64_t lsn,
                                         std::span<const uint8_t> bytes) override;
  // The snapshot of `shard` with the highest LSN; nullopt if none (always
  // with kNone). DataLoss if it fails its checksum or has an unknown version.
  [[nodiscard]] absl::StatusOr<std::optional<StoredSnapshot>> LatestSnapshot(
      uint32_t shard) override;

  // Metadata (key 'M' | name), synced. With kNone: none kept (Unimplemented).
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> GetMetadata(
      const std::string& name) override;
  [[nodiscard]] absl::Status PutMetadata(const std::string& name,
                                         const std::string& value) override;

  RocksDbJournalStats stats() const;
  // What Open() cut or accepted with cut_log_at_damage, one line each.
  std::vector<std::string> cuts() const;

 private:
  class Impl;
  explicit RocksDbJournal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace encore

#endif  // ENCORE_ROCKSDB_JOURNAL_H_
