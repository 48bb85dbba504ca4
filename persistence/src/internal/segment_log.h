// SegmentLog: the journal's event log, in append-only segment files of its
// own beside the RocksDB database (which keeps snapshot pointers and
// metadata). One writer appends groups; readers and truncation may run
// beside it.
//
// Why not RocksDB keys: a RocksDB Write() copies each group into its WAL and
// again into a memtable, which is later flushed to an SST file that the next
// snapshot makes useless. Skipping the Write() alone made async holds 25%
// faster (docs/PERFORMANCE.md). Here a group is one write() (and one
// fdatasync with sync), and truncation deletes whole files.
//
// On disk, in <data dir>/log/:
//   segment-<number, 20 digits>.log   numbered from 1, in write order
//     header  "ENCLOG\0\0" | version u32 LE = 1 | reserved u32 = 0
//     groups  payload_bytes u32 LE | crc u32 LE | payload
//             crc: CRC32C of the payload_bytes field and the payload, masked
//     payload one entry per batch:
//             key ('E' | shard u32 BE | first_lsn u64 BE, as the RocksDB keys
//             of format 2) | value_bytes u32 LE | value (log_format.h: batch
//             header, then EventBuffer records; its own CRC)
// A segment is closed for writing once it reaches segment_bytes_max (it may
// pass it by one group) and at every open; each open writes a new one.
//
// Crashes: a group is acknowledged only once written (kAsync: in the page
// cache; kSync: fdatasynced, the segment's directory entry fsynced when it
// was created). At open, the last segment's torn tail (a group reaching past
// the end of the file, or zeros to the end) is cut off: it was never
// acknowledged (its bytes, unless zeros, are kept as
// <segment>.torn-at-<offset>). A segment torn before the last one can only
// come from an OS crash or power loss under kAsync (which promises nothing
// there): opened with kAsync, the log ends at that tear (later segments are
// renamed *.after-torn); opened with kSync, it is damage. A group that fails its
// checksum anywhere is corruption. ReadShard() reaching damage returns
// DataLoss naming the file and offset.
//
// Thread safety: Append() from one thread at a time (the journal's writer);
// every other method from any thread.
#ifndef ENCORE_PERSISTENCE_INTERNAL_SEGMENT_LOG_H_
#define ENCORE_PERSISTENCE_INTERNAL_SEGMENT_LOG_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "internal/shard_scan.h"

namespace encore::persistence_internal {

class SegmentLog {
 public:
  static constexpr uint64_t kSegmentBytesMin = 4096;
  static constexpr uint32_t kFormatVersion = 1;
  // Limits that keep every size field within its u32: a batch's records, and
  // a group's payload (an Append() over it is written as several groups).
  static constexpr size_t kBatchBytesMax = size_t{1} << 30;
  static constexpr size_t kGroupBytesMax = size_t{1} << 30;

  // One submitted batch to append.
  struct Batch {
    uint32_t shard;
    uint64_t first_lsn;
    uint32_t count;
    std::span<const uint8_t> records;
  };

  // Opens the log in `directory` (created if missing) and reads every segment
  // once: each shard's LSN ranges per segment, and the last segment's torn
  // tail cut off. `sync`: each group is fdatasynced. `group_bytes_max`: at
  // most kGroupBytesMax (smaller only in tests of the split). Segment sizes
  // below kSegmentBytesMin are InvalidArgument.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SegmentLog>> Open(
      const std::string& directory, bool sync, uint64_t segment_bytes_max,
      size_t group_bytes_max = kGroupBytesMax);
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Appends `batches` as one group, durably under the mode when it returns
  // OK. A failed append may leave a partial group behind (cut at the next
  // open); the caller must stop appending.
  [[nodiscard]] absl::Status Append(std::span<const Batch> batches);

  // The last LSN of `shard` in the log (0: none).
  uint64_t LastLsn(uint32_t shard) const;

  // Feeds `scan` the batches of `shard` in log order, from the segment
  // holding from_lsn on. `scan` skips what DeletedBefore(shard) covers.
  [[nodiscard]] absl::Status ReadShard(uint32_t shard, uint64_t from_lsn, ShardScan* scan) const;
  // The truncation point DeleteBefore() set for `shard` (0: none).
  uint64_t DeletedBefore(uint32_t shard) const;

  // Marks the batches of `shard` whose events are all before `lsn` deleted,
  // and removes every closed segment whose batches are all deleted, for every
  // shard in it. Not synced: a truncation lost in a crash only keeps more
  // log, which recovery skips (it starts after the snapshot).
  void DeleteBefore(uint32_t shard, uint64_t lsn);

  // Closes the segment being written. Later Append() calls fail.
  [[nodiscard]] absl::Status Close();

 private:
  // A shard's LSNs in one segment.
  struct LsnRange {
    uint64_t first_lsn;
    uint64_t last_lsn;
  };
  struct Segment {
    uint64_t number;
    std::string path;
    uint64_t valid_bytes = 0;  // Where its last whole group ends.
    // DataLoss naming the file and offset if a check failed at valid_bytes.
    absl::Status damage;
    bool torn = false;  // Torn at valid_bytes, and not the last segment.
    std::map<uint32_t, LsnRange> ranges;

    // Widens the range of `shard` to hold first_lsn..last_lsn.
    void AddRange(uint32_t shard, uint64_t first_lsn, uint64_t last_lsn) {
      auto [range, added] = ranges.try_emplace(shard, LsnRange{first_lsn, last_lsn});
      if (!added) range->second.last_lsn = std::max(range->second.last_lsn, last_lsn);
    }
  };

  SegmentLog(std::string directory, bool sync, uint64_t segment_bytes_max, size_t group_bytes_max);
  // Reads one segment for its ranges and where its whole groups end; the
  // last one's torn tail is cut off.
  absl::Status Scan(Segment* segment, bool last);
  // Cuts `segment` to its valid_bytes, synced.
  absl::Status CutTornTail(const Segment& segment) const;
  // kAsync at open: ends the log at the first segment torn before the last
  // (cut there; the later segments renamed *.after-torn).
  absl::Status CutAtFirstTear();
  // Starts segment number next_number_ for writing.
  absl::Status StartSegment();
  // Encodes batches [first, returned) into group_: all the rest, or as many
  // as fit in group_bytes_max_ (at least one).
  size_t EncodeGroup(std::span<const Batch> batches, size_t first);
  std::string SegmentPath(uint64_t number) const;

  const std::string directory_;
  const bool sync_;
  const uint64_t segment_bytes_max_;
  const size_t group_bytes_max_;

  // Writer only.
  int fd_ = -1;                 // The segment being written; -1: none yet.
  uint64_t written_bytes_ = 0;  // Its size.
  uint64_t next_number_ = 1;
  std::vector<uint8_t> group_;  // The group being encoded, reused.
  bool closed_ = false;
  std::vector<uint8_t> scan_buffer_;  // Open only.

  // Held shared by ReadShard(), exclusive while DeleteBefore() removes files.
  mutable std::shared_mutex removal_mutex_;
  mutable std::mutex mutex_;
  std::vector<Segment> segments_;                // Guarded by mutex_; oldest first.
  uint64_t active_number_ = 0;                   // Guarded by mutex_; 0: none.
  std::map<uint32_t, uint64_t> deleted_before_;  // Guarded by mutex_.
  std::map<uint32_t, uint64_t> last_lsn_;        // Guarded by mutex_.
};

}  // namespace encore::persistence_internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_SEGMENT_LOG_H_
