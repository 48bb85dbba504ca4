// ChunkedVector against std::vector: the same elements by index and in order,
// across chunk boundaries, and the same snapshot bytes.
#include "internal/chunked_vector.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "encore/snapshot_buffer.h"
#include "gtest/gtest.h"
#include "internal/snapshot_codec.h"
#include "support/seed.h"

namespace encore::internal {
namespace {

struct Item {
  uint64_t a;
  uint32_t b;
  uint32_t c;
};

// Chunks of 8 items, so a few dozen pushes cross several boundaries.
using SmallChunks = ChunkedVector<Item, 3>;

uint64_t Seed() { return testing::SeedFromEnvOrRandom("ENCORE_CHUNKED_VECTOR_SEED"); }

void ExpectSame(const SmallChunks& chunked, const std::vector<Item>& model) {
  ASSERT_EQ(chunked.size(), model.size());
  ASSERT_EQ(chunked.empty(), model.empty());
  for (size_t i = 0; i < model.size(); ++i) {
    EXPECT_EQ(std::memcmp(&chunked[i], &model[i], sizeof(Item)), 0) << "at " << i;
  }
  size_t index = 0;
  for (const Item& item : chunked) {
    ASSERT_LT(index, model.size());
    EXPECT_EQ(std::memcmp(&item, &model[index], sizeof(Item)), 0) << "iterating, at " << index;
    ++index;
  }
  EXPECT_EQ(index, model.size());
  if (!model.empty()) {
    EXPECT_EQ(std::memcmp(&chunked.back(), &model.back(), sizeof(Item)), 0);
  }
}

TEST(ChunkedVectorTest, PushesReadBackLikeAVectorAcrossChunks) {
  std::mt19937_64 random(Seed());
  SmallChunks chunked;
  std::vector<Item> model;
  ExpectSame(chunked, model);
  for (int i = 0; i < 203; ++i) {  // 25 full chunks and 3 more items.
    const Item item{random(), static_cast<uint32_t>(random()), static_cast<uint32_t>(i)};
    chunked.push_back(item);
    model.push_back(item);
    if (i % 7 == 0) ExpectSame(chunked, model);
  }
  ExpectSame(chunked, model);
  // Elements are writable in place and stay where they are.
  const Item* first = &chunked[0];
  chunked[8].c = 12345;
  model[8].c = 12345;
  chunked.push_back(Item{1, 2, 3});
  model.push_back(Item{1, 2, 3});
  EXPECT_EQ(&chunked[0], first);
  ExpectSame(chunked, model);
  chunked.clear();
  model.clear();
  ExpectSame(chunked, model);
}

TEST(ChunkedVectorTest, SnapshotBytesEqualAVectorsAndLoadBackFromAnyAlignment) {
  std::mt19937_64 random(Seed());
  for (size_t count : {size_t{0}, size_t{1}, size_t{8}, size_t{9}, size_t{77}}) {
    SCOPED_TRACE(count);
    SmallChunks chunked;
    std::vector<Item> model;
    for (size_t i = 0; i < count; ++i) {
      const Item item{random(), static_cast<uint32_t>(random()), static_cast<uint32_t>(i)};
      chunked.push_back(item);
      model.push_back(item);
    }
    SnapshotBuffer from_chunked;
    SnapshotBuffer from_vector;
    // One byte first, so the elements sit unaligned in the buffer.
    SnapshotWriter(&from_chunked).Put<uint8_t>(7);
    SnapshotWriter(&from_vector).Put<uint8_t>(7);
    SnapshotWriter(&from_chunked).PutVector(chunked);
    SnapshotWriter(&from_vector).PutVector(model);
    ASSERT_EQ(from_chunked.size(), from_vector.size());
    EXPECT_EQ(
        std::memcmp(from_chunked.bytes().data(), from_vector.bytes().data(), from_vector.size()),
        0);

    SnapshotReader reader(from_chunked.bytes());
    uint8_t first = 0;
    ASSERT_TRUE(reader.Get(&first));
    SmallChunks loaded;
    ASSERT_TRUE(reader.GetVector(&loaded, 1'000));
    EXPECT_TRUE(reader.done());
    ExpectSame(loaded, model);
  }
}

TEST(ChunkedVectorTest, ACountBeyondTheBytesOrTheLimitIsRefused) {
  SmallChunks chunked;
  for (uint32_t i = 0; i < 20; ++i) chunked.push_back(Item{i, i, i});
  SnapshotBuffer buffer;
  SnapshotWriter(&buffer).PutVector(chunked);
  {
    SnapshotReader reader(buffer.bytes().subspan(0, buffer.size() - 1));  // Cut short.
    SmallChunks loaded;
    EXPECT_FALSE(reader.GetVector(&loaded, 1'000));
    EXPECT_TRUE(loaded.empty());
  }
  {
    SnapshotReader reader(buffer.bytes());
    SmallChunks loaded;
    EXPECT_FALSE(reader.GetVector(&loaded, 19));  // Over the limit.
    EXPECT_TRUE(loaded.empty());
  }
}

}  // namespace
}  // namespace encore::internal
