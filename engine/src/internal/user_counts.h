// UserCounts: a count per user (how many seats each holds or bought in one
// schedule), in an open-addressing table made for the shard's batch prefetch.
//
// A user's slot is almost always on the cache line its hash names (linear
// probing, at most half full), so loading that one line in the batch
// prefetch (Prefetch, a Touch: touch.h) makes the later Get() a hit.
// absl::flat_hash_map gives no way to load the line its key is on, and the
// seat-limit check of a hold missed on it: 30 to 40% of the shard's time
// under a hold load (perf, docs/PERFORMANCE.md).
//
// Counts are never 0 (a count that falls to 0 is erased), which is how an
// empty slot is told apart: any UserId, 0 included, can be stored. Erasing
// shifts the following entries back, so there are no tombstones. The hash is
// absl's, seeded per process: chosen user ids cannot force long probes.
//
// Thread safety: none (the shard's single writer).
#ifndef ENCORE_INTERNAL_USER_COUNTS_H_
#define ENCORE_INTERNAL_USER_COUNTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/hash/hash.h"
#include "encore/types.h"
#include "internal/check.h"
#include "internal/touch.h"

namespace encore::internal {

class UserCounts {
 public:
  uint32_t Get(UserId user) const {
    if (size_ == 0) return 0;
    for (size_t i = Home(user);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.count == 0) return 0;
      if (slot.user == user) return slot.count;
    }
  }
  // Adds `delta` (negative to take away) to the user's count; a count that
  // reaches 0 is erased. REQUIRES: the result is within 0..UINT32_MAX.
  void Add(UserId user, int32_t delta) {
    if (delta == 0) return;
    Reserve(size_ + 1);
    size_t i = Home(user);
    for (; slots_[i].count != 0; i = (i + 1) & mask_) {
      if (slots_[i].user != user) continue;
      ENCORE_CHECK(delta > 0 ||
                   slots_[i].count >= static_cast<uint32_t>(-static_cast<int64_t>(delta)));
      slots_[i].count += static_cast<uint32_t>(delta);
      if (slots_[i].count == 0) Erase(i);
      return;
    }
    ENCORE_CHECK(delta > 0);  // A user not there has a count of 0.
    slots_[i] = Slot{user, static_cast<uint32_t>(delta), 0};
    ++size_;
  }
  // Adds a user that is not there yet with `count` (a snapshot's entry);
  // false, and nothing changed, for a count of 0 or a user already there.
  bool Insert(UserId user, uint32_t count) {
    if (count == 0 || Get(user) != 0) return false;
    Reserve(size_ + 1);
    size_t i = Home(user);
    while (slots_[i].count != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{user, count, 0};
    ++size_;
    return true;
  }
  void Prefetch(UserId user) const {
    if (!slots_.empty()) Touch(&slots_[Home(user)]);
  }
  size_t size() const { return size_; }
  uint64_t bytes() const { return slots_.capacity() * sizeof(Slot); }
  // Room for `users` entries without growing.
  void Reserve(size_t users) {
    if (users * 2 <= slots_.size()) return;
    size_t capacity = slots_.empty() ? kMinSlots : slots_.size();
    while (users * 2 > capacity) capacity *= 2;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.count == 0) continue;
      size_t i = Home(slot.user);
      while (slots_[i].count != 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }
  // Calls fn(user, count) for every entry, in no particular order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Slot& slot : slots_) {
      if (slot.count != 0) fn(slot.user, slot.count);
    }
  }
  bool operator==(const UserCounts& other) const {
    if (size_ != other.size_) return false;
    bool same = true;
    ForEach([&](UserId user, uint32_t count) { same = same && other.Get(user) == count; });
    return same;
  }

 private:
  struct Slot {
    UserId user = 0;
    uint32_t count = 0;  // 0: empty.
    uint32_t unused = 0;
  };
  static constexpr size_t kMinSlots = 16;

  size_t Home(UserId user) const { return static_cast<size_t>(absl::Hash<UserId>()(user)) & mask_; }
  // Backward-shift deletion: each later entry of the run moves into the
  // hole when the hole lies between its home and where it is.
  void Erase(size_t hole) {
    for (size_t i = (hole + 1) & mask_; slots_[i].count != 0; i = (i + 1) & mask_) {
      const size_t home = Home(slots_[i].user);
      if (((i - home) & mask_) >= ((i - hole) & mask_)) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_USER_COUNTS_H_
