// NoopJournal: keeps nothing, every event durable at once.
#include "encore/journal.h"

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

}  // namespace encore
