// Journal: where a shard's events go to become durable.
//
// Each shard numbers its events with a log sequence number (LSN) from 1 and
// hands them over in batches, in order. The runtime releases a reply (or a
// message to another shard) only when DurableLsn() of its shard has reached
// the last LSN assigned before the reply was made: a reply is never ahead of
// the log.
//
// Thread safety: Submit() is called only by the shard's own thread, one
// thread per shard; DurableLsn(), WaitDurable() and status() from any thread.
#ifndef ENCORE_JOURNAL_H_
#define ENCORE_JOURNAL_H_

#include <atomic>
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

namespace encore {

class Journal {
 public:
  virtual ~Journal() = default;

  // Hands over events first_lsn .. first_lsn + count - 1 of `shard`, encoded
  // as EventBuffer records. The journal copies what it keeps. Must not block
  // for long: durability is reported through DurableLsn().
  virtual void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
                      std::span<const uint8_t> records) = 0;

  // Every event of `shard` up to this LSN is durable (0: none yet).
  virtual uint64_t DurableLsn(uint32_t shard) const = 0;

  // Blocks until DurableLsn(shard) >= lsn, the journal has failed, or
  // `timeout` has passed (the shard then looks after its other work).
  virtual void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) = 0;

  // OK, or why the journal stopped: then nothing more becomes durable.
  [[nodiscard]] virtual absl::Status status() const = 0;

  // --- Recovery and snapshots. Engine::Open calls the readers before any
  // shard thread starts. A shard's writers (PutSnapshot, then DeleteBefore)
  // run on a snapshot thread of that shard, one snapshot at a time per shard,
  // while the shard thread goes on calling Submit: they must be safe to call
  // alongside Submit, DurableLsn and other shards' writers. A journal that
  // keeps nothing has nothing to read back (the defaults).

  // A shard's newest snapshot: the LSN it covers and its bytes.
  using StoredSnapshot = std::pair<uint64_t, std::vector<uint8_t>>;
  [[nodiscard]] virtual absl::StatusOr<std::optional<StoredSnapshot>> LatestSnapshot(
      uint32_t /*shard*/) {
    return std::optional<StoredSnapshot>();
  }

  // Calls fn(first_lsn, records, count) for each stored batch of `shard`
  // holding LSNs >= from_lsn, in LSN order; stops at fn's first error.
  using BatchReader = std::function<absl::Status(uint64_t first_lsn,
                                                 std::span<const uint8_t> records, uint32_t count)>;
  [[nodiscard]] virtual absl::Status ReadShard(uint32_t /*shard*/, uint64_t /*from_lsn*/,
                                               const BatchReader& /*fn*/) {
    return absl::OkStatus();
  }

  // Stores, durably, a snapshot of `shard` covering LSNs up to `lsn`.
  [[nodiscard]] virtual absl::Status PutSnapshot(uint32_t /*shard*/, uint64_t /*lsn*/,
                                                 std::span<const uint8_t> /*bytes*/) {
    return absl::UnimplementedError("this journal keeps no snapshots");
  }

  // Drops the log of `shard` before `lsn` (covered by a snapshot).
  [[nodiscard]] virtual absl::Status DeleteBefore(uint32_t /*shard*/, uint64_t /*lsn*/) {
    return absl::OkStatus();
  }

  // Small named values kept with the data, durably (the engine keeps its
  // queue-token key here, so tokens stay valid across restarts). nullopt when
  // unset; a journal that keeps nothing keeps no metadata either.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> GetMetadata(
      const std::string& /*name*/) {
    return std::optional<std::string>();
  }
  [[nodiscard]] virtual absl::Status PutMetadata(const std::string& /*name*/,
                                                 const std::string& /*value*/) {
    return absl::UnimplementedError("this journal keeps no metadata");
  }
};

// Keeps nothing: every event is "durable" at once. For pure in-memory use and
// benchmarks of the engine without I/O.
class NoopJournal final : public Journal {
 public:
  explicit NoopJournal(uint32_t shards_max = 64);
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override;
  uint64_t DurableLsn(uint32_t shard) const override;
  void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) override;
  [[nodiscard]] absl::Status status() const override { return absl::OkStatus(); }

 private:
  struct alignas(64) Counter {
    std::atomic<uint64_t> lsn{0};
  };
  std::unique_ptr<Counter[]> durable_;
};

}  // namespace encore

#endif  // ENCORE_JOURNAL_H_
