// Core snapshots: round trip (also into a reused SnapshotBuffer), and refusal of truncated,
// corrupted or unknown-version snapshots with DataLoss (never a crash, never a core that breaks an
// invariant).
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <vector>

#include "encore/snapshot_buffer.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

// A core with some of everything: balances, holds, a payment, queue entries.
std::vector<uint8_t> BusySnapshot(uint64_t* hash) {
  ScheduleConfig config = MakeScheduleConfig(kSchedule, 50);
  config.policy.active_max = 2;
  CoreHarness harness(config);
  for (UserId user = 1; user <= 6; ++user) {
    EXPECT_TRUE(harness.Run(ChargeCommand(user, 20'000, 0)).ok());
  }
  const QueueToken first = harness.Admit(1);
  const QueueToken second = harness.Admit(2);
  for (UserId user = 3; user <= 6; ++user) harness.Run(EnterCommand(kSchedule, user, 0));
  const Reply held = harness.Run(HoldCommand(kSchedule, 1, first, {0, 1}, 0));
  EXPECT_TRUE(held.ok());
  EXPECT_TRUE(harness.Run(PayCommand(kSchedule, 1, first, held.hold, 0)).ok());
  EXPECT_TRUE(harness.Run(HoldCommand(kSchedule, 2, second, {5}, 0)).ok());
  std::vector<uint8_t> snapshot;
  harness.core().SaveSnapshot(&snapshot);
  *hash = harness.core().StateHash();
  return snapshot;
}

TEST(SnapshotTest, RoundTripKeepsTheStateHash) {
  uint64_t hash = 0;
  const std::vector<uint8_t> snapshot = BusySnapshot(&hash);
  Core loaded(TestCoreOptions());
  ASSERT_TRUE(loaded.LoadSnapshot(snapshot).ok());
  EXPECT_EQ(loaded.StateHash(), hash);
  std::vector<uint8_t> again;
  loaded.SaveSnapshot(&again);
  Core twice(TestCoreOptions());
  ASSERT_TRUE(twice.LoadSnapshot(again).ok());
  EXPECT_EQ(twice.StateHash(), hash);
}

TEST(SnapshotTest, ABufferKeptAcrossSnapshotsHoldsTheSameBytes) {
  uint64_t hash = 0;
  const std::vector<uint8_t> snapshot = BusySnapshot(&hash);
  Core loaded(TestCoreOptions());
  ASSERT_TRUE(loaded.LoadSnapshot(snapshot).ok());
  // Hash tables may list their entries in another order once reloaded: the
  // loaded core's own vector form is the reference.
  std::vector<uint8_t> expected;
  loaded.SaveSnapshot(&expected);
  SnapshotBuffer buffer;
  // A larger snapshot first: the second save replaces it, shorter, in place.
  std::vector<uint8_t> filler(expected.size() * 3, 0xab);
  std::memcpy(buffer.Append(filler.size()), filler.data(), filler.size());
  for (int save = 0; save < 2; ++save) {
    loaded.SaveSnapshot(&buffer);
    ASSERT_EQ(buffer.size(), expected.size());
    EXPECT_EQ(std::memcmp(buffer.data(), expected.data(), expected.size()), 0);
  }
  Core again(TestCoreOptions());
  ASSERT_TRUE(again.LoadSnapshot(buffer.bytes()).ok());
  EXPECT_EQ(again.StateHash(), hash);
}

TEST(SnapshotBufferTest, GrowingAndPrefaultingKeepEveryByte) {
  SnapshotBuffer buffer;
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_TRUE(buffer.Prefault(0));
  // Appends of odd sizes across several growths (64 KiB first, then doubling
  // by mremap): every byte is where it was written.
  std::mt19937_64 random(7);
  std::vector<uint8_t> expected;
  while (expected.size() < (size_t{3} << 20)) {
    const size_t bytes = 1 + random() % 50'000;
    uint8_t* at = buffer.Append(bytes);
    for (size_t i = 0; i < bytes; ++i) {
      at[i] = static_cast<uint8_t>(random());
      expected.push_back(at[i]);
    }
  }
  ASSERT_EQ(buffer.size(), expected.size());
  EXPECT_GE(buffer.capacity(), buffer.size());
  EXPECT_EQ(std::memcmp(buffer.data(), expected.data(), expected.size()), 0);
  // Prefaulting past the capacity grows it and changes no byte.
  ASSERT_TRUE(buffer.Prefault(buffer.capacity() + 12'345));
  EXPECT_GE(buffer.capacity(), expected.size() + 12'345);
  EXPECT_EQ(std::memcmp(buffer.data(), expected.data(), expected.size()), 0);
  // Clear keeps the memory: the next append starts at the same address.
  const uint8_t* data = buffer.data();
  const size_t capacity = buffer.capacity();
  buffer.Clear();
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.Append(100), data);
  EXPECT_EQ(buffer.capacity(), capacity);
  // A size that cannot be mapped throws, like any container, and leaves the
  // buffer as it was; Prefault only says no.
  EXPECT_THROW(buffer.Append(SIZE_MAX - 10), std::bad_alloc);
  EXPECT_EQ(buffer.size(), 100u);
  EXPECT_FALSE(buffer.Prefault(SIZE_MAX - 10));
  EXPECT_EQ(buffer.capacity(), capacity);
}

TEST(SnapshotTest, LoadedHoldsStillExpireAtTheirDeadline) {
  uint64_t hash = 0;
  const std::vector<uint8_t> snapshot = BusySnapshot(&hash);
  Core loaded(TestCoreOptions());
  ASSERT_TRUE(loaded.LoadSnapshot(snapshot).ok());
  EventBuffer events;
  loaded.AdvanceTime(kSaleOpensMs + kHoldTtlDefaultMs - 1, &events);
  std::vector<SeatState> seats;
  loaded.SeatMapUnchecked(kSchedule, &seats);
  EXPECT_EQ(seats[5], SeatState::kHeld);
  loaded.AdvanceTime(kSaleOpensMs + kHoldTtlDefaultMs, &events);
  loaded.SeatMapUnchecked(kSchedule, &seats);
  EXPECT_EQ(seats[5], SeatState::kAvailable);
  EXPECT_EQ(seats[0], SeatState::kSold);
}

TEST(SnapshotTest, LoadsOnlyIntoANewCore) {
  uint64_t hash = 0;
  const std::vector<uint8_t> snapshot = BusySnapshot(&hash);
  CoreHarness harness;
  EXPECT_EQ(harness.core().LoadSnapshot(snapshot).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SnapshotTest, TruncatedSnapshotsAreRefused) {
  uint64_t hash = 0;
  const std::vector<uint8_t> snapshot = BusySnapshot(&hash);
  for (size_t length = 0; length < snapshot.size(); length += 1 + length / 16) {
    Core core(TestCoreOptions());
    const absl::Status status =
        core.LoadSnapshot(std::span<const uint8_t>(snapshot.data(), length));
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << "length " << length;
  }
}

TEST(SnapshotTest, BadMagicAndUnknownVersionAreNamed) {
  uint64_t hash = 0;
  std::vector<uint8_t> snapshot = BusySnapshot(&hash);
  std::vector<uint8_t> bad_magic = snapshot;
  bad_magic[0] ^= 0xff;
  Core first(TestCoreOptions());
  const absl::Status magic = first.LoadSnapshot(bad_magic);
  EXPECT_EQ(magic.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(magic.message().find("magic"), std::string::npos) << magic;
  std::vector<uint8_t> future = snapshot;
  future[4] = 99;  // The version follows the 4-byte magic.
  Core second(TestCoreOptions());
  const absl::Status version = second.LoadSnapshot(future);
  EXPECT_EQ(version.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(version.message().find("version 99"), std::string::npos) << version;
}

TEST(SnapshotTest, FlippedBytesNeverCrashOrLoadABrokenState) {
  uint64_t hash = 0;
  const std::vector<uint8_t> snapshot = BusySnapshot(&hash);
  const uint64_t seed = 1234;
  std::mt19937_64 random(seed);
  int refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> corrupt = snapshot;
    corrupt[random() % corrupt.size()] ^= static_cast<uint8_t>(1 + random() % 255);
    Core core(TestCoreOptions());
    const absl::Status status = core.LoadSnapshot(corrupt);
    if (!status.ok()) {
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << "seed " << seed << " " << status;
      ++refused;
      continue;
    }
    // Some flips land in a value that stays legal (a balance, a time): such a
    // snapshot loads, but never into a state that breaks an invariant.
    EXPECT_TRUE(core.CheckInvariants().ok()) << "seed " << seed << " trial " << trial;
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace encore::testing
