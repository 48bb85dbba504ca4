// FenwickTree: prefix sums of 0/1 flags over a growing array, O(log n) per
// update and query. The admission queue uses it for exact positions in line:
// position(entry) = number of WAITING entries at or before it.
#ifndef ENCORE_INTERNAL_FENWICK_TREE_H_
#define ENCORE_INTERNAL_FENWICK_TREE_H_

#include <cstdint>
#include <vector>

namespace encore::internal {

class FenwickTree {
 public:
  // Appends one element with value `value` (0 or 1) at index size().
  void PushBack(int32_t value) {
    // Node i (1-based) covers (i - lowbit(i), i]: its value plus the sums of
    // the nodes it covers, found by walking down from i - 1.
    const uint32_t i = static_cast<uint32_t>(tree_.size()) + 1;
    int32_t sum = value;
    const uint32_t low = i - (i & (~i + 1));
    for (uint32_t j = i - 1; j > low; j -= j & (~j + 1)) sum += tree_[j - 1];
    tree_.push_back(sum);
  }

  // Adds `delta` to the element at `index`.
  void Add(uint32_t index, int32_t delta) {
    for (uint32_t i = index + 1; i <= tree_.size(); i += i & (~i + 1)) tree_[i - 1] += delta;
  }

  // Sum of elements 0 .. index (inclusive).
  int64_t PrefixSum(uint32_t index) const {
    int64_t sum = 0;
    for (uint32_t i = index + 1; i > 0; i -= i & (~i + 1)) sum += tree_[i - 1];
    return sum;
  }

  uint32_t size() const { return static_cast<uint32_t>(tree_.size()); }
  uint64_t bytes() const { return tree_.capacity() * sizeof(int32_t); }
  const std::vector<int32_t>& nodes() const { return tree_; }
  std::vector<int32_t>* mutable_nodes() { return &tree_; }

 private:
  std::vector<int32_t> tree_;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_FENWICK_TREE_H_
