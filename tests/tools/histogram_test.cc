// The load tool's latency histogram: exact small values, bounded relative
// error above, percentiles against a sorted reference, merge, and the cap.
#include "load/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace encore::load {
namespace {

TEST(LatencyHistogramTest, EmptyReportsZeros) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.Percentile(99), 0u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_EQ(histogram.max(), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (uint64_t value = 0; value < 256; ++value) histogram.Record(value);
  EXPECT_EQ(histogram.Percentile(50), 127u);
  EXPECT_EQ(histogram.Percentile(100), 255u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_DOUBLE_EQ(histogram.mean(), 127.5);
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithBoundedError) {
  for (uint64_t value : std::vector<uint64_t>{256, 257, 511, 512, 1000, 123'456, 9'999'999,
                                              LatencyHistogram::kValueMax}) {
    const size_t index = LatencyHistogram::IndexOf(value);
    ASSERT_LT(index, LatencyHistogram::kBuckets);
    EXPECT_LE(LatencyHistogram::LowestOf(index), value);
    EXPECT_GE(LatencyHistogram::HighestOf(index), value);
    // Bucket width / value <= 1/128: better than two significant digits.
    EXPECT_LE((LatencyHistogram::HighestOf(index) - LatencyHistogram::LowestOf(index)) * 128,
              value);
  }
  // Consecutive buckets are adjacent: no gaps, no overlaps.
  for (size_t index = 0; index + 1 < LatencyHistogram::kBuckets; ++index) {
    ASSERT_EQ(LatencyHistogram::HighestOf(index) + 1, LatencyHistogram::LowestOf(index + 1))
        << index;
  }
}

TEST(LatencyHistogramTest, PercentilesMatchASortedReferenceWithinOnePercent) {
  const uint32_t seed = 20260301;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::lognormal_distribution<double> latency(5.0, 1.2);  // Median ~150 µs, long tail.
  LatencyHistogram histogram;
  std::vector<uint64_t> values;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t value = static_cast<uint64_t>(latency(random));
    values.push_back(value);
    histogram.Record(value);
  }
  std::sort(values.begin(), values.end());
  for (double percentile : {50.0, 90.0, 99.0, 99.9}) {
    const size_t rank = static_cast<size_t>(std::ceil(percentile / 100.0 * values.size()));
    const uint64_t exact = values[rank - 1];
    const uint64_t reported = histogram.Percentile(percentile);
    EXPECT_GE(reported, exact) << percentile;
    EXPECT_LE(reported, exact + exact / 100 + 1) << percentile;
  }
  EXPECT_EQ(histogram.Percentile(100), values.back());
  EXPECT_EQ(histogram.max(), values.back());
  EXPECT_EQ(histogram.min(), values.front());
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (uint64_t value = 1; value < 50'000; value += 7) {
    (value % 2 == 0 ? a : b).Record(value);
    all.Record(value);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double percentile : {1.0, 50.0, 99.0, 99.99}) {
    EXPECT_EQ(a.Percentile(percentile), all.Percentile(percentile));
  }
  a.Reset();
  EXPECT_EQ(a.count(), 0u);
}

TEST(LatencyHistogramTest, HugeValuesAreCapped) {
  LatencyHistogram histogram;
  histogram.Record(UINT64_MAX);
  EXPECT_EQ(histogram.max(), LatencyHistogram::kValueMax);
  EXPECT_EQ(histogram.Percentile(50), LatencyHistogram::kValueMax);
}

}  // namespace
}  // namespace encore::load
