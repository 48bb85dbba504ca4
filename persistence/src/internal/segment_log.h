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
// was created). With kAsync a segment is fdatasynced when it is closed (its
// writeback started every kWritebackBytes before), so what an OS crash or a
// power loss can cut is the segment being written. DurableExtent() is how far
// the log is known to be on disk; the journal records it (log_store.h), so
// that a log cut short or deleted below it is found at open.
//
// At open, the last segment's torn tail is cut off: a group reaching past
// the end of the file, or zeros to the end, with no whole group after it. It
// was never acknowledged (its bytes, unless zeros, are kept as
// <segment>.torn-at-<offset>). A bad group followed by a whole group is not a
// tear (a crash tears only the end of the last write) but damage: a length
// field damaged in place reads like a tear, and cutting it would drop the
// acknowledged groups behind it. A segment torn before the last one is
// damage too: groups are synced in order (kSync), and a segment is synced
// when it is closed (kAsync). A group that fails its checksum anywhere is
// corruption. ReadShard() reaching damage returns DataLoss naming the file
// and offset. Options::cut_at_damage is the operator's word to cut anyway:
// the log then ends at its first damage (the rest kept aside as
// <segment>.damaged-at-<offset>, later segments renamed *.after-damage), and
// cuts() says what was cut.
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

namespace encore::persistence::internal {

class SegmentLog {
 public:
  static constexpr uint64_t kSegmentBytesMin = 4096;
  static constexpr uint32_t kFormatVersion = 1;
  // Limits that keep every size field within its u32: a batch's records, and
  // a group's payload (an Append() over it is written as several groups).
  static constexpr size_t kBatchBytesMax = size_t{1} << 30;
  static constexpr size_t kGroupBytesMax = size_t{1} << 30;

  // With kAsync, writeback of the segment being written is started every
  // this many bytes, so that the fdatasync when it is closed waits little.
  static constexpr uint64_t kWritebackBytes = uint64_t{4} << 20;

  // How far the log reaches on disk: the end of segment `segment` at
  // `bytes`, holding each shard's events up to last_lsn.
  struct Extent {
    uint64_t segment = 0;
    uint64_t bytes = 0;
    std::map<uint32_t, uint64_t> last_lsn;
  };

  struct Options {
    bool sync = true;  // Each group is fdatasynced.
    // A segment is closed once it holds this many bytes. At least
    // kSegmentBytesMin, else Open() is InvalidArgument.
    uint64_t segment_bytes_max = uint64_t{64} << 20;
    // Where the log reached on disk, as recorded (the shards whose log a
    // snapshot covers left out): a log ending short of it is DataLoss at
    // open, before anything is cut.
    Extent end_mark;
    // Cut the log at its first damage, and accept a log ending short of
    // end_mark, instead of refusing it (what was accepted is in cuts()).
    bool cut_at_damage = false;
    // At most kGroupBytesMax (smaller only in tests of the split).
    size_t group_bytes_max = kGroupBytesMax;
  };

  // One submitted batch to append.
  struct Batch {
    uint32_t shard;
    uint64_t first_lsn;
    uint32_t count;
    std::span<const uint8_t> records;
  };

  // Opens the log in `directory` (created if missing) and reads every segment
  // once: each shard's LSN ranges per segment, and the last segment's torn
  // tail cut off. With kAsync the segments found are fdatasynced, so that
  // DurableExtent() holds them.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SegmentLog>> Open(
      const std::string& directory, const Options& options);
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Appends `batches` as one group, durably under the mode when it returns
  // OK. A failed append may leave a partial group behind (cut at the next
  // open); the caller must stop appending.
  [[nodiscard]] absl::Status Append(std::span<const Batch> batches);

  // The last LSN of `shard` in the log (0: none).
  uint64_t LastLsn(uint32_t shard) const;
  // The part of the log known to be on disk: everything appended with kSync;
  // with kAsync, what Open() found and every segment closed since.
  Extent DurableExtent() const;
  // DurableExtent().segment, without copying the rest.
  uint64_t DurableSegment() const;
  // Whether a segment read at open has damage (ReadShard() then reports it).
  bool damaged() const;
  // What Open() cut with cut_at_damage, one line each (empty: nothing).
  const std::vector<std::string>& cuts() const { return cuts_; }

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

  // Closes the segment being written (fdatasynced first with kAsync, so
  // that DurableExtent() then holds the whole log). Later Append() calls fail.
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
    std::map<uint32_t, LsnRange> ranges;
    bool torn_tail = false;  // The last segment, torn at valid_bytes: to be cut.

    // Widens the range of `shard` to hold first_lsn..last_lsn.
    void AddRange(uint32_t shard, uint64_t first_lsn, uint64_t last_lsn) {
      auto [range, added] = ranges.try_emplace(shard, LsnRange{first_lsn, last_lsn});
      if (!added) range->second.last_lsn = std::max(range->second.last_lsn, last_lsn);
    }
  };

  SegmentLog(std::string directory, const Options& options);
  // Reads one segment for its ranges and where its whole groups end.
  [[nodiscard]] absl::Status Scan(Segment* segment, bool last);
  // Cuts `segment` to its valid_bytes, synced; the bytes cut, unless zeros,
  // kept as <path><aside_suffix><offset>.
  [[nodiscard]] absl::Status CutTail(const Segment& segment, const char* aside_suffix) const;
  // cut_at_damage at open: ends the log at the first damaged segment: cut
  // there, its tail kept aside as <path>.damaged-at-<offset>, the later
  // segments renamed *.after-damage. Records what it did in cuts_.
  [[nodiscard]] absl::Status CutAtFirstDamage();
  // Each shard's last LSN in segments_.
  std::map<uint32_t, uint64_t> FoundLastLsns() const;
  // DataLoss if a shard's log (undamaged) ends short of `mark`; with
  // cut_at_damage_, a line in cuts_ instead.
  [[nodiscard]] absl::Status CheckEndMark(const Extent& mark);
  // Starts segment number next_number_ for writing.
  [[nodiscard]] absl::Status StartSegment();
  // Encodes batches [first, returned) into group_: all the rest, or as many
  // as fit in group_bytes_max_ (at least one).
  size_t EncodeGroup(std::span<const Batch> batches, size_t first);
  std::string SegmentPath(uint64_t number) const;
  Extent DurableExtentLocked() const;  // REQUIRES: mutex_ held.

  const std::string directory_;
  const bool sync_;
  const uint64_t segment_bytes_max_;
  const bool cut_at_damage_;
  const size_t group_bytes_max_;
  std::vector<std::string> cuts_;  // Written by Open() only.

  // Writer only.
  int fd_ = -1;                  // The segment being written; -1: none yet.
  uint64_t written_bytes_ = 0;   // Its size.
  uint64_t writeback_from_ = 0;  // kAsync: where writeback was last started.
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
  // kAsync: the log up to the last segment closed (and synced) since Open();
  // unused while durable_all_ (at open, after Close(), always with kSync).
  Extent durable_;           // Guarded by mutex_.
  bool durable_all_ = true;  // Guarded by mutex_.
};

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_SEGMENT_LOG_H_
