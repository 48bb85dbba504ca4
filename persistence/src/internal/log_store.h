// LogStore: the journal's storage in a data directory: the event log in
// segment files (internal/segment_log.h, in log/), and a RocksDB database for
// snapshot pointers and metadata (snapshots in files of their own, in
// snapshots/). Data directories written before the segment log kept the log
// as RocksDB keys: those are read first, and truncated, as before. Group
// appends, scans, truncation and snapshots. No threads of its own.
//
// Thread safety: AppendGroup() from one thread at a time (the journal's
// writer); the other methods from any thread, concurrently, except Close(),
// which must be the last call.
#ifndef ENCORE_PERSISTENCE_INTERNAL_LOG_STORE_H_
#define ENCORE_PERSISTENCE_INTERNAL_LOG_STORE_H_

#include <chrono>
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
#include "internal/segment_log.h"
#include "internal/shard_scan.h"
#include "rocksdb/db.h"

namespace encore::persistence::internal {

class LogStore {
 public:
  // With kSync, the log's end mark (log_end.h) is written at least this
  // often while the log grows, and at every segment roll; with kAsync at
  // every roll (each closed segment is synced). Both: at open and close.
  static constexpr std::chrono::milliseconds kLogEndMarkPeriod{1000};

  struct Options {
    bool sync = true;  // Every group is fdatasynced.
    // Snapshot files are written at most this fast (0: as fast as the disk
    // takes them).
    uint64_t snapshot_write_bytes_per_s = 0;
    uint64_t log_segment_bytes = uint64_t{64} << 20;  // Segments close here.
    // The operator's word: cut the log at its first damage, and accept a log
    // that ends short of its end mark, instead of refusing (DataLoss).
    bool cut_log_at_damage = false;
  };

  // Opens or creates the store in `path`. DataLoss if the database is gone
  // while log or snapshot files are there (its metadata, the queue-token key
  // among them, would be lost), or if the log ends short of its end mark
  // (unless cut_log_at_damage).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LogStore>> Open(const std::string& path,
                                                                      const Options& options);
  ~LogStore();

  // Appends one group of submitted batches to the log, durably under the
  // mode when it returns OK.
  [[nodiscard]] absl::Status AppendGroup(std::span<const SegmentLog::Batch> batches);

  // What Open() cut or accepted with cut_log_at_damage, a line each.
  const std::vector<std::string>& cuts() const { return log_->cuts(); }

  // The last LSN of the stored log of `shard` (0: none), without checksums.
  [[nodiscard]] absl::StatusOr<uint64_t> LastLogLsn(uint32_t shard) const;
  // The LSN of the latest snapshot of `shard` (0: none).
  [[nodiscard]] absl::StatusOr<uint64_t> LastSnapshotLsn(uint32_t shard) const;

  using RecordsFn = ShardScan::RecordsFn;
  // See RocksDbJournal::ReadShard.
  [[nodiscard]] absl::Status ReadShard(uint32_t shard, uint64_t from_lsn,
                                       const RecordsFn& fn) const;
  [[nodiscard]] absl::Status DeleteBefore(uint32_t shard, uint64_t lsn);
  [[nodiscard]] absl::Status PutSnapshot(uint32_t shard, uint64_t lsn,
                                         std::span<const uint8_t> bytes);
  [[nodiscard]] absl::StatusOr<std::optional<std::pair<uint64_t, std::vector<uint8_t>>>>
  LatestSnapshot(uint32_t shard) const;

  [[nodiscard]] absl::StatusOr<std::optional<std::string>> GetMetadata(
      const std::string& name) const;
  [[nodiscard]] absl::Status PutMetadata(const std::string& name, const std::string& value);

  [[nodiscard]] absl::Status Close();

 private:
  LogStore(rocksdb::DB* db, std::unique_ptr<SegmentLog> log, std::string path,
           const Options& options, bool has_keyed_log);
  // The stored end mark of the log (empty if none), without the shards
  // whose snapshot or keyed log reaches it.
  [[nodiscard]] static absl::StatusOr<SegmentLog::Extent> ReadEndMark(rocksdb::DB* db,
                                                                      bool has_keyed_log);
  // Stores the log's durable extent as its end mark, synced.
  [[nodiscard]] absl::Status MarkLogEnd();
  // Snapshots live in files beside the database (RocksDB keeps a small
  // pointer): a state of hundreds of megabytes never goes through the WAL,
  // memtables and compactions.
  std::string SnapshotFile(uint32_t shard, uint64_t lsn) const;
  // The last key of kind `kind` of `shard` and its value, if any.
  [[nodiscard]] absl::StatusOr<std::optional<std::pair<uint64_t, std::string>>> LastEntry(
      char kind, uint32_t shard) const;
  // The log kept as keys ('E') by earlier versions.
  [[nodiscard]] absl::Status ReadKeyedBatches(uint32_t shard, ShardScan* scan) const;
  [[nodiscard]] absl::Status DeleteKeyedBatchesBefore(uint32_t shard, uint64_t lsn);

  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<SegmentLog> log_;
  std::string path_;
  const Options options_;
  bool marking_ = false;  // Set once Open() succeeded: Close() marks the end.
  // Writer only: the segment of the last end mark, and when the next is due.
  uint64_t marked_segment_ = 0;
  std::chrono::steady_clock::time_point next_mark_at_;
  // Set at open if the database holds a keyed log; not cleared when
  // truncation empties it (reading an empty range costs little).
  const bool has_keyed_log_;
};

// A RocksDB status as an absl::Status, with `context` in front of its message.
[[nodiscard]] absl::Status FromRocksDb(const rocksdb::Status& status, const std::string& context);

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_LOG_STORE_H_
