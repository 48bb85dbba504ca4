// RequestResults: the idempotency window. Remembers the reply of the last
// `capacity` mutating commands by (user, request key); a repeat gets the
// recorded reply and has no second effect. The oldest record is forgotten
// first, so memory is bounded.
//
// Layout: the records sit in a ring in insertion order (allocated as it
// fills, up to capacity). An open-addressing index (linear probing, at most
// half full) maps (user, key) to a ring slot with 8-byte buckets: the slot
// and 32 bits of the key's hash, so a miss, the common case, and the removal
// of the oldest record touch only the index, never another record. At the
// default capacity the index is 4 MiB, where a general hash map of
// (user, key) -> slot took about 13 MiB and two more cache misses per command.
#ifndef ENCORE_INTERNAL_REQUEST_RESULTS_H_
#define ENCORE_INTERNAL_REQUEST_RESULTS_H_

#include <cstdint>
#include <vector>

#include "absl/hash/hash.h"
#include "encore/core.h"
#include "encore/event.h"
#include "encore/reply.h"
#include "internal/touch.h"
#include "internal/user_request.h"

namespace encore::internal {

class StateHasher;

class RequestResults {
 public:
  // REQUIRES: capacity >= 1.
  explicit RequestResults(uint32_t capacity);

  // The recorded result of (user, key), or nullptr.
  const RequestRecorded* Find(UserId user, RequestKey key) const;
  // Starts loading the index bucket where Find(user, key) begins.
  void Prefetch(UserId user, RequestKey key) const { Touch(&index_[Hash(user, key) & mask_]); }
  // Records a result, forgetting the oldest when full. False (and nothing
  // changes) when (user, key) is recorded already.
  bool Record(const RequestRecorded& record);

  uint64_t size() const { return ring_.size(); }
  void AddToHash(StateHasher* hasher) const;
  void Save(class SnapshotWriter* writer) const;
  // REQUIRES: empty. False on bad input. A ring saved with another capacity
  // loads too: its newest records, as many as fit. Records saved as
  // `record_bytes` each, fewer than sizeof(RequestRecorded) for an older
  // snapshot, are zero-extended.
  bool Load(class SnapshotReader* reader, size_t record_bytes = sizeof(RequestRecorded));

 private:
  static constexpr uint64_t kInitialBuckets = 64;
  struct Bucket {
    uint32_t slot_plus_one = 0;  // 0: empty.
    uint32_t hash = 0;           // The low 32 bits of the key's hash.
  };

  // absl's hash is seeded per process: clients choose request keys, and a
  // predictable hash would let them build long probe runs.
  static uint64_t Hash(UserId user, RequestKey key) {
    return absl::Hash<UserRequest>{}(UserRequest{user, key});
  }
  // The bucket holding (user, key), or the empty bucket that ends its probe.
  uint64_t Probe(UserId user, RequestKey key, uint32_t hash) const;
  void Insert(uint32_t hash, uint32_t slot);
  // Removes the bucket of ring slot `slot` (whose key hashes to `hash`),
  // shifting later buckets of the same run back so probes stay unbroken.
  void Erase(uint32_t hash, uint32_t slot);
  // Rebuilds the index with `buckets` buckets (a power of two).
  void Rehash(uint64_t buckets);

  uint32_t capacity_;
  std::vector<RequestRecorded> ring_;
  uint32_t oldest_ = 0;  // Ring slot of the oldest record once full.
  // Grows by doubling while the ring fills, to at least twice capacity_.
  std::vector<Bucket> index_;
  uint64_t mask_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_REQUEST_RESULTS_H_
