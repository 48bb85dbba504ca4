// LatencyHistogram: an HDR-style log-linear histogram of latencies in
// microseconds, for encore-load.
//
// Values below 256 have a bucket each; above, every power of two is cut into
// 128 linear buckets, so a recorded value is known to within 1/128 (better
// than 2 significant digits) over the whole range 0 .. kValueMax µs (larger
// values are counted as kValueMax). Percentiles report the highest value of
// the bucket they fall in (as HdrHistogram does), never less than the true
// value; min, max, count and mean are exact. Fixed memory (~36 KB), no
// allocation after construction.
//
// Thread safety: none; one writer, or guard it. Merge to combine.
#ifndef ENCORE_TOOLS_LOAD_HISTOGRAM_H_
#define ENCORE_TOOLS_LOAD_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace encore::load {

class LatencyHistogram {
 public:
  // Exact buckets below 2^kLinearBits; 2^(kLinearBits-1) per power of two above.
  static constexpr int kLinearBits = 8;
  static constexpr uint64_t kLinearMax = uint64_t{1} << kLinearBits;  // 256
  static constexpr uint64_t kSubBuckets = kLinearMax / 2;             // 128
  // About 12.7 days in microseconds: more than any run.
  static constexpr uint64_t kValueMax = (uint64_t{1} << 40) - 1;
  static constexpr int kExponentsMax = 40 - kLinearBits + 1;
  static constexpr size_t kBuckets = kLinearMax + kExponentsMax * kSubBuckets;

  void Record(uint64_t value_us) {
    const uint64_t value = std::min(value_us, kValueMax);
    ++counts_[IndexOf(value)];
    ++count_;
    sum_ += value;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  void Merge(const LatencyHistogram& other);

  void Reset() { *this = LatencyHistogram(); }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  // The value at `percentile` (0 .. 100): the highest value of the bucket that
  // holds the ceil(percentile% * count)-th smallest value, capped at max().
  // 0 when empty.
  uint64_t Percentile(double percentile) const;

  // The bucket of a value, and the range of values a bucket holds (public for
  // the tests).
  static size_t IndexOf(uint64_t value) {
    if (value < kLinearMax) return static_cast<size_t>(value);
    const int shift = std::bit_width(value) - kLinearBits;  // >= 1
    const uint64_t mantissa = value >> shift;               // kSubBuckets .. kLinearMax-1
    return static_cast<size_t>(kLinearMax + (shift - 1) * kSubBuckets + (mantissa - kSubBuckets));
  }
  static uint64_t LowestOf(size_t index);
  static uint64_t HighestOf(size_t index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

static_assert(LatencyHistogram::kValueMax < (uint64_t{1} << 40));

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_HISTOGRAM_H_
