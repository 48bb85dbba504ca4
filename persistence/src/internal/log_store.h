// LogStore: the journal's RocksDB database: open with the options chosen for
// a write-heavy log, group writes, scans and snapshots. No threads of its own.
//
// Thread safety: all methods may be called concurrently (RocksDB is
// thread-safe), except Close(), which must be the last call.
#ifndef ENCORE_PERSISTENCE_INTERNAL_LOG_STORE_H_
#define ENCORE_PERSISTENCE_INTERNAL_LOG_STORE_H_

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
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace encore::persistence_internal {

class LogStore {
 public:
  // Opens or creates the database in `path` (which must exist). `sync`: every
  // group write is fsynced. Snapshot files are written at most
  // `snapshot_write_bytes_per_s` (0: as fast as the disk takes them).
  static absl::StatusOr<std::unique_ptr<LogStore>> Open(const std::string& path, bool sync,
                                                        uint64_t snapshot_write_bytes_per_s);
  ~LogStore();

  // Adds one submitted batch to `group`.
  static void AddBatch(uint32_t shard, uint64_t first_lsn, uint32_t count,
                       std::span<const uint8_t> records, rocksdb::WriteBatch* group);
  // Writes a group atomically with the durability's write options.
  absl::Status WriteGroup(rocksdb::WriteBatch* group);

  // The last LSN of the stored log of `shard` (0: none), without checksums.
  absl::StatusOr<uint64_t> LastLogLsn(uint32_t shard) const;
  // The LSN of the latest snapshot of `shard` (0: none).
  absl::StatusOr<uint64_t> LastSnapshotLsn(uint32_t shard) const;

  using RecordsFn = std::function<absl::Status(uint64_t first_lsn, std::span<const uint8_t> records,
                                               uint32_t count)>;
  // See RocksDbJournal::ReadShard.
  absl::Status ReadShard(uint32_t shard, uint64_t from_lsn, const RecordsFn& fn) const;
  absl::Status DeleteBefore(uint32_t shard, uint64_t lsn);
  absl::Status PutSnapshot(uint32_t shard, uint64_t lsn, std::span<const uint8_t> bytes);
  absl::StatusOr<std::optional<std::pair<uint64_t, std::vector<uint8_t>>>> LatestSnapshot(
      uint32_t shard) const;

  absl::StatusOr<std::optional<std::string>> GetMetadata(const std::string& name) const;
  absl::Status PutMetadata(const std::string& name, const std::string& value);

  absl::Status Close();

 private:
  LogStore(rocksdb::DB* db, bool sync, std::string path, uint64_t snapshot_write_bytes_per_s);
  // Snapshots live in files beside the database (RocksDB keeps a small
  // pointer): a state of hundreds of megabytes never goes through the WAL,
  // memtables and compactions.
  std::string SnapshotFile(uint32_t shard, uint64_t lsn) const;
  // The last key of kind `kind` of `shard` and its value, if any.
  absl::StatusOr<std::optional<std::pair<uint64_t, std::string>>> LastEntry(char kind,
                                                                            uint32_t shard) const;

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions group_write_options_;
  std::string path_;
  uint64_t snapshot_write_bytes_per_s_;
};

// A RocksDB status as an absl::Status, with `context` in front of its message.
absl::Status FromRocksDb(const rocksdb::Status& status, const std::string& context);

}  // namespace encore::persistence_internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_LOG_STORE_H_
