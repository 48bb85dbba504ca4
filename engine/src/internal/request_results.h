// RequestResults: the idempotency window. Remembers the reply of the last
// `capacity` mutating commands by (user, request key); a repeat gets the
// recorded reply and has no second effect. The oldest record is forgotten
// first, so memory is bounded.
//
// Layout: the records sit in a ring in insertion order (allocated as it
// fills, up to capacity), and a small hash index maps (user, key) to a ring
// slot: about 140 bytes per record, and the hot index stays compact.
#ifndef ENCORE_INTERNAL_REQUEST_RESULTS_H_
#define ENCORE_INTERNAL_REQUEST_RESULTS_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "encore/event.h"
#include "encore/reply.h"
#include "internal/user_request.h"

namespace encore::internal {

class StateHasher;

class RequestResults {
 public:
  // REQUIRES: capacity >= 1.
  explicit RequestResults(uint32_t capacity);

  // The recorded result of (user, key), or nullptr.
  const RequestRecorded* Find(UserId user, RequestKey key) const;
  // Records a result, forgetting the oldest when full. False (and nothing
  // changes) when (user, key) is recorded already.
  bool Record(const RequestRecorded& record);

  uint64_t size() const { return ring_.size(); }
  void AddToHash(StateHasher* hasher) const;
  void Save(class SnapshotWriter* writer) const;
  // REQUIRES: empty. False on bad input.
  bool Load(class SnapshotReader* reader);

 private:
  using Key = UserRequest;

  uint32_t capacity_;
  std::vector<RequestRecorded> ring_;
  uint32_t oldest_ = 0;  // Ring slot of the oldest record once full.
  absl::flat_hash_map<Key, uint32_t> index_;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_REQUEST_RESULTS_H_
