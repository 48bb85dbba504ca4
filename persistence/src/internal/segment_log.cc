#include "internal/segment_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/check.h"
#include "internal/crc32c.h"
#include "internal/file_util.h"
#include "internal/log_format.h"

namespace encore::persistence::internal {
namespace {

constexpr char kMagic[8] = {'E', 'N', 'C', 'L', 'O', 'G', '\0', '\0'};
constexpr size_t kSegmentHeaderBytes = 16;
constexpr size_t kGroupHeaderBytes = 8;              // payload_bytes u32 | crc u32
constexpr size_t kEntryPrefixBytes = kKeyBytes + 4;  // key | value_bytes u32
constexpr char kSegmentPrefix[] = "segment-";
constexpr char kSegmentSuffix[] = ".log";

void StoreLittle32(uint32_t value, uint8_t* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}
uint32_t LoadLittle32(const uint8_t* in) {
  return uint32_t{in[0]} | uint32_t{in[1]} << 8 | uint32_t{in[2]} << 16 | uint32_t{in[3]} << 24;
}

// Checksums are stored masked, so that a CRC over bytes holding CRCs (each
// batch carries its own) does not degenerate (as LevelDB and RocksDB do).
uint32_t GroupCrc(const uint8_t* payload_bytes_field, std::span<const uint8_t> payload) {
  const uint32_t crc = Crc32cExtend(Crc32c({payload_bytes_field, 4}), payload);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool AllZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// The number in a segment's file name, or nullopt if it is not one.
std::optional<uint64_t> SegmentNumber(std::string_view name) {
  const std::string_view prefix = kSegmentPrefix;
  const std::string_view suffix = kSegmentSuffix;
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  const char* begin = name.data() + prefix.size();
  const char* end = name.data() + name.size() - suffix.size();
  uint64_t number = 0;
  const auto [stop, error] = std::from_chars(begin, end, number);
  if (error != std::errc() || stop != end || number == 0) return std::nullopt;
  return number;
}

// How a walk over a segment's bytes ended.
struct WalkEnd {
  uint64_t valid_bytes = 0;  // Where the last whole group ends.
  bool torn = false;         // The bytes after it are a torn write.
  absl::Status damage;       // Or: they fail a check (DataLoss).
};

absl::Status Damage(const std::string& path, uint64_t offset, const char* what) {
  return absl::DataLossError(absl::StrCat(what, " in ", path, " at offset ", offset));
}

// The offset of the first whole group (its length within `bytes`, a batch
// key first, its checksum good) starting after `from`, if any. A crash tears
// only the end of the last write: a whole group after a bad one means the
// bad one is damage, whatever it looks like. Only candidates whose payload
// starts with a batch key get their checksum computed.
std::optional<uint64_t> FindWholeGroup(std::span<const uint8_t> bytes, uint64_t from) {
  for (uint64_t at = from + 1; at + kGroupHeaderBytes + kEntryPrefixBytes <= bytes.size(); ++at) {
    const uint32_t payload_bytes = LoadLittle32(bytes.data() + at);
    if (payload_bytes < kEntryPrefixBytes ||
        payload_bytes > bytes.size() - at - kGroupHeaderBytes ||
        bytes[at + kGroupHeaderBytes] != static_cast<uint8_t>(kBatchKind)) {
      continue;
    }
    const std::span<const uint8_t> payload = bytes.subspan(at + kGroupHeaderBytes, payload_bytes);
    if (GroupCrc(bytes.data() + at, payload) == LoadLittle32(bytes.data() + at + 4)) return at;
  }
  return std::nullopt;
}

// DataLoss for a bad group at `offset` that a whole group follows.
absl::Status DamageBeforeWholeGroup(const std::string& path, uint64_t offset, uint64_t whole) {
  return absl::DataLossError(absl::StrCat("corrupt log group in ", path, " at offset ", offset,
                                          ": a whole group follows at offset ", whole,
                                          ", so it is damage, not a torn write"));
}

// Walks the groups of a segment file's `bytes` from its header to the first
// group that is not whole, calling fn(shard, first_lsn, value) for each
// batch. A group reaching past the end, or zeros to the end, with no whole
// group after it, is torn; any other failed check is damage. Returns fn's
// first non-OK status.
template <typename Fn>
absl::Status WalkSegment(const std::string& path, std::span<const uint8_t> bytes, WalkEnd* end,
                         Fn&& fn) {
  if (bytes.size() < kSegmentHeaderBytes || AllZero(bytes.first(kSegmentHeaderBytes))) {
    // Created, but its header never (wholly) written: it holds no group.
    end->torn = true;
    return absl::OkStatus();
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    end->damage = absl::DataLossError(absl::StrCat("not an Encore log segment: ", path));
    return absl::OkStatus();
  }
  const uint32_t version = LoadLittle32(bytes.data() + sizeof(kMagic));
  if (version != SegmentLog::kFormatVersion) {
    end->damage =
        absl::DataLossError(absl::StrCat("unknown log segment version ", version, " in ", path));
    return absl::OkStatus();
  }
  uint64_t offset = kSegmentHeaderBytes;
  end->valid_bytes = offset;
  while (offset < bytes.size()) {
    const std::span<const uint8_t> rest = bytes.subspan(offset);
    if (rest.size() < kGroupHeaderBytes) {
      end->torn = true;
      break;
    }
    const uint32_t payload_bytes = LoadLittle32(rest.data());
    if (payload_bytes > rest.size() - kGroupHeaderBytes) {
      const std::optional<uint64_t> whole = FindWholeGroup(bytes, offset);
      end->torn = !whole.has_value();
      if (whole.has_value()) end->damage = DamageBeforeWholeGroup(path, offset, *whole);
      break;
    }
    const std::span<const uint8_t> payload = rest.subspan(kGroupHeaderBytes, payload_bytes);
    if (GroupCrc(rest.data(), payload) != LoadLittle32(rest.data() + 4)) {
      end->torn = AllZero(rest);
      if (!end->torn) end->damage = Damage(path, offset, "corrupt log group");
      break;
    }
    for (size_t at = 0; at < payload.size();) {
      const std::optional<DecodedKey> key = payload.size() - at >= kEntryPrefixBytes
                                                ? DecodeKey(AsText(payload.subspan(at, kKeyBytes)))
                                                : std::nullopt;
      const uint32_t value_bytes =
          key.has_value() ? LoadLittle32(payload.data() + at + kKeyBytes) : 0;
      if (!key.has_value() || key->kind != kBatchKind ||
          value_bytes > payload.size() - at - kEntryPrefixBytes) {
        end->damage = Damage(path, offset, "malformed log group");
        return absl::OkStatus();
      }
      const std::string_view value = AsText(payload.subspan(at + kEntryPrefixBytes, value_bytes));
      if (absl::Status status = fn(key->shard, key->lsn, value); !status.ok()) return status;
      at += kEntryPrefixBytes + value_bytes;
    }
    offset += kGroupHeaderBytes + payload_bytes;
    end->valid_bytes = offset;
  }
  return absl::OkStatus();
}

// Reads bytes [0, limit) of `path` (all of it if limit is nullopt) into
// `buffer`. NotFound if the file is gone.
absl::Status ReadFile(const std::string& path, std::optional<uint64_t> limit,
                      std::vector<uint8_t>* buffer) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(path);
    return ErrnoStatus("opening " + path);
  }
  struct stat status;
  if (::fstat(fd, &status) != 0) {
    const absl::Status error = ErrnoStatus("reading " + path);
    ::close(fd);
    return error;
  }
  const uint64_t size = limit.value_or(static_cast<uint64_t>(status.st_size));
  buffer->resize(size);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  const ssize_t got = ReadAt(fd, buffer->data(), size, 0);
  const absl::Status error = got < 0 ? ErrnoStatus("reading " + path) : absl::OkStatus();
  ::close(fd);
  if (!error.ok()) return error;
  buffer->resize(static_cast<size_t>(got));
  return absl::OkStatus();
}

// Writes bytes [from, end) of the file `fd` (at `path`) to
// "<path><suffix><from>", synced, unless they are all zeros.
absl::Status KeepTailAside(int fd, const std::string& path, uint64_t from, const char* suffix) {
  struct stat status;
  if (::fstat(fd, &status) != 0) return ErrnoStatus("reading " + path);
  const auto size = static_cast<uint64_t>(status.st_size);
  if (size <= from) return absl::OkStatus();
  std::vector<uint8_t> tail(size - from);
  if (ReadAt(fd, tail.data(), tail.size(), from) != static_cast<ssize_t>(tail.size())) {
    return ErrnoStatus("reading the torn tail of " + path);
  }
  if (AllZero(tail)) return absl::OkStatus();
  const std::string aside = absl::StrCat(path, suffix, from);
  const int out = ::open(aside.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return ErrnoStatus("creating " + aside);
  const bool kept = WriteAll(out, tail.data(), tail.size()) && ::fsync(out) == 0;
  const absl::Status result = kept ? absl::OkStatus() : ErrnoStatus("writing " + aside);
  ::close(out);
  return result;
}

// fdatasyncs the file at `path`.
absl::Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening " + path);
  const bool synced = ::fdatasync(fd) == 0;
  const absl::Status status = synced ? absl::OkStatus() : ErrnoStatus("syncing " + path);
  ::close(fd);
  return status;
}

}  // namespace

SegmentLog::SegmentLog(std::string directory, const Options& options)
    : directory_(std::move(directory)),
      sync_(options.sync),
      segment_bytes_max_(options.segment_bytes_max),
      cut_at_damage_(options.cut_at_damage),
      group_bytes_max_(options.group_bytes_max) {}

SegmentLog::~SegmentLog() { Close().IgnoreError(); }

std::string SegmentLog::SegmentPath(uint64_t number) const {
  std::string digits = std::to_string(number);
  digits.insert(0, 20 - std::min<size_t>(digits.size(), 20), '0');
  return absl::StrCat(directory_, "/", kSegmentPrefix, digits, kSegmentSuffix);
}

absl::StatusOr<std::unique_ptr<SegmentLog>> SegmentLog::Open(const std::string& directory,
                                                             const Options& options) {
  ENCORE_PERSISTENCE_CHECK(options.group_bytes_max > 0 && options.group_bytes_max <= kGroupBytesMax,
                           "group_bytes_max %zu", options.group_bytes_max);
  if (options.segment_bytes_max < kSegmentBytesMin) {
    return absl::InvalidArgumentError(absl::StrCat("log segments must be at least ",
                                                   kSegmentBytesMin, " bytes, got ",
                                                   options.segment_bytes_max));
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create log directory ", directory, ": ", error.message()));
  }
  std::unique_ptr<SegmentLog> log(new SegmentLog(directory, options));
  std::vector<uint64_t> numbers;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::optional<uint64_t> number = SegmentNumber(entry.path().filename().string());
    if (number.has_value()) numbers.push_back(*number);
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot list log directory ", directory, ": ", error.message()));
  }
  std::sort(numbers.begin(), numbers.end());
  for (size_t i = 0; i < numbers.size(); ++i) {
    Segment segment;
    segment.number = numbers[i];
    segment.path = log->SegmentPath(numbers[i]);
    if (absl::Status scanned = log->Scan(&segment, i + 1 == numbers.size()); !scanned.ok()) {
      return scanned;
    }
    if (segment.valid_bytes == 0 && segment.damage.ok()) continue;  // Removed by Scan.
    log->segments_.push_back(std::move(segment));
  }
  // Refused before anything is cut: a log ending short of its end mark.
  if (!options.cut_at_damage) {
    if (absl::Status whole = log->CheckEndMark(options.end_mark); !whole.ok()) return whole;
  }
  if (!log->segments_.empty() && log->segments_.back().torn_tail) {
    if (absl::Status cut = log->CutTail(log->segments_.back(), ".torn-at-"); !cut.ok()) return cut;
  }
  // A tear before the last segment is damage: no crash makes one, as
  // groups are synced in order (kSync) and a segment is synced when closed
  // (kAsync). With cut_at_damage the log ends at the first damage.
  if (options.cut_at_damage) {
    if (absl::Status cut = log->CutAtFirstDamage(); !cut.ok()) return cut;
    if (absl::Status whole = log->CheckEndMark(options.end_mark); !whole.ok()) return whole;
  }
  log->last_lsn_ = log->FoundLastLsns();
  // With kAsync, what an earlier run wrote may still be in the page cache
  // only: on disk before DurableExtent() says it is.
  for (const Segment& segment : log->segments_) {
    if (options.sync) break;
    if (absl::Status synced = SyncFile(segment.path); !synced.ok()) return synced;
  }
  log->next_number_ = numbers.empty() ? 1 : numbers.back() + 1;
  log->scan_buffer_ = std::vector<uint8_t>();
  return log;
}

absl::Status SegmentLog::Scan(Segment* segment, bool last) {
  if (absl::Status read = ReadFile(segment->path, std::nullopt, &scan_buffer_); !read.ok()) {
    return read;
  }
  WalkEnd end;
  absl::Status status =
      WalkSegment(segment->path, scan_buffer_, &end,
                  [&](uint32_t shard, uint64_t first_lsn, std::string_view value) -> absl::Status {
                    const absl::StatusOr<uint32_t> count = PeekBatchCount(value, shard, first_lsn);
                    // Read as far as it goes; ReadShard() reports the batch's error.
                    if (!count.ok()) return count.status();
                    segment->AddRange(shard, first_lsn, first_lsn + *count - 1);
                    return absl::OkStatus();
                  });
  segment->valid_bytes = end.valid_bytes;
  if (!status.ok()) {
    segment->damage = status;
    return absl::OkStatus();
  }
  segment->damage = end.damage;
  if (end.torn && end.valid_bytes == 0) {
    // Created by a run that crashed before its header was written: it holds
    // nothing (no group is written before the header is).
    if (::unlink(segment->path.c_str()) != 0) return ErrnoStatus("removing " + segment->path);
    return SyncDirectory(directory_);
  }
  if (end.torn && last) {
    segment->torn_tail = true;  // Cut by Open(), once the log passed its checks.
    return absl::OkStatus();
  }
  // A crash tears only the last segment: a tear before it is damage.
  if (end.torn) {
    segment->damage =
        Damage(segment->path, end.valid_bytes, "torn log group before the last segment");
  }
  return absl::OkStatus();
}

std::map<uint32_t, uint64_t> SegmentLog::FoundLastLsns() const {
  std::map<uint32_t, uint64_t> found;
  for (const Segment& segment : segments_) {
    for (const auto& [shard, range] : segment.ranges) {
      uint64_t& last = found[shard];
      last = std::max(last, range.last_lsn);
    }
  }
  return found;
}

absl::Status SegmentLog::CheckEndMark(const Extent& mark) {
  // A damaged log ends where its damage is: ReadShard() reports that, with
  // the file and offset, which says more than a shortfall would.
  if (damaged()) return absl::OkStatus();
  const std::map<uint32_t, uint64_t> found = FoundLastLsns();
  for (const auto& [shard, marked_lsn] : mark.last_lsn) {
    const auto it = found.find(shard);
    const uint64_t last = it == found.end() ? 0 : it->second;
    if (last >= marked_lsn) continue;
    const std::string shortfall =
        absl::StrCat("the log of shard ", shard, " ends at lsn ", last, ", short of lsn ",
                     marked_lsn, ", which was on disk (the log then reached segment ", mark.segment,
                     " at offset ", mark.bytes, ")");
    if (cut_at_damage_) {
      cuts_.push_back(absl::StrCat("accepted: ", shortfall));
      continue;
    }
    return absl::DataLossError(
        absl::StrCat(shortfall, ": log segments in ", directory_,
                     " were cut short or deleted; encore-wal cut ends the log where it is now"));
  }
  return absl::OkStatus();
}

absl::Status SegmentLog::CutTail(const Segment& segment, const char* aside_suffix) const {
  // A write cut short by a crash (or, with cut_at_damage, damage the
  // operator chose to cut): cut it off, durably (or after a power loss it
  // would be back, behind newer segments), so the file ends with its last
  // whole group; new groups go to a new segment. The bytes cut, unless all
  // zeros, are kept beside it first, for a look.
  const int fd = ::open(segment.path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening " + segment.path);
  if (absl::Status kept = KeepTailAside(fd, segment.path, segment.valid_bytes, aside_suffix);
      !kept.ok()) {
    ::close(fd);
    return kept;
  }
  const bool cut =
      ::ftruncate(fd, static_cast<off_t>(segment.valid_bytes)) == 0 && ::fsync(fd) == 0;
  const absl::Status status =
      cut ? absl::OkStatus() : ErrnoStatus("cutting the tail of " + segment.path);
  ::close(fd);
  return status;
}

absl::Status SegmentLog::CutAtFirstDamage() {
  constexpr char kAsideSuffix[] = ".damaged-at-";
  constexpr char kLaterSuffix[] = ".after-damage";
  const auto first = std::find_if(segments_.begin(), segments_.end(),
                                  [&](const Segment& segment) { return !segment.damage.ok(); });
  if (first == segments_.end()) return absl::OkStatus();
  cuts_.push_back(absl::StrCat("cut ", first->path, " at offset ", first->valid_bytes, " (",
                               first->damage.message(), "); the bytes cut are kept as ",
                               first->path, kAsideSuffix, first->valid_bytes));
  if (absl::Status cut = CutTail(*first, kAsideSuffix); !cut.ok()) return cut;
  // What was written after the cut goes aside, kept for a look but never
  // read again: replay ends where the log is whole, as at a torn tail.
  for (auto later = first + 1; later != segments_.end(); ++later) {
    const std::string aside = later->path + kLaterSuffix;
    if (::rename(later->path.c_str(), aside.c_str()) != 0) {
      return ErrnoStatus("moving aside " + later->path);
    }
    cuts_.push_back(absl::StrCat("moved ", later->path, " aside as ", aside));
  }
  segments_.erase(first + 1, segments_.end());
  // Read again what is left of it: a group damaged inside may have given
  // ranges past the cut.
  Segment& kept = segments_.back();
  kept.ranges.clear();
  kept.damage = absl::OkStatus();
  kept.torn_tail = false;
  if (absl::Status scanned = Scan(&kept, true); !scanned.ok()) return scanned;
  if (kept.valid_bytes == 0 && kept.damage.ok()) segments_.pop_back();  // Removed by Scan.
  return SyncDirectory(directory_);
}

absl::Status SegmentLog::StartSegment() {
  if (fd_ >= 0) {
    // With kAsync the segment goes to disk as it is closed, and its
    // directory entry: an OS crash or power loss then cuts at most the
    // segment being written.
    if (!sync_) {
      if (::fdatasync(fd_) != 0) return ErrnoStatus("syncing " + SegmentPath(active_number_));
      if (absl::Status synced = SyncDirectory(directory_); !synced.ok()) return synced;
      std::lock_guard<std::mutex> lock(mutex_);
      durable_ = Extent{active_number_, written_bytes_, last_lsn_};
      durable_all_ = false;
    }
    ::close(fd_);
    fd_ = -1;
  }
  const uint64_t number = next_number_++;
  const std::string path = SegmentPath(number);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("creating log segment " + path);
  uint8_t header[kSegmentHeaderBytes] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  StoreLittle32(kFormatVersion, header + sizeof(kMagic));
  if (!WriteAll(fd, header, sizeof(header))) {
    const absl::Status status = ErrnoStatus("writing log segment " + path);
    ::close(fd);
    return status;
  }
  // Its blocks at once where the file system can (best effort): fewer
  // extents to allocate as it grows, and to free when it goes.
  ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(segment_bytes_max_));
  if (sync_) {
    if (::fdatasync(fd) != 0) {
      const absl::Status status = ErrnoStatus("syncing log segment " + path);
      ::close(fd);
      return status;
    }
    if (absl::Status synced = SyncDirectory(directory_); !synced.ok()) {
      ::close(fd);
      return synced;
    }
  }
  fd_ = fd;
  written_bytes_ = sizeof(header);
  writeback_from_ = 0;
  std::lock_guard<std::mutex> lock(mutex_);
  Segment segment;
  segment.number = number;
  segment.path = path;
  segment.valid_bytes = written_bytes_;
  segments_.push_back(std::move(segment));
  active_number_ = number;
  return absl::OkStatus();
}

absl::Status SegmentLog::Append(std::span<const Batch> batches) {
  if (closed_) return absl::FailedPreconditionError("the log is closed");
  if (fd_ < 0 || written_bytes_ >= segment_bytes_max_) {
    if (absl::Status started = StartSegment(); !started.ok()) return started;
  }
  for (size_t next = 0; next < batches.size();) {
    next = EncodeGroup(batches, next);
    if (!WriteAll(fd_, group_.data(), group_.size())) {
      return ErrnoStatus("writing the log to " + SegmentPath(active_number_));
    }
    written_bytes_ += group_.size();
  }
  if (sync_ && ::fdatasync(fd_) != 0) {
    return ErrnoStatus("syncing the log in " + SegmentPath(active_number_));
  }
  if (!sync_ && written_bytes_ - writeback_from_ >= kWritebackBytes) {
    // Starts writeback without waiting for it (best effort): the fdatasync
    // at the segment's close then finds little left to write.
    ::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                      static_cast<off_t>(written_bytes_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = written_bytes_;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sync_ && durable_all_) {
    // The first append since Open() or Close(): from now on only the closed
    // segments are known to be on disk.
    durable_ = DurableExtentLocked();
    durable_all_ = false;
  }
  Segment& segment = segments_.back();
  segment.valid_bytes = written_bytes_;
  for (const Batch& batch : batches) {
    const uint64_t last_lsn = batch.first_lsn + batch.count - 1;
    segment.AddRange(batch.shard, batch.first_lsn, last_lsn);
    last_lsn_[batch.shard] = last_lsn;
  }
  return absl::OkStatus();
}

size_t SegmentLog::EncodeGroup(std::span<const Batch> batches, size_t first) {
  group_.resize(kGroupHeaderBytes);
  size_t next = first;
  for (; next < batches.size(); ++next) {
    const Batch& batch = batches[next];
    const size_t entry_bytes = kEntryPrefixBytes + kBatchHeaderBytes + batch.records.size();
    ENCORE_PERSISTENCE_CHECK(batch.records.size() <= kBatchBytesMax,
                             "batch of %zu bytes for shard %u", batch.records.size(), batch.shard);
    // A group that would pass the limit ends before this batch (never empty).
    if (next > first && group_.size() + entry_bytes > group_bytes_max_) break;
    const Key key = EncodeKey(kBatchKind, batch.shard, batch.first_lsn);
    const BatchHeader header = EncodeBatchHeader(batch.count, batch.records);
    const size_t at = group_.size();
    group_.resize(at + kEntryPrefixBytes + header.size() + batch.records.size());
    uint8_t* out = group_.data() + at;
    std::memcpy(out, key.data(), key.size());
    StoreLittle32(static_cast<uint32_t>(header.size() + batch.records.size()), out + kKeyBytes);
    std::memcpy(out + kEntryPrefixBytes, header.data(), header.size());
    if (!batch.records.empty()) {
      std::memcpy(out + kEntryPrefixBytes + header.size(), batch.records.data(),
                  batch.records.size());
    }
  }
  StoreLittle32(static_cast<uint32_t>(group_.size() - kGroupHeaderBytes), group_.data());
  StoreLittle32(
      GroupCrc(group_.data(), std::span<const uint8_t>(group_).subspan(kGroupHeaderBytes)),
      group_.data() + 4);
  return next;
}

uint64_t SegmentLog::LastLsn(uint32_t shard) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = last_lsn_.find(shard);
  return it == last_lsn_.end() ? 0 : it->second;
}

SegmentLog::Extent SegmentLog::DurableExtentLocked() const {
  if (!sync_ && !durable_all_) return durable_;
  Extent extent;
  if (!segments_.empty()) {
    extent.segment = segments_.back().number;
    extent.bytes = segments_.back().valid_bytes;
  }
  extent.last_lsn = last_lsn_;
  return extent;
}

SegmentLog::Extent SegmentLog::DurableExtent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return DurableExtentLocked();
}

bool SegmentLog::damaged() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(segments_.begin(), segments_.end(),
                     [](const Segment& segment) { return !segment.damage.ok(); });
}

uint64_t SegmentLog::DurableSegment() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sync_ && !durable_all_) return durable_.segment;
  return segments_.empty() ? 0 : segments_.back().number;
}

uint64_t SegmentLog::DeletedBefore(uint32_t shard) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = deleted_before_.find(shard);
  return it == deleted_before_.end() ? 0 : it->second;
}

absl::Status SegmentLog::ReadShard(uint32_t shard, uint64_t from_lsn, ShardScan* scan) const {
  struct ToRead {
    std::string path;
    uint64_t valid_bytes;
    absl::Status damage;
  };
  // No segment file is removed while this reads: one cut short under it
  // would read as damage.
  std::shared_lock<std::shared_mutex> reading(removal_mutex_);
  std::vector<ToRead> to_read;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Segment& segment : segments_) {
      const auto range = segment.ranges.find(shard);
      const bool wanted = range != segment.ranges.end() && range->second.last_lsn >= from_lsn;
      // A damaged segment may hold anything after its damage: read it.
      if (wanted || !segment.damage.ok()) {
        to_read.push_back(ToRead{segment.path, segment.valid_bytes, segment.damage});
      }
    }
  }
  std::vector<uint8_t> bytes;
  for (const ToRead& segment : to_read) {
    const absl::Status read = ReadFile(segment.path, segment.valid_bytes, &bytes);
    // Gone: DeleteBefore() removed it, so every batch in it is deleted.
    if (absl::IsNotFound(read)) continue;
    if (!read.ok()) return read;
    WalkEnd end;
    absl::Status status =
        WalkSegment(segment.path, bytes, &end,
                    [&](uint32_t batch_shard, uint64_t first_lsn, std::string_view value) {
                      return batch_shard == shard ? scan->Take(first_lsn, value) : absl::OkStatus();
                    });
    if (!status.ok()) return status;
    if (!end.damage.ok()) return end.damage;
    if (end.valid_bytes != segment.valid_bytes) {
      return Damage(segment.path, end.valid_bytes, "log segment changed under the reader");
    }
    if (!segment.damage.ok()) return segment.damage;
  }
  return absl::OkStatus();
}

void SegmentLog::DeleteBefore(uint32_t shard, uint64_t lsn) {
  std::vector<std::string> doomed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t& deleted_before = deleted_before_[shard];
    deleted_before = std::max(deleted_before, lsn);
    const auto deleted = [&](const Segment& segment) {
      if (segment.number == active_number_ || !segment.damage.ok()) return false;
      return std::all_of(segment.ranges.begin(), segment.ranges.end(), [&](const auto& entry) {
        const auto it = deleted_before_.find(entry.first);
        return it != deleted_before_.end() && entry.second.last_lsn < it->second;
      });
    };
    std::erase_if(segments_, [&](const Segment& segment) {
      if (!deleted(segment)) return false;
      doomed.push_back(segment.path);
      return true;
    });
  }
  // Outside mutex_ (the writer goes on); readers wait. A reader that listed
  // one of these before skips it once it is gone (NotFound), which is right,
  // as every batch in it is deleted.
  if (doomed.empty()) return;
  std::unique_lock<std::shared_mutex> removing(removal_mutex_);
  for (const std::string& path : doomed) RemoveFileGradually(path);
}

absl::Status SegmentLog::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  if (fd_ < 0) return absl::OkStatus();
  // Every group was synced as it was written (kSync); with kAsync the
  // segment is synced now, so that a clean stop leaves all of it on disk.
  const bool synced = sync_ || ::fdatasync(fd_) == 0;
  const absl::Status sync_status =
      synced ? absl::OkStatus() : ErrnoStatus("syncing " + SegmentPath(active_number_));
  const int closed = ::close(fd_);
  fd_ = -1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    active_number_ = 0;
    if (synced) durable_all_ = true;
  }
  if (!sync_status.ok()) return sync_status;
  return closed == 0 ? absl::OkStatus() : ErrnoStatus("closing the log");
}

}  // namespace encore::persistence::internal
