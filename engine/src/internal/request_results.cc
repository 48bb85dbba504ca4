#include "internal/request_results.h"

#include <cstring>

#include "internal/check.h"
#include "internal/state_hasher.h"

namespace encore::internal {

RequestResults::RequestResults(uint32_t capacity) : capacity_(capacity) {
  ENCORE_CHECK(capacity >= 1);
  Rehash(kInitialBuckets);
}

uint64_t RequestResults::Probe(UserId user, RequestKey key, uint32_t hash) const {
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Bucket& bucket = index_[i];
    if (bucket.slot_plus_one == 0) return i;
    if (bucket.hash == hash) {
      const RequestRecorded& record = ring_[bucket.slot_plus_one - 1];
      if (record.user == user && record.key == key) return i;
    }
  }
}

const RequestRecorded* RequestResults::Find(UserId user, RequestKey key) const {
  const Bucket& bucket = index_[Probe(user, key, static_cast<uint32_t>(Hash(user, key)))];
  return bucket.slot_plus_one == 0 ? nullptr : &ring_[bucket.slot_plus_one - 1];
}

void RequestResults::Insert(uint32_t hash, uint32_t slot) {
  uint64_t i = hash & mask_;
  while (index_[i].slot_plus_one != 0) i = (i + 1) & mask_;
  index_[i] = Bucket{slot + 1, hash};
}

void RequestResults::Erase(uint32_t hash, uint32_t slot) {
  uint64_t hole = hash & mask_;
  while (index_[hole].slot_plus_one != slot + 1) {
    ENCORE_CHECK(index_[hole].slot_plus_one != 0);
    hole = (hole + 1) & mask_;
  }
  // Backward shift: a later bucket of the run moves into the hole unless its
  // home lies cyclically in (hole, its place], where the hole cannot serve it.
  for (uint64_t next = (hole + 1) & mask_; index_[next].slot_plus_one != 0;
       next = (next + 1) & mask_) {
    const uint64_t home = index_[next].hash & mask_;
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (stays) continue;
    index_[hole] = index_[next];
    hole = next;
  }
  index_[hole] = Bucket{};
}

void RequestResults::Rehash(uint64_t buckets) {
  std::vector<Bucket> old = std::move(index_);
  index_.assign(buckets, Bucket{});
  mask_ = buckets - 1;
  for (const Bucket& bucket : old) {
    if (bucket.slot_plus_one != 0) Insert(bucket.hash, bucket.slot_plus_one - 1);
  }
}

bool RequestResults::Record(const RequestRecorded& record) {
  const uint32_t hash = static_cast<uint32_t>(Hash(record.user, record.key));
  if (index_[Probe(record.user, record.key, hash)].slot_plus_one != 0) return false;
  uint32_t slot;
  if (ring_.size() < capacity_) {
    slot = static_cast<uint32_t>(ring_.size());
    ring_.push_back(record);
    // At most half full, so probe runs stay short.
    if (ring_.size() * 2 > index_.size()) Rehash(index_.size() * 2);
  } else {
    slot = oldest_;
    const RequestRecorded& forgotten = ring_[slot];
    Erase(static_cast<uint32_t>(Hash(forgotten.user, forgotten.key)), slot);
    ring_[slot] = record;
    oldest_ = (oldest_ + 1) % capacity_;
    // The next Record forgets this one: start loading its bucket now.
    const RequestRecorded& next = ring_[oldest_];
    __builtin_prefetch(&index_[Hash(next.user, next.key) & mask_]);
  }
  Insert(hash, slot);
  return true;
}

void RequestResults::AddToHash(StateHasher* hasher) const {
  // The ring in age order decides what is forgotten next: it is state.
  for (size_t i = 0; i < ring_.size(); ++i) {
    const RequestRecorded& record = ring_[(oldest_ + i) % ring_.size()];
    hasher->Add(record.user);
    hasher->Add(record.key);
    hasher->Add(record.fingerprint);
    uint64_t words[sizeof(Reply) / 8];
    static_assert(sizeof(Reply) % 8 == 0);
    std::memcpy(words, &record.reply, sizeof(Reply));
    for (uint64_t word : words) hasher->Add(word);
  }
}

}  // namespace encore::internal
