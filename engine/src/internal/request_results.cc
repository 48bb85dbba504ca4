#include "internal/request_results.h"

#include <cstring>

#include "internal/check.h"
#include "internal/state_hasher.h"

namespace encore::internal {

RequestResults::RequestResults(uint32_t capacity) : capacity_(capacity) {
  ENCORE_CHECK(capacity >= 1);
}

const RequestRecorded* RequestResults::Find(UserId user, RequestKey key) const {
  auto it = records_.find(Key{user, key});
  return it == records_.end() ? nullptr : &it->second;
}

void RequestResults::Record(const RequestRecorded& record) {
  const Key key{record.user, record.key};
  if (order_.size() < capacity_) {
    order_.push_back(key);
  } else {
    records_.erase(order_[oldest_]);
    order_[oldest_] = key;
    oldest_ = (oldest_ + 1) % capacity_;
  }
  const bool inserted = records_.emplace(key, record).second;
  ENCORE_CHECK(inserted);
}

void RequestResults::AddToHash(StateHasher* hasher) const {
  // The ring in age order decides what is forgotten next: it is state.
  for (size_t i = 0; i < order_.size(); ++i) {
    const Key& key = order_[(oldest_ + i) % order_.size()];
    const RequestRecorded& record = records_.at(key);
    hasher->Add(key.user);
    hasher->Add(key.key);
    hasher->Add(record.fingerprint);
    uint64_t words[sizeof(Reply) / 8];
    static_assert(sizeof(Reply) % 8 == 0);
    std::memcpy(words, &record.reply, sizeof(Reply));
    for (uint64_t word : words) hasher->Add(word);
  }
}

}  // namespace encore::internal
