// RocksDbJournal: per-shard pending buffers, the group-commit writer thread,
// and durability publication. The database itself is internal/log_store.
#include "encore/rocksdb_journal.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "internal/check.h"
#include "internal/log_store.h"
#include "internal/write_fault.h"

namespace encore {

using persistence::internal::LogStore;
using persistence::internal::SegmentLog;

static_assert(RocksDbJournalOptions::kLogSegmentBytesMin == SegmentLog::kSegmentBytesMin);

namespace {

// One submitted batch inside a shard's pending bytes.
struct PendingBatch {
  uint64_t first_lsn;
  uint32_t count;
  uint32_t size;
};

// What a shard has submitted and the writer has not taken yet.
struct Pending {
  std::vector<uint8_t> bytes;
  std::vector<PendingBatch> batches;

  void Clear() {  // Keeps the capacity: no allocation once warmed up.
    bytes.clear();
    batches.clear();
  }
};

absl::Status ValidateOptions(const RocksDbJournalOptions& options) {
  if (options.shards_max == 0 || options.shards_max > RocksDbJournalOptions::kShardsMaxLimit) {
    return absl::InvalidArgumentError(absl::StrCat("shards_max must be in 1..",
                                                   RocksDbJournalOptions::kShardsMaxLimit, ", got ",
                                                   options.shards_max));
  }
  if (options.durability != Durability::kNone && options.path.empty()) {
    return absl::InvalidArgumentError(
        "path (the data directory) is required unless durability is kNone");
  }
  if (options.log_segment_bytes < RocksDbJournalOptions::kLogSegmentBytesMin) {
    return absl::InvalidArgumentError(absl::StrCat("log_segment_bytes must be at least ",
                                                   RocksDbJournalOptions::kLogSegmentBytesMin,
                                                   ", got ", options.log_segment_bytes));
  }
  if (options.pending_bytes_max < RocksDbJournalOptions::kPendingBytesMin) {
    return absl::InvalidArgumentError(absl::StrCat("pending_bytes_max must be at least ",
                                                   RocksDbJournalOptions::kPendingBytesMin,
                                                   ", got ", options.pending_bytes_max));
  }
  return absl::OkStatus();
}

}  // namespace

class RocksDbJournal::Impl {
 public:
  Impl(const RocksDbJournalOptions& options, std::unique_ptr<LogStore> store)
      : options_(options),
        store_(std::move(store)),
        write_fault_(persistence::internal::CurrentWriteFault()),
        shards_(new ShardState[options.shards_max]),
        taken_(options.shards_max) {}

  ~Impl() { Close().IgnoreError(); }

  absl::Status LoadLastLsns() {
    if (store_ == nullptr) return absl::OkStatus();
    for (uint32_t shard = 0; shard < options_.shards_max; ++shard) {
      const absl::StatusOr<uint64_t> log_lsn = store_->LastLogLsn(shard);
      if (!log_lsn.ok()) return log_lsn.status();
      const absl::StatusOr<uint64_t> snapshot_lsn = store_->LastSnapshotLsn(shard);
      if (!snapshot_lsn.ok()) return snapshot_lsn.status();
      // Everything stored was durable when it was written.
      const uint64_t last = std::max(*log_lsn, *snapshot_lsn);
      shards_[shard].last_submitted_lsn.store(last, std::memory_order_relaxed);
      shards_[shard].durable_lsn.store(last, std::memory_order_release);
    }
    return absl::OkStatus();
  }

  void Start() {
    if (store_ != nullptr)
      writer_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "encore-journal");
        WriterLoop();
      });
  }

  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) {
    ENCORE_PERSISTENCE_CHECK(shard < options_.shards_max, "shard %u of %u", shard,
                             options_.shards_max);
    ENCORE_PERSISTENCE_CHECK(!closing_.load(std::memory_order_acquire),
                             "Submit to shard %u after Close", shard);
    ENCORE_PERSISTENCE_CHECK(count > 0, "empty batch for shard %u", shard);
    ENCORE_PERSISTENCE_CHECK(records.size() <= SegmentLog::kBatchBytesMax,
                             "batch of %zu bytes for shard %u", records.size(), shard);
    ShardState& state = shards_[shard];
    // Only this shard's thread writes last_submitted_lsn: no lock needed.
    const uint64_t last_submitted_lsn = state.last_submitted_lsn.load(std::memory_order_relaxed);
    ENCORE_PERSISTENCE_CHECK(first_lsn == last_submitted_lsn + 1,
                             "LSNs must be contiguous: shard %u submitted lsn %llu after %llu",
                             shard, static_cast<unsigned long long>(first_lsn),
                             static_cast<unsigned long long>(last_submitted_lsn));
    state.last_submitted_lsn.store(first_lsn + count - 1, std::memory_order_relaxed);
    if (store_ == nullptr) {  // kNone: durable at once.
      state.durable_lsn.store(first_lsn + count - 1, std::memory_order_release);
      return;
    }
    if (failed_.load(std::memory_order_acquire)) return;  // Nothing becomes durable any more.
    WaitForRoom();
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      state.pending.bytes.insert(state.pending.bytes.end(), records.begin(), records.end());
      state.pending.batches.push_back(
          PendingBatch{first_lsn, count, static_cast<uint32_t>(records.size())});
      state.has_pending.store(true, std::memory_order_release);
    }
    pending_bytes_.fetch_add(records.size(), std::memory_order_relaxed);
    // Wake the writer only if it sleeps; seq_cst pairs with its idle store
    // and re-check of work_ (one of the two sees the other).
    work_.store(true, std::memory_order_seq_cst);
    if (writer_idle_.load(std::memory_order_seq_cst)) {
      { std::lock_guard<std::mutex> lock(wake_mutex_); }
      wake_cv_.notify_one();
    }
  }

  uint64_t DurableLsn(uint32_t shard) const {
    ENCORE_PERSISTENCE_CHECK(shard < options_.shards_max, "shard %u of %u", shard,
                             options_.shards_max);
    return shards_[shard].durable_lsn.load(std::memory_order_acquire);
  }

  void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) {
    const auto done = [&] {
      return DurableLsn(shard) >= lsn || failed_.load(std::memory_order_acquire) ||
             closed_.load(std::memory_order_acquire);
    };
    // With kNone there is nothing to wait for (as NoopJournal).
    if (store_ == nullptr || done()) return;
    std::unique_lock<std::mutex> lock(durable_mutex_);
    durable_cv_.wait_for(lock, timeout, done);
  }

  absl::Status status() const {
    if (!failed_.load(std::memory_order_acquire)) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(status_mutex_);
    return status_;
  }

  absl::Status Close() {
    std::lock_guard<std::mutex> close_lock(close_mutex_);
    if (closed_.load(std::memory_order_acquire)) return close_status_;
    {
      std::lock_guard<std::mutex> lock(wake_mutex_);
      closing_.store(true, std::memory_order_release);
    }
    wake_cv_.notify_one();
    if (writer_.joinable()) writer_.join();
    close_status_ = status();
    if (store_ != nullptr) {
      const absl::Status store_status = store_->Close();
      if (close_status_.ok()) close_status_ = store_status;
    }
    {
      std::lock_guard<std::mutex> lock(durable_mutex_);
      closed_.store(true, std::memory_order_release);
    }
    durable_cv_.notify_all();
    return close_status_;
  }

  uint64_t LastLsn(uint32_t shard) const {
    ENCORE_PERSISTENCE_CHECK(shard < options_.shards_max, "shard %u of %u", shard,
                             options_.shards_max);
    return shards_[shard].last_submitted_lsn.load(std::memory_order_relaxed);
  }

  // The store for a recovery or snapshot call, or why there is none usable.
  absl::StatusOr<LogStore*> StoreFor(uint32_t shard) const {
    if (shard >= options_.shards_max) {
      return absl::InvalidArgumentError(
          absl::StrCat("shard ", shard, " out of range (shards_max ", options_.shards_max, ")"));
    }
    if (closed_.load(std::memory_order_acquire)) {
      return absl::FailedPreconditionError("the journal is closed");
    }
    return store_.get();  // nullptr with kNone: nothing is stored.
  }

  std::vector<std::string> cuts() const {
    return store_ == nullptr ? std::vector<std::string>() : store_->cuts();
  }

  RocksDbJournalStats stats() const {
    RocksDbJournalStats stats;
    stats.groups_written = groups_written_.load(std::memory_order_relaxed);
    stats.batches_written = batches_written_.load(std::memory_order_relaxed);
    stats.events_written = events_written_.load(std::memory_order_relaxed);
    stats.bytes_written = bytes_written_.load(std::memory_order_relaxed);
    stats.write_ns_total = write_ns_total_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  struct alignas(64) ShardState {
    std::mutex mutex;
    Pending pending;                       // Guarded by mutex.
    std::atomic<bool> has_pending{false};  // Lets the writer skip idle shards.
    // Written by the shard's thread only (and Open); atomic for LastLsn().
    std::atomic<uint64_t> last_submitted_lsn{0};
    std::atomic<uint64_t> durable_lsn{0};
  };

  void WaitForRoom() {
    if (pending_bytes_.load(std::memory_order_relaxed) < options_.pending_bytes_max) return;
    std::unique_lock<std::mutex> lock(durable_mutex_);
    durable_cv_.wait(lock, [&] {
      return pending_bytes_.load(std::memory_order_relaxed) < options_.pending_bytes_max ||
             failed_.load(std::memory_order_acquire);
    });
  }

  void WriterLoop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(wake_mutex_);
        writer_idle_.store(true, std::memory_order_seq_cst);
        wake_cv_.wait(lock, [&] {
          return work_.load(std::memory_order_seq_cst) || closing_.load(std::memory_order_acquire);
        });
        writer_idle_.store(false, std::memory_order_relaxed);
      }
      // Close() comes after the last Submit(): once closing is seen, one
      // more round takes everything.
      const bool closing = closing_.load(std::memory_order_acquire);
      work_.store(false, std::memory_order_seq_cst);
      WriteGroup();
      if (closing) return;
    }
  }

  // Takes every shard's pending batches, writes them as one group, publishes.
  void WriteGroup() {
    group_.clear();
    size_t group_bytes = 0;
    uint64_t group_batches = 0;
    uint64_t group_events = 0;
    for (uint32_t shard = 0; shard < options_.shards_max; ++shard) {
      ShardState& state = shards_[shard];
      if (!state.has_pending.load(std::memory_order_acquire)) continue;
      {
        std::lock_guard<std::mutex> lock(state.mutex);
        std::swap(state.pending, taken_[shard]);
        state.has_pending.store(false, std::memory_order_relaxed);
      }
      const Pending& taken = taken_[shard];
      size_t offset = 0;
      for (const PendingBatch& batch : taken.batches) {
        group_.push_back(
            SegmentLog::Batch{shard, batch.first_lsn, batch.count,
                              std::span<const uint8_t>(taken.bytes).subspan(offset, batch.size)});
        offset += batch.size;
        group_events += batch.count;
      }
      group_bytes += taken.bytes.size();
      group_batches += taken.batches.size();
    }
    if (group_batches == 0) return;

    absl::Status status = write_fault_ ? write_fault_() : absl::OkStatus();
    const auto start = std::chrono::steady_clock::now();
    if (status.ok() && !failed_.load(std::memory_order_acquire))
      status = store_->AppendGroup(group_);
    const auto write_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();

    if (status.ok() && !failed_.load(std::memory_order_acquire)) {
      for (uint32_t shard = 0; shard < options_.shards_max; ++shard) {
        Pending& taken = taken_[shard];
        if (taken.batches.empty()) continue;
        const PendingBatch& last = taken.batches.back();
        shards_[shard].durable_lsn.store(last.first_lsn + last.count - 1,
                                         std::memory_order_release);
      }
      groups_written_.fetch_add(1, std::memory_order_relaxed);
      batches_written_.fetch_add(group_batches, std::memory_order_relaxed);
      events_written_.fetch_add(group_events, std::memory_order_relaxed);
      bytes_written_.fetch_add(group_bytes, std::memory_order_relaxed);
      write_ns_total_.fetch_add(static_cast<uint64_t>(write_ns), std::memory_order_relaxed);
    } else if (!status.ok()) {
      Fail(status);
    }
    for (Pending& taken : taken_) taken.Clear();
    pending_bytes_.fetch_sub(group_bytes, std::memory_order_relaxed);
    // Wake WaitDurable() and Submit()s waiting for room. Taking the mutex
    // after the stores above means no waiter misses them.
    { std::lock_guard<std::mutex> lock(durable_mutex_); }
    durable_cv_.notify_all();
  }

  // The first failure is kept; nothing is retried.
  void Fail(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(status_mutex_);
    if (failed_.load(std::memory_order_relaxed)) return;
    status_ = status;
    failed_.store(true, std::memory_order_release);
  }

  const RocksDbJournalOptions options_;
  std::unique_ptr<LogStore> store_;                      // nullptr with kNone.
  const persistence::internal::WriteFault write_fault_;  // Before each group write; may be empty.
  std::unique_ptr<ShardState[]> shards_;

  // Writer thread only.
  std::vector<Pending> taken_;
  std::vector<SegmentLog::Batch> group_;
  std::thread writer_;

  std::atomic<size_t> pending_bytes_{0};
  // Wakes the writer: work_ is set by Submit, writer_idle_ while it sleeps.
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  std::atomic<bool> work_{false};
  std::atomic<bool> writer_idle_{false};
  std::atomic<bool> closing_{false};

  // Signalled after every group (and at failure and close).
  std::mutex durable_mutex_;
  std::condition_variable durable_cv_;

  mutable std::mutex status_mutex_;
  absl::Status status_;  // Guarded by status_mutex_.
  std::atomic<bool> failed_{false};

  std::mutex close_mutex_;
  absl::Status close_status_;  // Guarded by close_mutex_.
  std::atomic<bool> closed_{false};

  std::atomic<uint64_t> groups_written_{0};
  std::atomic<uint64_t> batches_written_{0};
  std::atomic<uint64_t> events_written_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> write_ns_total_{0};
};

absl::StatusOr<std::unique_ptr<RocksDbJournal>> RocksDbJournal::Open(
    const RocksDbJournalOptions& options) {
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  std::unique_ptr<LogStore> store;
  if (options.durability != Durability::kNone) {
    std::error_code error;
    std::filesystem::create_directories(options.path, error);
    if (error) {
      return absl::UnavailableError(
          absl::StrCat("cannot create data directory ", options.path, ": ", error.message()));
    }
    LogStore::Options store_options;
    store_options.sync = options.durability == Durability::kSync;
    store_options.snapshot_write_bytes_per_s = options.snapshot_write_bytes_per_s;
    store_options.log_segment_bytes = options.log_segment_bytes;
    store_options.cut_log_at_damage = options.cut_log_at_damage;
    absl::StatusOr<std::unique_ptr<LogStore>> opened = LogStore::Open(options.path, store_options);
    if (!opened.ok()) return opened.status();
    store = *std::move(opened);
  }
  auto impl = std::make_unique<Impl>(options, std::move(store));
  if (absl::Status loaded = impl->LoadLastLsns(); !loaded.ok()) return loaded;
  impl->Start();
  return std::unique_ptr<RocksDbJournal>(new RocksDbJournal(std::move(impl)));
}

RocksDbJournal::RocksDbJournal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbJournal::~RocksDbJournal() = default;  // Impl's destructor closes.

void RocksDbJournal::Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
                            std::span<const uint8_t> records) {
  impl_->Submit(shard, first_lsn, count, records);
}
uint64_t RocksDbJournal::DurableLsn(uint32_t shard) const { return impl_->DurableLsn(shard); }
void RocksDbJournal::WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) {
  impl_->WaitDurable(shard, lsn, timeout);
}
absl::Status RocksDbJournal::status() const { return impl_->status(); }
absl::Status RocksDbJournal::Close() { return impl_->Close(); }
uint64_t RocksDbJournal::LastLsn(uint32_t shard) const { return impl_->LastLsn(shard); }
RocksDbJournalStats RocksDbJournal::stats() const { return impl_->stats(); }
std::vector<std::string> RocksDbJournal::cuts() const { return impl_->cuts(); }

absl::Status RocksDbJournal::ReadShard(uint32_t shard, uint64_t from_lsn, const BatchReader& fn) {
  absl::StatusOr<LogStore*> store = impl_->StoreFor(shard);
  if (!store.ok()) return store.status();
  return *store == nullptr ? absl::OkStatus() : (*store)->ReadShard(shard, from_lsn, fn);
}

absl::Status RocksDbJournal::DeleteBefore(uint32_t shard, uint64_t lsn) {
  absl::StatusOr<LogStore*> store = impl_->StoreFor(shard);
  if (!store.ok()) return store.status();
  return *store == nullptr ? absl::OkStatus() : (*store)->DeleteBefore(shard, lsn);
}

absl::Status RocksDbJournal::PutSnapshot(uint32_t shard, uint64_t lsn,
                                         std::span<const uint8_t> bytes) {
  absl::StatusOr<LogStore*> store = impl_->StoreFor(shard);
  if (!store.ok()) return store.status();
  if (*store == nullptr) return absl::UnimplementedError("durability none keeps no snapshots");
  return (*store)->PutSnapshot(shard, lsn, bytes);
}

absl::StatusOr<std::optional<std::string>> RocksDbJournal::GetMetadata(const std::string& name) {
  absl::StatusOr<LogStore*> store = impl_->StoreFor(0);
  if (!store.ok()) return store.status();
  if (*store == nullptr) return std::optional<std::string>();
  return (*store)->GetMetadata(name);
}

absl::Status RocksDbJournal::PutMetadata(const std::string& name, const std::string& value) {
  absl::StatusOr<LogStore*> store = impl_->StoreFor(0);
  if (!store.ok()) return store.status();
  if (*store == nullptr) return absl::UnimplementedError("kNone keeps no metadata");
  return (*store)->PutMetadata(name, value);
}

absl::StatusOr<std::optional<Journal::StoredSnapshot>> RocksDbJournal::LatestSnapshot(
    uint32_t shard) {
  absl::StatusOr<LogStore*> store = impl_->StoreFor(shard);
  if (!store.ok()) return store.status();
  if (*store == nullptr) return std::optional<StoredSnapshot>();
  return (*store)->LatestSnapshot(shard);
}

}  // namespace encore
