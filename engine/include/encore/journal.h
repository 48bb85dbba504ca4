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
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "absl/status/status.h"

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
  virtual absl::Status status() const = 0;
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
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  struct alignas(64) Counter {
    std::atomic<uint64_t> lsn{0};
  };
  std::unique_ptr<Counter[]> durable_;
};

// Keeps every record in memory, durable at once: for tests that replay what
// the engine wrote.
class InMemoryJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override;
  uint64_t DurableLsn(uint32_t shard) const override;
  void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) override;
  absl::Status status() const override { return absl::OkStatus(); }

  // A copy of the records of `shard` so far, in LSN order.
  std::vector<uint8_t> Records(uint32_t shard) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::vector<uint8_t>> records_;
  std::vector<uint64_t> durable_;
};

}  // namespace encore

#endif  // ENCORE_JOURNAL_H_
