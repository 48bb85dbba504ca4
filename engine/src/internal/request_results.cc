#include "internal/request_results.h"

#include <cstring>

#include "internal/check.h"
#include "internal/state_hasher.h"

namespace encore::internal {

RequestResults::RequestResults(uint32_t capacity) : capacity_(capacity) {
  ENCORE_CHECK(capacity >= 1);
}

const RequestRecorded* RequestResults::Find(UserId user, RequestKey key) const {
  auto it = index_.find(Key{user, key});
  return it == index_.end() ? nullptr : &ring_[it->second];
}

bool RequestResults::Record(const RequestRecorded& record) {
  const Key key{record.user, record.key};
  uint32_t slot;
  if (ring_.size() < capacity_) {
    slot = static_cast<uint32_t>(ring_.size());
  } else {
    slot = oldest_;
  }
  auto [it, inserted] = index_.try_emplace(key, slot);
  if (!inserted) return false;
  if (slot == ring_.size()) {
    ring_.push_back(record);
  } else {
    index_.erase(Key{ring_[slot].user, ring_[slot].key});
    ring_[slot] = record;
    oldest_ = (oldest_ + 1) % capacity_;
  }
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
