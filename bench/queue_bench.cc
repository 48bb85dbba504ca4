// Cost of the admission queue through Core::Apply: entering, polling,
// admitting as slots free, and a 10,000,000-user waiting room (docs/design.md
// targets: >= 2M enters/s, <= 64 bytes per waiting user).
//
// Commands go through BenchShard (batches of 1024 at one timestamp, one
// EventBuffer cleared per batch, the idempotency window on). Each iteration is
// one command unless a benchmark says otherwise.
//
// Run: queue_bench --benchmark_min_time=1
// For a clean RSS figure run the 10M benchmark alone in its own process:
//   queue_bench --benchmark_filter=TenMillion
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "bench_support.h"
#include "benchmark/benchmark.h"

namespace encore::bench {
namespace {

// A schedule whose queue admits `active_max` users at once (entry 0 .. n-1
// ACTIVE, the rest WAITING in entry order).
AdmissionPolicy ActiveMax(uint32_t active_max) {
  AdmissionPolicy policy;
  policy.active_max = active_max;
  return policy;
}

// --- Enter -------------------------------------------------------------------

// New users enter a queue with one ACTIVE slot: each stays WAITING.
struct EnterFixture : SharedFixture {
  static constexpr uint32_t kEntriesPerSchedule = 20'000'000;
  EnterFixture() { NewSchedule(); }
  void NewSchedule() {
    shard.CreateSchedule(BenchScheduleConfig(++schedule, 1, ActiveMax(1)));
    entries = 0;
  }
  BenchShard shard;
  ScheduleId schedule = 100;
  uint32_t entries = 0;
  UserId next_user = 0;
};

void BM_EnterWaiting(benchmark::State& state) {
  EnterFixture& fixture = SharedFixture::Get<EnterFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (fixture.entries == EnterFixture::kEntriesPerSchedule) {
      state.PauseTiming();
      fixture.NewSchedule();
      state.ResumeTiming();
    }
    const Reply reply =
        shard.Apply(EnterCommand(fixture.schedule, ++fixture.next_user, shard.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok() && (reply.position > 0 || fixture.entries == 0), "enter");
    ++fixture.entries;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnterWaiting);

// --- Poll --------------------------------------------------------------------

// `size` users in line behind one ACTIVE user; polls go round robin over the
// waiting ones, each a heartbeat (event, list move) and an exact position
// (Fenwick prefix sum over the entries).
struct PollFixture : SharedFixture {
  static constexpr ScheduleId kSchedule = 200;
  void Fill(uint32_t size) {
    if (tokens.size() == size) return;
    ENCORE_BENCH_REQUIRE(tokens.empty(), "one size per process run");
    shard.CreateSchedule(BenchScheduleConfig(kSchedule, 1, ActiveMax(1)));
    tokens.reserve(size);
    for (uint32_t i = 0; i < size; ++i) tokens.push_back(shard.Enter(kSchedule, 1 + i));
  }
  BenchShard shard;
  std::vector<QueueToken> tokens;
  uint32_t cursor = 0;
};

void BM_PollWaiting(benchmark::State& state) {
  // A fresh fixture per size: release the last one when the size changes.
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  {
    PollFixture& existing = SharedFixture::Get<PollFixture>();
    if (!existing.tokens.empty() && existing.tokens.size() != size) SharedFixture::Release();
  }
  PollFixture& fixture = SharedFixture::Get<PollFixture>();
  fixture.Fill(size);
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (++fixture.cursor == size) fixture.cursor = 1;  // Entry 0 is ACTIVE.
    const uint32_t i = fixture.cursor;
    const Reply reply =
        shard.Apply(StatusCommand(PollFixture::kSchedule, 1 + i, fixture.tokens[i]));
    ENCORE_BENCH_REQUIRE(reply.ok() && reply.queue_state == QueueState::kWaiting, "poll");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PollWaiting)->Arg(10'000)->Arg(1'000'000);

// --- Admit -------------------------------------------------------------------

// A queue with 1,024 ACTIVE slots and a long line behind them. The oldest
// ACTIVE user leaves (LEAVE_QUEUE) and the head of the line is admitted in
// the same command. The line is refilled with 1M users (timer paused) when it
// runs dry.
struct LeaveFixture : SharedFixture {
  static constexpr ScheduleId kSchedule = 300;
  static constexpr uint32_t kActiveMax = 1024;
  static constexpr uint32_t kRefill = 1'000'000;
  LeaveFixture() {
    shard.CreateSchedule(BenchScheduleConfig(kSchedule, 1, ActiveMax(kActiveMax)));
    Refill();
  }
  void Refill() {
    for (uint32_t i = 0; i < kRefill; ++i) {
      const UserId user = 1 + tokens.size();
      tokens.push_back(shard.Enter(kSchedule, user));
    }
  }
  BenchShard shard;
  std::vector<QueueToken> tokens;  // By entry: entry e is user e + 1.
  uint64_t leaving = 0;            // The oldest ACTIVE entry.
};

void BM_AdmitOnLeave(benchmark::State& state) {
  LeaveFixture& fixture = SharedFixture::Get<LeaveFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (fixture.leaving + LeaveFixture::kActiveMax == fixture.tokens.size()) {
      state.PauseTiming();
      fixture.Refill();
      state.ResumeTiming();
    }
    const uint64_t entry = fixture.leaving++;
    const Reply reply = shard.Apply(
        LeaveCommand(LeaveFixture::kSchedule, 1 + entry, fixture.tokens[entry], shard.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok() && reply.queue_state == QueueState::kLeft, "leave");
  }
  // One admission per command.
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmitOnLeave);

// The admin raises active_max by 1,024 per SET_ADMISSION_POLICY: each command
// admits the next 1,024 users of the line. items_per_second counts
// admissions.
struct RaiseFixture : SharedFixture {
  static constexpr ScheduleId kSchedule = 400;
  static constexpr uint32_t kStep = 1024;
  static constexpr uint32_t kRefill = 1'000'000;
  RaiseFixture() {
    shard.CreateSchedule(BenchScheduleConfig(kSchedule, 1, ActiveMax(1)));
    Refill();
  }
  void Refill() {
    for (uint32_t i = 0; i < kRefill; ++i) shard.Enter(kSchedule, ++users);
  }
  BenchShard shard;
  UserId users = 0;
  uint64_t active_max = 1;
};

void BM_AdmitOnPolicyRaise(benchmark::State& state) {
  RaiseFixture& fixture = SharedFixture::Get<RaiseFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (fixture.active_max + RaiseFixture::kStep > fixture.users) {
      state.PauseTiming();
      fixture.Refill();
      state.ResumeTiming();
    }
    fixture.active_max += RaiseFixture::kStep;
    const Reply reply = shard.Apply(
        SetPolicyCommand(RaiseFixture::kSchedule,
                         ActiveMax(static_cast<uint32_t>(fixture.active_max)), shard.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "set policy");
  }
  state.SetItemsProcessed(state.iterations() * RaiseFixture::kStep);
}
BENCHMARK(BM_AdmitOnPolicyRaise);

// --- 10M waiting users -------------------------------------------------------

// Enters 10,000,000 users into one schedule's queue with active_max = 1 and
// reports enters/s and the memory per waiting user: the queue's own account
// (Stats().queue_state_bytes / queue_waiting) and the process RSS growth,
// which also holds the idempotency window (bounded at 262,144 records).
void BM_TenMillionWaiting(benchmark::State& state) {
  constexpr uint32_t kUsers = 10'000'000;
  constexpr ScheduleId kSchedule = 500;
  SharedFixture::Release();
  for (auto _ : state) {
    state.PauseTiming();
    auto shard = std::make_unique<BenchShard>();
    shard->CreateSchedule(BenchScheduleConfig(kSchedule, 1, ActiveMax(1)));
    const uint64_t resident_before = ResidentBytes();
    state.ResumeTiming();

    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < kUsers; ++i) {
      const Reply reply = shard->Apply(EnterCommand(kSchedule, 1 + i, shard->NextKey()));
      ENCORE_BENCH_REQUIRE(reply.ok(), "enter");
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;

    state.PauseTiming();
    const uint64_t resident_after = ResidentBytes();
    const CoreStats stats = shard->core().Stats();
    ENCORE_BENCH_REQUIRE(stats.queue_waiting == kUsers - 1, "all but one waiting");
    const double waiting = static_cast<double>(stats.queue_waiting);
    state.counters["enters_per_second"] = kUsers / elapsed.count();
    state.counters["bytes_per_waiting_user"] =
        static_cast<double>(stats.queue_state_bytes) / waiting;
    state.counters["rss_bytes_per_waiting_user"] =
        static_cast<double>(resident_after - resident_before) / waiting;
    shard.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kUsers);
}
BENCHMARK(BM_TenMillionWaiting)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace encore::bench

BENCHMARK_MAIN();
