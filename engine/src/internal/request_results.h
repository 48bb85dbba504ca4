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
//
// A record keeps only the words of its reply that differ from a default
// Reply's (a reply sets 2 to 4 of them, after its first word of code and
// type), so it takes 72 bytes instead of a RequestRecorded's 120: at the
// default capacity, 19 MiB instead of 31. A reply that sets more is kept
// whole on the side. What Find() returns, what is hashed and what snapshots
// hold are the full records.
#ifndef ENCORE_INTERNAL_REQUEST_RESULTS_H_
#define ENCORE_INTERNAL_REQUEST_RESULTS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
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

  // The recorded result of (user, key), or nullopt.
  std::optional<RequestRecorded> Find(UserId user, RequestKey key) const;
  // Starts loading the index bucket where Find(user, key) begins.
  void Prefetch(UserId user, RequestKey key) const { Touch(&index_[Hash(user, key) & mask_]); }
  // Records a result, forgetting the oldest when full. False (and nothing
  // changes) when (user, key) is recorded already.
  bool Record(const RequestRecorded& record);

  uint64_t size() const { return ring_.size(); }
  uint64_t state_bytes() const {
    return ring_.capacity() * sizeof(Stored) + index_.capacity() * sizeof(Bucket) +
           spilled_.bucket_count() * (sizeof(std::pair<const uint32_t, Reply>) + 1);
  }
  void AddToHash(StateHasher* hasher) const;
  void Save(class SnapshotWriter* writer) const;
  // REQUIRES: empty. False on bad input. A ring saved with another capacity
  // loads too: its newest records, as many as fit. Records saved as
  // `record_bytes` each, fewer than sizeof(RequestRecorded) for an older
  // snapshot, are zero-extended.
  bool Load(class SnapshotReader* reader, size_t record_bytes = sizeof(RequestRecorded));

 private:
  static constexpr uint64_t kInitialBuckets = 64;
  static constexpr size_t kReplyWords = sizeof(Reply) / 8;
  static_assert(sizeof(Reply) % 8 == 0);
  // Words of a reply, after its first, that a record keeps in place.
  static constexpr size_t kKeptWordsMax = 5;
  // A reply's first word is code, type, queue_state, seat_count and three
  // reserved bytes (always 0 in a reply the core makes). In a record, bytes
  // 5..6 of it hold the mask of the words kept (bit i - 1 for word i), and
  // byte 7 is 1 when the reply is kept whole in spilled_ instead.
  struct Stored {
    UserId user;
    RequestKey key;
    uint64_t fingerprint;
    uint64_t head;
    std::array<uint64_t, kKeptWordsMax> words;
  };
  static_assert(sizeof(Stored) == 72);
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
  // Stores `record` in ring slot `slot` (ring_[slot] exists).
  void Put(uint32_t slot, const RequestRecorded& record);
  RequestRecorded Get(uint32_t slot) const;

  uint32_t capacity_;
  std::vector<Stored> ring_;
  // By ring slot: the replies too different from the default to keep in place.
  absl::flat_hash_map<uint32_t, Reply> spilled_;
  uint32_t oldest_ = 0;  // Ring slot of the oldest record once full.
  // Grows by doubling while the ring fills, to at least twice capacity_.
  std::vector<Bucket> index_;
  uint64_t mask_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_REQUEST_RESULTS_H_
