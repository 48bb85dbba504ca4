// The two journals that keep nothing on disk: NoopJournal and InMemoryJournal.
#include "encore/journal.h"

#include "internal/check.h"

namespace encore {

NoopJournal::NoopJournal(uint32_t shards_max) : durable_(new Counter[shards_max]) {}

void NoopJournal::Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
                         std::span<const uint8_t> /*records*/) {
  durable_[shard].lsn.store(first_lsn + count - 1, std::memory_order_release);
}

uint64_t NoopJournal::DurableLsn(uint32_t shard) const {
  return durable_[shard].lsn.load(std::memory_order_acquire);
}

void NoopJournal::WaitDurable(uint32_t /*shard*/, uint64_t /*lsn*/,
                              std::chrono::milliseconds /*timeout*/) {}

void InMemoryJournal::Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
                             std::span<const uint8_t> records) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (records_.size() <= shard) {
    records_.resize(shard + 1);
    durable_.resize(shard + 1, 0);
  }
  ENCORE_CHECK(first_lsn == durable_[shard] + 1);  // LSNs are contiguous.
  records_[shard].insert(records_[shard].end(), records.begin(), records.end());
  durable_[shard] = first_lsn + count - 1;
}

uint64_t InMemoryJournal::DurableLsn(uint32_t shard) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shard < durable_.size() ? durable_[shard] : 0;
}

void InMemoryJournal::WaitDurable(uint32_t /*shard*/, uint64_t /*lsn*/,
                                  std::chrono::milliseconds /*timeout*/) {}

std::vector<uint8_t> InMemoryJournal::Records(uint32_t shard) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shard < records_.size() ? records_[shard] : std::vector<uint8_t>();
}

}  // namespace encore
