// StateHasher: builds the 64-bit state hash. Ordered parts are folded in
// sequence (Add); unordered collections (hash maps) are summed (AddUnordered),
// so the result does not depend on iteration order.
#ifndef ENCORE_INTERNAL_STATE_HASHER_H_
#define ENCORE_INTERNAL_STATE_HASHER_H_

#include <cstdint>

namespace encore::internal {

// The splitmix64 finalizer: a cheap bijective mixer.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

class StateHasher {
 public:
  void Add(uint64_t value) { hash_ = Mix64(hash_ ^ Mix64(value + 0x9e3779b97f4a7c15ULL)); }
  void AddSigned(int64_t value) { Add(static_cast<uint64_t>(value)); }
  void AddUnordered(uint64_t element_hash) { unordered_sum_ += Mix64(element_hash); }
  uint64_t Finish() const { return Mix64(hash_ ^ Mix64(unordered_sum_)); }

 private:
  uint64_t hash_ = 0x2545f4914f6cdd1dULL;
  uint64_t unordered_sum_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_STATE_HASHER_H_
