// The histogram's merge, percentiles and bucket ranges (see histogram.h);
// Record, the per-reply path, stays inline in the header.
#include "histogram.h"

#include <cmath>

namespace encore::load {

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Percentile(double percentile) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(percentile, 0.0, 100.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(clamped / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestOf(i), max_);
  }
  return max_;
}

uint64_t LatencyHistogram::LowestOf(size_t index) {
  if (index < kLinearMax) return index;
  const uint64_t offset = index - kLinearMax;
  const int shift = static_cast<int>(offset / kSubBuckets) + 1;
  return (kSubBuckets + offset % kSubBuckets) << shift;
}

uint64_t LatencyHistogram::HighestOf(size_t index) {
  if (index < kLinearMax) return index;
  const int shift = static_cast<int>((index - kLinearMax) / kSubBuckets) + 1;
  return LowestOf(index) + (uint64_t{1} << shift) - 1;
}

}  // namespace encore::load
