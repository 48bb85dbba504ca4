// InMemoryJournal: batches, snapshots and metadata under one mutex.
#include "support/in_memory_journal.h"

#include <utility>

#include "internal/check.h"

namespace encore::testing {

InMemoryJournal::Shard& InMemoryJournal::ShardLocked(uint32_t shard) {
  if (shards_.size() <= shard) shards_.resize(shard + 1);
  return shards_[shard];
}

void InMemoryJournal::Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
                             std::span<const uint8_t> records) {
  std::lock_guard<std::mutex> lock(mutex_);
  Shard& stored = ShardLocked(shard);
  ENCORE_CHECK(first_lsn == stored.durable + 1);  // LSNs are contiguous.
  stored.batches.push_back(Batch{first_lsn, count, {records.begin(), records.end()}});
  stored.durable = first_lsn + count - 1;
}

uint64_t InMemoryJournal::DurableLsn(uint32_t shard) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shard < shards_.size() ? shards_[shard].durable : 0;
}

void InMemoryJournal::WaitDurable(uint32_t /*shard*/, uint64_t /*lsn*/,
                                  std::chrono::milliseconds /*timeout*/) {}

absl::StatusOr<std::optional<Journal::StoredSnapshot>> InMemoryJournal::LatestSnapshot(
    uint32_t shard) {
  std::lock_guard<std::mutex> lock(mutex_);
  return ShardLocked(shard).snapshot;
}

absl::Status InMemoryJournal::ReadShard(uint32_t shard, uint64_t from_lsn, const BatchReader& fn) {
  std::vector<Batch> batches;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batches = ShardLocked(shard).batches;
  }
  for (const Batch& batch : batches) {
    if (batch.first_lsn + batch.count <= from_lsn) continue;
    absl::Status status = fn(batch.first_lsn, batch.records, batch.count);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status InMemoryJournal::PutSnapshot(uint32_t shard, uint64_t lsn,
                                          std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  Shard& stored = ShardLocked(shard);
  stored.snapshot = StoredSnapshot{lsn, {bytes.begin(), bytes.end()}};
  // Batches before a snapshot stay until DeleteBefore, as in a real journal.
  if (stored.durable < lsn) stored.durable = lsn;
  return absl::OkStatus();
}

absl::Status InMemoryJournal::DeleteBefore(uint32_t shard, uint64_t lsn) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& batches = ShardLocked(shard).batches;
  std::erase_if(batches,
                [lsn](const Batch& batch) { return batch.first_lsn + batch.count <= lsn; });
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> InMemoryJournal::GetMetadata(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = metadata_.find(name);
  if (it == metadata_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::Status InMemoryJournal::PutMetadata(const std::string& name, const std::string& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  metadata_[name] = value;
  return absl::OkStatus();
}

std::vector<uint8_t> InMemoryJournal::Records(uint32_t shard) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<uint8_t> records;
  if (shard >= shards_.size()) return records;
  for (const Batch& batch : shards_[shard].batches) {
    records.insert(records.end(), batch.records.begin(), batch.records.end());
  }
  return records;
}

std::unique_ptr<InMemoryJournal> InMemoryJournal::Clone() const {
  auto copy = std::make_unique<InMemoryJournal>();
  std::lock_guard<std::mutex> lock(mutex_);
  copy->shards_ = shards_;
  copy->metadata_ = metadata_;
  return copy;
}

}  // namespace encore::testing
