#include "internal/request_results.h"

#include <cstring>

#include "internal/check.h"
#include "internal/state_hasher.h"

namespace encore::internal {
namespace {

constexpr size_t kHeadMaskByte = 5;
constexpr size_t kHeadSpilledByte = 7;

}  // namespace

RequestResults::RequestResults(uint32_t capacity) : capacity_(capacity) {
  ENCORE_CHECK(capacity >= 1);
  Rehash(kInitialBuckets);
}

uint64_t RequestResults::Probe(UserId user, RequestKey key, uint32_t hash) const {
  for (uint64_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Bucket& bucket = index_[i];
    if (bucket.slot_plus_one == 0) return i;
    if (bucket.hash == hash) {
      const Stored& record = ring_[bucket.slot_plus_one - 1];
      if (record.user == user && record.key == key) return i;
    }
  }
}

std::optional<RequestRecorded> RequestResults::Find(UserId user, RequestKey key) const {
  const Bucket& bucket = index_[Probe(user, key, static_cast<uint32_t>(Hash(user, key)))];
  if (bucket.slot_plus_one == 0) return std::nullopt;
  return Get(bucket.slot_plus_one - 1);
}

void RequestResults::Put(uint32_t slot, const RequestRecorded& record) {
  static const Reply kDefault{};
  uint64_t words[kReplyWords];
  uint64_t defaults[kReplyWords];
  std::memcpy(words, &record.reply, sizeof(Reply));
  std::memcpy(defaults, &kDefault, sizeof(Reply));
  uint8_t head[8];
  std::memcpy(head, &words[0], sizeof(head));
  Stored stored{record.user, record.key, record.fingerprint, 0, {}};
  bool spill =
      head[kHeadMaskByte] != 0 || head[kHeadMaskByte + 1] != 0 || head[kHeadSpilledByte] != 0;
  uint16_t mask = 0;
  size_t kept = 0;
  for (size_t i = 1; i < kReplyWords && !spill; ++i) {
    if (words[i] == defaults[i]) continue;
    if (kept == kKeptWordsMax) {
      spill = true;
      break;
    }
    stored.words[kept++] = words[i];
    mask = static_cast<uint16_t>(mask | (1u << (i - 1)));
  }
  if (ring_[slot].head != 0) {
    uint8_t old_head[8];
    std::memcpy(old_head, &ring_[slot].head, sizeof(old_head));
    if (old_head[kHeadSpilledByte] != 0) spilled_.erase(slot);
  }
  if (spill) {
    stored.words = {};
    head[kHeadMaskByte] = 0;
    head[kHeadMaskByte + 1] = 0;
    head[kHeadSpilledByte] = 1;
    spilled_[slot] = record.reply;
  } else {
    std::memcpy(&head[kHeadMaskByte], &mask, sizeof(mask));
  }
  std::memcpy(&stored.head, head, sizeof(head));
  ring_[slot] = stored;
}

RequestRecorded RequestResults::Get(uint32_t slot) const {
  const Stored& stored = ring_[slot];
  RequestRecorded record{stored.user, stored.key, stored.fingerprint, Reply{}};
  uint8_t head[8];
  std::memcpy(head, &stored.head, sizeof(head));
  if (head[kHeadSpilledByte] != 0) {
    record.reply = spilled_.at(slot);
    return record;
  }
  uint16_t mask;
  std::memcpy(&mask, &head[kHeadMaskByte], sizeof(mask));
  head[kHeadMaskByte] = 0;
  head[kHeadMaskByte + 1] = 0;
  uint64_t words[kReplyWords];
  std::memcpy(words, &record.reply, sizeof(Reply));
  std::memcpy(&words[0], head, sizeof(head));
  size_t kept = 0;
  for (size_t i = 1; i < kReplyWords; ++i) {
    if ((mask & (1u << (i - 1))) != 0) words[i] = stored.words[kept++];
  }
  std::memcpy(&record.reply, words, sizeof(Reply));
  return record;
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
    ring_.push_back(Stored{});
    Put(slot, record);
    // At most half full, so probe runs stay short.
    if (ring_.size() * 2 > index_.size()) Rehash(index_.size() * 2);
  } else {
    slot = oldest_;
    const Stored& forgotten = ring_[slot];
    Erase(static_cast<uint32_t>(Hash(forgotten.user, forgotten.key)), slot);
    Put(slot, record);
    oldest_ = (oldest_ + 1) % capacity_;
    // The next Record forgets this one: start loading its bucket now.
    const Stored& next = ring_[oldest_];
    __builtin_prefetch(&index_[Hash(next.user, next.key) & mask_]);
  }
  Insert(hash, slot);
  return true;
}

void RequestResults::AddToHash(StateHasher* hasher) const {
  // The ring in age order decides what is forgotten next: it is state.
  for (size_t i = 0; i < ring_.size(); ++i) {
    const RequestRecorded record = Get(static_cast<uint32_t>((oldest_ + i) % ring_.size()));
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
