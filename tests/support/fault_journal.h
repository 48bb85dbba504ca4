// FaultJournal: a Journal for deterministic simulation, whose durability,
// failures and crashes the test decides.
//
// It models one append-only log shared by every shard (as the RocksDB journal
// groups all shards' batches into one WAL):
//   - Submit appends a write: written, not yet durable.
//   - Sync(n) makes the oldest n written writes durable (a group commit);
//     WaitDurable syncs everything written, as a real journal eventually
//     would (the shard's snapshot path waits on it in a loop).
//   - FailNextWrite makes the next Submit fail: status() turns into an error
//     and nothing more becomes durable, as after an fsync error.
//   - Crash returns what a crash leaves on disk: every durable write, then a
//     random prefix of the written ones, the last of them possibly torn
//     (cut short). Snapshots and metadata are stored durably at once.
//   - Opening a FaultJournal on that storage checks each write's checksum in
//     log order and truncates the log at the first torn write, like RocksDB's
//     point-in-time WAL recovery; then every write left counts as durable.
//
// Thread safety: none. Use it with a Drive::kManual engine, on one thread.
#ifndef ENCORE_TESTS_SUPPORT_FAULT_JOURNAL_H_
#define ENCORE_TESTS_SUPPORT_FAULT_JOURNAL_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "encore/journal.h"

namespace encore::testing {

// What is on disk: what survives a crash.
struct FaultStorage {
  struct Write {
    uint32_t shard = 0;
    uint64_t first_lsn = 0;
    uint32_t count = 0;
    // Of (shard, first_lsn, count, records) as written; a torn write no
    // longer matches it.
    uint64_t checksum = 0;
    std::vector<uint8_t> records;
  };
  std::vector<Write> log;  // In write order.
  std::map<uint32_t, Journal::StoredSnapshot> snapshots;
  std::map<std::string, std::string> metadata;
};

class FaultJournal final : public Journal {
 public:
  // What happened to the writes, for a test's figures.
  struct Counters {
    uint64_t writes = 0;
    uint64_t syncs = 0;
    uint64_t failed_writes = 0;
    uint64_t snapshots = 0;
  };
  // What a crash did (Crash) and what opening found (the constructor).
  struct CrashFigures {
    uint64_t writes_lost = 0;      // Written, not durable, not on disk.
    uint64_t writes_survived = 0;  // Written, not durable, but on disk.
    bool torn = false;             // The last surviving write was cut short.
  };

  // Opens `storage` (empty: a new journal). A torn write and everything
  // after it is dropped; torn_writes_dropped() says whether one was.
  explicit FaultJournal(FaultStorage storage = {}) : storage_(std::move(storage)) {
    for (size_t i = 0; i < storage_.log.size(); ++i) {
      if (Checksum(storage_.log[i]) != storage_.log[i].checksum) {
        torn_writes_dropped_ = storage_.log.size() - i;
        storage_.log.resize(i);
        break;
      }
    }
    durable_writes_ = storage_.log.size();
    for (const auto& [shard, snapshot] : storage_.snapshots)
      Raise(&durable_lsn_, shard, snapshot.first);
    for (const FaultStorage::Write& write : storage_.log) {
      Raise(&durable_lsn_, write.shard, write.first_lsn + write.count - 1);
    }
    written_lsn_ = durable_lsn_;
  }

  // --- Journal.
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override {
    // The engine's contract: LSNs of a shard are contiguous from 1.
    if (first_lsn != Get(written_lsn_, shard) + 1) {
      contract_broken_ = absl::StrCat("shard ", shard, " submitted lsn ", first_lsn, " after ",
                                      Get(written_lsn_, shard));
    }
    Raise(&written_lsn_, shard, first_lsn + count - 1);
    if (!status_.ok()) return;  // A failed journal writes nothing more.
    FaultStorage::Write write{shard, first_lsn, count, 0, {records.begin(), records.end()}};
    write.checksum = Checksum(write);
    storage_.log.push_back(std::move(write));
    ++counters_.writes;
    if (fail_next_write_) {
      // The write may still reach the disk, in part: it stays written (a
      // crash may keep it) but can never become durable.
      fail_next_write_ = false;
      ++counters_.failed_writes;
      status_ = absl::UnavailableError(
          absl::StrCat("injected write failure at shard ", shard, " lsn ", first_lsn));
    }
  }

  uint64_t DurableLsn(uint32_t shard) const override { return Get(durable_lsn_, shard); }

  void WaitDurable(uint32_t /*shard*/, uint64_t /*lsn*/,
                   std::chrono::milliseconds /*timeout*/) override {
    Sync(storage_.log.size());
  }

  absl::Status status() const override { return status_; }

  absl::StatusOr<std::optional<StoredSnapshot>> LatestSnapshot(uint32_t shard) override {
    auto it = storage_.snapshots.find(shard);
    if (it == storage_.snapshots.end()) return std::optional<StoredSnapshot>();
    return std::optional<StoredSnapshot>(it->second);
  }

  absl::Status ReadShard(uint32_t shard, uint64_t from_lsn, const BatchReader& fn) override {
    for (const FaultStorage::Write& write : storage_.log) {
      if (write.shard != shard || write.first_lsn + write.count <= from_lsn) continue;
      absl::Status status = fn(write.first_lsn, write.records, write.count);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status PutSnapshot(uint32_t shard, uint64_t lsn, std::span<const uint8_t> bytes) override {
    if (!status_.ok()) return status_;
    if (lsn > DurableLsn(shard)) {
      contract_broken_ = absl::StrCat("shard ", shard, " snapshot at lsn ", lsn,
                                      " ahead of the durable lsn ", DurableLsn(shard));
    }
    storage_.snapshots[shard] = StoredSnapshot{lsn, {bytes.begin(), bytes.end()}};
    ++counters_.snapshots;
    return absl::OkStatus();
  }

  absl::Status DeleteBefore(uint32_t shard, uint64_t lsn) override {
    size_t kept = 0;
    size_t durable_kept = 0;
    for (size_t i = 0; i < storage_.log.size(); ++i) {
      FaultStorage::Write& write = storage_.log[i];
      if (write.shard == shard && write.first_lsn + write.count <= lsn) {
        if (i >= durable_writes_) contract_broken_ = "the log was dropped past the durable point";
        continue;
      }
      if (i < durable_writes_) ++durable_kept;
      if (kept != i) storage_.log[kept] = std::move(write);
      ++kept;
    }
    storage_.log.resize(kept);
    durable_writes_ = durable_kept;
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<std::string>> GetMetadata(const std::string& name) override {
    auto it = storage_.metadata.find(name);
    if (it == storage_.metadata.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  absl::Status PutMetadata(const std::string& name, const std::string& value) override {
    storage_.metadata[name] = value;
    return absl::OkStatus();
  }

  // --- Faults, decided by the test.

  // Makes the oldest `writes` written-but-not-durable writes durable (all of
  // them when there are fewer). Nothing once the journal has failed.
  void Sync(size_t writes) {
    if (!status_.ok()) return;
    const size_t target = std::min(storage_.log.size(), durable_writes_ + writes);
    if (target == durable_writes_) return;
    for (; durable_writes_ < target; ++durable_writes_) {
      const FaultStorage::Write& write = storage_.log[durable_writes_];
      Raise(&durable_lsn_, write.shard, write.first_lsn + write.count - 1);
    }
    ++counters_.syncs;
  }
  void SyncAll() { Sync(storage_.log.size()); }
  size_t unsynced_writes() const { return storage_.log.size() - durable_writes_; }

  void FailNextWrite() { fail_next_write_ = true; }

  // What a crash now leaves on disk: the durable writes, then a random
  // prefix of the others, the last of which may be torn. The journal itself
  // then fails, so an engine still using it acknowledges nothing more.
  template <typename Random>
  FaultStorage Crash(Random& random, CrashFigures* figures) {
    FaultStorage left = storage_;
    const size_t unsynced = unsynced_writes();
    const size_t kept = std::uniform_int_distribution<size_t>(0, unsynced)(random);
    left.log.resize(durable_writes_ + kept);
    *figures = CrashFigures{unsynced - kept, kept, false};
    if (kept > 0 && std::uniform_int_distribution<int>(0, 1)(random) == 1) {
      std::vector<uint8_t>& records = left.log.back().records;
      records.resize(std::uniform_int_distribution<size_t>(0, records.size() - 1)(random));
      figures->torn = true;
    }
    status_ = absl::UnavailableError("crashed");
    return left;
  }

  const Counters& counters() const { return counters_; }
  uint64_t torn_writes_dropped() const { return torn_writes_dropped_; }
  // Empty, or how the engine broke the Journal contract.
  const std::string& contract_broken() const { return contract_broken_; }

 private:
  static uint64_t Checksum(const FaultStorage::Write& write) {
    // FNV-1a: enough to tell a torn write from a whole one.
    uint64_t hash = 14695981039346656037ull;
    auto add = [&hash](uint64_t value) {
      for (int i = 0; i < 8; ++i) {
        hash = (hash ^ ((value >> (8 * i)) & 0xff)) * 1099511628211ull;
      }
    };
    add(write.shard);
    add(write.first_lsn);
    add(write.count);
    add(write.records.size());
    for (uint8_t byte : write.records) hash = (hash ^ byte) * 1099511628211ull;
    return hash;
  }
  static uint64_t Get(const std::map<uint32_t, uint64_t>& lsns, uint32_t shard) {
    auto it = lsns.find(shard);
    return it == lsns.end() ? 0 : it->second;
  }
  static void Raise(std::map<uint32_t, uint64_t>* lsns, uint32_t shard, uint64_t lsn) {
    uint64_t& stored = (*lsns)[shard];
    stored = std::max(stored, lsn);
  }

  FaultStorage storage_;
  size_t durable_writes_ = 0;  // storage_.log[0 .. durable_writes_) is durable.
  std::map<uint32_t, uint64_t> durable_lsn_;
  std::map<uint32_t, uint64_t> written_lsn_;
  absl::Status status_;
  bool fail_next_write_ = false;
  uint64_t torn_writes_dropped_ = 0;
  Counters counters_;
  std::string contract_broken_;
};

}  // namespace encore::testing

#endif  // ENCORE_TESTS_SUPPORT_FAULT_JOURNAL_H_
