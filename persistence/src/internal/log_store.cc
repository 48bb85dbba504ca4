#include "internal/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "internal/file_util.h"
#include "internal/info_logger.h"
#include "internal/log_end.h"
#include "internal/log_format.h"
#include "rocksdb/convenience.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/write_batch.h"

namespace encore::persistence::internal {
namespace {

rocksdb::Slice AsSlice(const Key& key) { return rocksdb::Slice(key.data(), key.size()); }

rocksdb::Options LogOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  // The database keeps small keys (snapshot pointers, metadata) and, in data
  // directories written before the segment log, the log as keys: read back,
  // then deleted by truncation. Defaults fit that, but for these:
  // Each Write() hands its WAL record to the OS before returning (true is
  // RocksDB's default too; stated because snapshot keys depend on it).
  options.manual_wal_flush = false;
  // After a crash, keep every complete write up to the first torn one.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Truncating a keyed log leaves range tombstones behind; dynamic level
  // sizes keep the space they cover from lingering in deep levels.
  options.level_compaction_dynamic_level_bytes = true;
  options.compression = rocksdb::kNoCompression;
  // Two cores: one background job flushing while one compacts.
  options.max_background_jobs = 2;
  // RocksDB's own info LOG, bounded.
  options.max_log_file_size = size_t{16} << 20;
  options.keep_log_file_num = 4;
  return options;
}

}  // namespace

absl::Status FromRocksDb(const rocksdb::Status& status, const std::string& context) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(context, ": rocksdb: ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (status.IsNotSupported()) return absl::UnimplementedError(message);
  if (status.IsBusy() || status.IsTimedOut() || status.IsTryAgain()) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

LogStore::LogStore(rocksdb::DB* db, std::unique_ptr<SegmentLog> log, std::string path,
                   const Options& options, bool has_keyed_log)
    : db_(db),
      log_(std::move(log)),
      path_(std::move(path)),
      options_(options),
      has_keyed_log_(has_keyed_log) {}

namespace {

// The last key of kind `kind` of `shard` in `db` and its value, if any.
absl::StatusOr<std::optional<std::pair<uint64_t, std::string>>> LastEntryOf(rocksdb::DB* db,
                                                                            char kind,
                                                                            uint32_t shard) {
  const Key lower = EncodeKey(kind, shard, 0);
  const Key last = EncodeKey(kind, shard, std::numeric_limits<uint64_t>::max());
  const rocksdb::Slice lower_slice = AsSlice(lower);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options));
  it->SeekForPrev(AsSlice(last));
  if (!it->Valid()) {
    if (!it->status().ok()) return FromRocksDb(it->status(), "reading journal");
    return std::optional<std::pair<uint64_t, std::string>>();
  }
  const std::optional<DecodedKey> key = DecodeKey(it->key().ToStringView());
  if (!key.has_value()) {
    return absl::DataLossError(absl::StrCat("corrupt key in the journal of shard ", shard));
  }
  return std::make_pair(key->lsn, it->value().ToString());
}

// Whether `directory` holds any entry (false if it does not exist).
bool HasEntries(const std::string& directory) {
  std::error_code error;
  return std::filesystem::is_directory(directory, error) &&
         std::filesystem::directory_iterator(directory, error) !=
             std::filesystem::directory_iterator();
}

}  // namespace

LogStore::~LogStore() { Close().IgnoreError(); }

absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Open(const std::string& path,
                                                         const Options& store_options) {
  rocksdb::DB* db = nullptr;
  rocksdb::Options options = LogOptions();
  // A data directory whose database is gone (its CURRENT file, or all of
  // it) but whose log or snapshots are there has lost its metadata: a new
  // database would draw a new queue-token key (every token issued would read
  // TOKEN_INVALID) and forget the snapshot pointers and the log's end mark.
  std::error_code missing;
  if (!std::filesystem::exists(path + "/CURRENT", missing) &&
      (HasEntries(path + "/log") || HasEntries(path + "/snapshots"))) {
    return absl::DataLossError(absl::StrCat(
        "the journal's database in ", path,
        " is missing (no CURRENT file), but its log or "
        "snapshots are there: its metadata (the queue-token key, snapshot pointers, the log's "
        "end mark) is lost; restore the directory from a backup"));
  }
  // RocksDB's info LOG through a logger that survives a full disk (see info_logger.h).
  std::error_code created;
  std::filesystem::create_directories(path, created);
  options.info_log = OpenInfoLogger(path, options.max_log_file_size);
  // Obsolete WAL and SST files (of a keyed log: up to 256 MB each) are
  // deleted a slice at a time:
  // unlinking one at once took 110 to 125 ms while ext4 freed its extents, and
  // the log's fdatasync calls beside it 44 to 62 ms (strace). RocksDB's
  // delete scheduler renames each to *.trash and truncates it
  // kDeleteSliceBytes at a time, at most kDeleteBytesPerS; the trash may be
  // any share of the database (ours is mostly deleted log), so deletions are
  // never hurried into whole unlinks.
  constexpr int64_t kDeleteBytesPerS = int64_t{1} << 30;
  constexpr uint64_t kDeleteSliceBytes = uint64_t{16} << 20;
  constexpr double kTrashRatioMax = 1e9;
  rocksdb::Status manager_status;
  options.sst_file_manager.reset(rocksdb::NewSstFileManager(
      rocksdb::Env::Default(), options.info_log, /*trash_dir=*/"", kDeleteBytesPerS,
      /*delete_existing_trash=*/true, &manager_status, kTrashRatioMax, kDeleteSliceBytes));
  if (!manager_status.ok()) {
    return FromRocksDb(manager_status, absl::StrCat("opening journal ", path));
  }
  const rocksdb::Status status = rocksdb::DB::Open(options, path, &db);
  if (!status.ok()) return FromRocksDb(status, absl::StrCat("opening journal ", path));
  std::unique_ptr<rocksdb::DB> owned(db);
  std::error_code error;
  std::filesystem::create_directories(path + "/snapshots", error);
  if (error) {
    return absl::InternalError(absl::StrCat("creating ", path, "/snapshots: ", error.message()));
  }
  // A log kept as keys by an earlier version: read still, until truncated.
  bool has_keyed_log = false;
  {
    const Key lower = EncodeKey(kBatchKind, 0, 0);
    std::unique_ptr<rocksdb::Iterator> it(owned->NewIterator(rocksdb::ReadOptions()));
    it->Seek(AsSlice(lower));
    if (!it->status().ok()) return FromRocksDb(it->status(), "reading journal");
    has_keyed_log = it->Valid() && !it->key().empty() && it->key()[0] == kBatchKind;
  }
  absl::StatusOr<SegmentLog::Extent> end_mark = ReadEndMark(owned.get(), has_keyed_log);
  if (!end_mark.ok()) return end_mark.status();
  // Opened after the database, whose lock keeps a second process out.
  SegmentLog::Options log_options;
  log_options.sync = store_options.sync;
  log_options.segment_bytes_max = store_options.log_segment_bytes;
  log_options.end_mark = *std::move(end_mark);
  log_options.cut_at_damage = store_options.cut_log_at_damage;
  absl::StatusOr<std::unique_ptr<SegmentLog>> log = SegmentLog::Open(path + "/log", log_options);
  if (!log.ok()) return log.status();
  std::unique_ptr<LogStore> store(
      new LogStore(owned.release(), *std::move(log), path, store_options, has_keyed_log));
  // The log as found is the new mark: it passed the check (or the operator
  // accepted where it ends).
  if (absl::Status marked = store->MarkLogEnd(); !marked.ok()) return marked;
  store->marking_ = true;
  return store;
}

absl::StatusOr<SegmentLog::Extent> LogStore::ReadEndMark(rocksdb::DB* db, bool has_keyed_log) {
  std::string value;
  const rocksdb::Status got = db->Get(rocksdb::ReadOptions(), kLogEndKey, &value);
  if (got.IsNotFound()) return SegmentLog::Extent();  // Written before the mark was kept.
  if (!got.ok()) return FromRocksDb(got, "reading the log's end mark");
  absl::StatusOr<SegmentLog::Extent> mark = DecodeLogEnd(value);
  if (!mark.ok()) return mark.status();
  // A shard whose snapshot (or log kept as keys) reaches the mark needs no
  // segment to: truncation deletes the segments a snapshot covers.
  for (auto it = mark->last_lsn.begin(); it != mark->last_lsn.end();) {
    const uint32_t shard = it->first;
    absl::StatusOr<std::optional<std::pair<uint64_t, std::string>>> snapshot =
        LastEntryOf(db, kSnapshotKind, shard);
    if (!snapshot.ok()) return snapshot.status();
    uint64_t covered = snapshot->has_value() ? (*snapshot)->first : 0;
    if (has_keyed_log) {
      absl::StatusOr<std::optional<std::pair<uint64_t, std::string>>> keyed =
          LastEntryOf(db, kBatchKind, shard);
      if (!keyed.ok()) return keyed.status();
      if (keyed->has_value()) {
        const absl::StatusOr<uint32_t> count =
            PeekBatchCount((*keyed)->second, shard, (*keyed)->first);
        if (!count.ok()) return count.status();
        covered = std::max(covered, (*keyed)->first + *count - 1);
      }
    }
    it = covered >= it->second ? mark->last_lsn.erase(it) : std::next(it);
  }
  return mark;
}

absl::Status LogStore::MarkLogEnd() {
  const SegmentLog::Extent extent = log_->DurableExtent();
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  const absl::Status status = FromRocksDb(db_->Put(write_options, kLogEndKey, EncodeLogEnd(extent)),
                                          "writing the log's end mark");
  if (!status.ok()) return status;
  marked_segment_ = extent.segment;
  next_mark_at_ = std::chrono::steady_clock::now() + kLogEndMarkPeriod;
  return absl::OkStatus();
}

absl::Status LogStore::Close() {
  if (db_ == nullptr) return absl::OkStatus();
  absl::Status status = log_->Close();
  // The whole log is on disk now (Close syncs it with kAsync): mark it.
  if (status.ok() && marking_) status = MarkLogEnd();
  const absl::Status closed = FromRocksDb(db_->Close(), "closing journal");
  db_.reset();
  if (status.ok()) status = closed;
  return status;
}

absl::Status LogStore::AppendGroup(std::span<const SegmentLog::Batch> batches) {
  if (absl::Status appended = log_->Append(batches); !appended.ok()) return appended;
  // A segment closed (and, with kAsync, synced), or with kSync the period
  // passed: the mark follows, so that a lost tail is found at open.
  if (log_->DurableSegment() != marked_segment_ ||
      (options_.sync && std::chrono::steady_clock::now() >= next_mark_at_)) {
    return MarkLogEnd();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::pair<uint64_t, std::string>>> LogStore::LastEntry(
    char kind, uint32_t shard) const {
  return LastEntryOf(db_.get(), kind, shard);
}

absl::StatusOr<uint64_t> LogStore::LastLogLsn(uint32_t shard) const {
  const uint64_t segment_lsn = log_->LastLsn(shard);
  if (!has_keyed_log_) return segment_lsn;
  auto last = LastEntry(kBatchKind, shard);
  if (!last.ok()) return last.status();
  if (!last->has_value()) return segment_lsn;
  const auto& [first_lsn, value] = **last;
  const absl::StatusOr<uint32_t> count = PeekBatchCount(value, shard, first_lsn);
  if (!count.ok()) return count.status();
  return std::max(segment_lsn, first_lsn + *count - 1);
}

absl::StatusOr<uint64_t> LogStore::LastSnapshotLsn(uint32_t shard) const {
  auto last = LastEntry(kSnapshotKind, shard);
  if (!last.ok()) return last.status();
  return last->has_value() ? (*last)->first : 0;
}

absl::Status LogStore::ReadShard(uint32_t shard, uint64_t from_lsn, const RecordsFn& fn) const {
  ShardScan scan(shard, from_lsn, log_->DeletedBefore(shard), fn);
  if (has_keyed_log_) {
    if (absl::Status status = ReadKeyedBatches(shard, &scan); !status.ok()) return status;
  }
  return log_->ReadShard(shard, from_lsn, &scan);
}

absl::Status LogStore::ReadKeyedBatches(uint32_t shard, ShardScan* scan) const {
  const Key lower = EncodeKey(kBatchKind, shard, 0);
  const Key upper = EncodeKey(kBatchKind, shard + 1, 0);
  const rocksdb::Slice lower_slice = AsSlice(lower);
  const rocksdb::Slice upper_slice = AsSlice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_lower_bound = &lower_slice;
  read_options.iterate_upper_bound = &upper_slice;
  read_options.fill_cache = false;                // A recovery scan reads each block once.
  read_options.readahead_size = size_t{2} << 20;  // And in order.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::optional<DecodedKey> key = DecodeKey(it->key().ToStringView());
    if (!key.has_value()) {
      return absl::DataLossError(absl::StrCat("corrupt key in the journal of shard ", shard));
    }
    if (absl::Status status = scan->Take(key->lsn, it->value().ToStringView()); !status.ok()) {
      return status;
    }
  }
  return FromRocksDb(it->status(), "reading journal");
}

absl::Status LogStore::DeleteBefore(uint32_t shard, uint64_t lsn) {
  log_->DeleteBefore(shard, lsn);
  return has_keyed_log_ ? DeleteKeyedBatchesBefore(shard, lsn) : absl::OkStatus();
}

absl::Status LogStore::DeleteKeyedBatchesBefore(uint32_t shard, uint64_t lsn) {
  // Keep the batch holding lsn whole: find where it starts.
  uint64_t end_lsn = lsn;
  {
    const Key lower = EncodeKey(kBatchKind, shard, 0);
    const rocksdb::Slice lower_slice = AsSlice(lower);
    rocksdb::ReadOptions read_options;
    read_options.iterate_lower_bound = &lower_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
    it->SeekForPrev(AsSlice(EncodeKey(kBatchKind, shard, lsn)));
    if (!it->Valid() && !it->status().ok()) return FromRocksDb(it->status(), "reading journal");
    if (it->Valid()) {
      const std::optional<DecodedKey> key = DecodeKey(it->key().ToStringView());
      const absl::StatusOr<uint32_t> count =
          key.has_value() ? PeekBatchCount(it->value().ToStringView(), shard, key->lsn)
                          : absl::StatusOr<uint32_t>(absl::DataLossError("corrupt key"));
      // An unreadable batch is kept: truncation never deletes what it cannot read.
      if (!count.ok())
        end_lsn = key.has_value() ? key->lsn : 0;
      else if (key->lsn + *count > lsn)
        end_lsn = key->lsn;
    }
  }
  if (end_lsn == 0) return absl::OkStatus();
  const Key begin = EncodeKey(kBatchKind, shard, 0);
  const Key end = EncodeKey(kBatchKind, shard, end_lsn);
  // Not synced: losing a truncation in a power cut only keeps more log.
  return FromRocksDb(db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(),
                                      AsSlice(begin), AsSlice(end)),
                     "truncating journal");
}

absl::StatusOr<std::optional<std::string>> LogStore::GetMetadata(const std::string& name) const {
  std::string value;
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), "M" + name, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromRocksDb(status, "reading metadata " + name);
  return std::optional<std::string>(std::move(value));
}

absl::Status LogStore::PutMetadata(const std::string& name, const std::string& value) {
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return FromRocksDb(db_->Put(write_options, "M" + name, value), "writing metadata " + name);
}

std::string LogStore::SnapshotFile(uint32_t shard, uint64_t lsn) const {
  return absl::StrCat(path_, "/snapshots/shard-", shard, "-lsn-", lsn, ".snapshot");
}

namespace {

// Files are written in chunks of this size; O_DIRECT ones through an aligned
// buffer of this size, reused.
constexpr size_t kDirectAlignment = 4096;
constexpr size_t kChunkBytes = size_t{1} << 20;

// Paces a file's writes to a rate: after each chunk, waits until the bytes
// written so far are due. Every fdatasync of the log ends in a flush of the
// device's cache, which must also persist whatever else was written since the
// last one: a snapshot of 640 MB written at the disk's full speed more than
// doubled the log's group commits, and paced at 256 MB/s it barely moved them
// (docs/PERFORMANCE.md).
class WritePacer {
 public:
  // 0: never waits.
  explicit WritePacer(uint64_t bytes_per_s)
      : bytes_per_s_(bytes_per_s), start_(std::chrono::steady_clock::now()) {}

  void Wrote(size_t bytes) {
    written_ += bytes;
    if (bytes_per_s_ == 0) return;
    const std::chrono::duration<double> due(static_cast<double>(written_) /
                                            static_cast<double>(bytes_per_s_));
    std::this_thread::sleep_until(
        start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(due));
  }

 private:
  const uint64_t bytes_per_s_;
  const std::chrono::steady_clock::time_point start_;
  uint64_t written_ = 0;
};

// Writes `parts` with O_DIRECT through a reused aligned buffer: a memcpy
// into warm memory instead of the kernel's copy into freshly allocated page
// cache, which cost a third of a core under load for snapshots of hundreds of
// megabytes (perf: copy_folio_from_iter). The last block is padded with
// zeros, then the file is cut to its size. False with errno set.
bool WriteDirect(int fd, std::initializer_list<std::string_view> parts, WritePacer* pacer) {
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  const std::unique_ptr<char, Free> buffer(
      static_cast<char*>(std::aligned_alloc(kDirectAlignment, kChunkBytes)));
  if (buffer == nullptr) {
    errno = ENOMEM;
    return false;
  }
  // The whole file's blocks at once, so it is a few large extents rather
  // than one per chunk interleaved with the log's: freeing them later is then
  // cheap (see RemoveFileGradually). Best effort: some file systems lack it.
  size_t size = 0;
  for (const std::string_view part : parts) size += part.size();
  if (size > 0) ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(size));
  size_t filled = 0;
  size_t total = 0;
  for (const std::string_view part : parts) {
    size_t taken = 0;
    while (taken < part.size()) {
      const size_t n = std::min(part.size() - taken, kChunkBytes - filled);
      std::memcpy(buffer.get() + filled, part.data() + taken, n);
      filled += n;
      taken += n;
      if (filled == kChunkBytes) {
        if (!WriteAll(fd, buffer.get(), filled)) return false;
        total += filled;
        filled = 0;
        pacer->Wrote(kChunkBytes);
      }
    }
  }
  if (filled > 0) {
    const size_t padded = (filled + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
    std::memset(buffer.get() + filled, 0, padded - filled);
    if (!WriteAll(fd, buffer.get(), padded)) return false;
    total += filled;
  }
  return ::ftruncate(fd, static_cast<off_t>(total)) == 0;
}

// Writes `parts` through the page cache, in paced chunks. False with errno set.
bool WriteBuffered(int fd, std::initializer_list<std::string_view> parts, WritePacer* pacer) {
  for (const std::string_view part : parts) {
    for (size_t taken = 0; taken < part.size();) {
      const size_t n = std::min(part.size() - taken, kChunkBytes);
      if (!WriteAll(fd, part.data() + taken, n)) return false;
      taken += n;
      pacer->Wrote(n);
    }
  }
  return true;
}

// Writes `parts` one after the other to `path` and fsyncs it (via a
// temporary file and a rename, then an fsync of the directory, so `path` is
// either whole or absent), at most `bytes_per_s` (0: unpaced). With O_DIRECT
// where the file system has it (WriteDirect), otherwise buffered (tmpfs, for
// one, refuses O_DIRECT).
absl::Status WriteFileDurably(const std::string& path,
                              std::initializer_list<std::string_view> parts, uint64_t bytes_per_s) {
  const std::string temporary = path + ".tmp";
  constexpr int kFlags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  int fd = ::open(temporary.c_str(), kFlags | O_DIRECT, 0644);
  bool direct = fd >= 0;
  if (!direct && errno == EINVAL) fd = ::open(temporary.c_str(), kFlags, 0644);
  if (fd < 0) return ErrnoStatus("creating " + temporary);
  bool written = false;
  if (direct) {
    WritePacer pacer(bytes_per_s);
    written = WriteDirect(fd, parts, &pacer);
    if (!written && errno == EINVAL) {
      // Some file systems take O_DIRECT at open and refuse its writes: start
      // the file again through the page cache.
      ::close(fd);
      fd = ::open(temporary.c_str(), kFlags, 0644);
      if (fd < 0) return ErrnoStatus("creating " + temporary);
      direct = false;
    }
  }
  if (!direct) {
    WritePacer pacer(bytes_per_s);
    written = WriteBuffered(fd, parts, &pacer);
  }
  if (!written) {
    const absl::Status status = ErrnoStatus("writing " + temporary);
    ::close(fd);
    return status;
  }
  if (::fsync(fd) != 0) {
    const absl::Status status = ErrnoStatus("syncing " + temporary);
    ::close(fd);
    return status;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return ErrnoStatus("renaming " + temporary);
  const std::string directory = std::filesystem::path(path).parent_path().string();
  return SyncDirectory(directory);
}

}  // namespace

absl::Status LogStore::PutSnapshot(uint32_t shard, uint64_t lsn, std::span<const uint8_t> bytes) {
  // The file first, synced: the key below never points at a partial file. A
  // crash between the two leaves an unreferenced file, removed next time.
  const std::string file = SnapshotFile(shard, lsn);
  const SnapshotHeader header = EncodeSnapshotHeader(bytes);
  absl::Status status = WriteFileDurably(
      file,
      {std::string_view(header.data(), header.size()),
       std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())},
      options_.snapshot_write_bytes_per_s);
  if (!status.ok()) return status;
  rocksdb::WriteBatch batch;
  const Key key = EncodeKey(kSnapshotKind, shard, lsn);
  if (lsn > 0) {
    // Older snapshots go in the same atomic write: never none, never two.
    const Key begin = EncodeKey(kSnapshotKind, shard, 0);
    batch.DeleteRange(AsSlice(begin), AsSlice(key)).PermitUncheckedError();
  }
  batch.Put(AsSlice(key), "file").PermitUncheckedError();
  // Durable whatever the mode before this returns: the older files go next,
  // and the caller then deletes the log before the snapshot. Written, then
  // the WAL synced with SyncWAL() rather than by a synced Write(): a synced
  // Write() holds every write queued behind it until its fsync ends, and in
  // kAsync that fsync writes back all the WAL not yet on disk (hundreds of MB
  // under load), so the journal's groups waited behind it. SyncWAL() syncs
  // beside them: hold-only async +4% and p99.9 13 to 28 ms against 26 to
  // 47 ms, alternating (docs/PERFORMANCE.md).
  status = FromRocksDb(db_->Write(rocksdb::WriteOptions(), &batch), "writing snapshot");
  if (!status.ok()) return status;
  status = FromRocksDb(db_->SyncWAL(), "syncing the snapshot's key");
  if (!status.ok()) return status;
  // The shard's older snapshot files are no longer referenced.
  const std::string prefix = absl::StrCat("shard-", shard, "-lsn-");
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path_ + "/snapshots", error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.path().string() != file) {
      RemoveFileGradually(entry.path().string());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::pair<uint64_t, std::vector<uint8_t>>>> LogStore::LatestSnapshot(
    uint32_t shard) const {
  auto last = LastEntry(kSnapshotKind, shard);
  if (!last.ok()) return last.status();
  if (!last->has_value()) return std::nullopt;
  const uint64_t lsn = (*last)->first;
  const std::string file = SnapshotFile(shard, lsn);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::DataLossError(
        absl::StrCat("snapshot of shard ", shard, " at lsn ", lsn, ": file ", file, " is missing"));
  }
  const std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const absl::StatusOr<std::span<const uint8_t>> bytes = DecodeSnapshot(value, shard, lsn);
  if (!bytes.ok()) return bytes.status();
  return std::make_pair(lsn, std::vector<uint8_t>(bytes->begin(), bytes->end()));
}

}  // namespace encore::persistence::internal
