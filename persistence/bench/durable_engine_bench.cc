// The engine on the RocksDB journal: commands/s in async and sync mode,
// commit latency in sync mode, replay rate and recovery time (10M events, with
// and without snapshots), and the stall of one snapshot of a 1M-seat shard.
//
// Run: build/persistence/durable_engine_bench   (data under /tmp, removed)
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "encore/commands.h"
#include "encore/engine.h"
#include "encore/rocksdb_journal.h"

namespace encore {
namespace {

std::string TempDir() {
  char dir_template[] = "/tmp/encore-durable-bench-XXXXXX";
  return std::string(mkdtemp(dir_template));
}

struct DurableEngine {
  std::unique_ptr<RocksDbJournal> journal;
  std::unique_ptr<Engine> engine;
};

DurableEngine Open(const std::string& path, Durability durability, uint32_t shards,
                   uint64_t snapshot_every_events) {
  RocksDbJournalOptions journal_options;
  journal_options.path = path;
  journal_options.durability = durability;
  DurableEngine durable;
  durable.journal = std::move(*RocksDbJournal::Open(journal_options));
  EngineOptions options;
  options.shards = shards;
  options.journal = durable.journal.get();
  options.token_key = {1, 2};
  options.snapshot_every_events = snapshot_every_events;
  auto engine = Engine::Open(options);
  if (!engine.ok()) std::abort();
  durable.engine = std::move(*engine);
  return durable;
}

Command Charge(UserId user, RequestKey key) { return MakeCharge(user, 1, key); }

// Submits `count` charges pipelined (depth in flight) and waits for all.
void PipelinedCharges(Producer& producer, uint64_t count, uint32_t depth, RequestKey* key,
                      uint64_t* errors) {
  std::vector<Completion> completions(1024);
  uint64_t submitted = 0;
  uint64_t completed = 0;
  while (completed < count) {
    while (submitted < count && producer.in_flight() < depth) {
      if (producer.Submit(Charge(1 + (submitted * 7919) % 100'000, ++*key), submitted) !=
          ResultCode::kOk) {
        break;
      }
      ++submitted;
    }
    const size_t taken = producer.Wait(completions, std::chrono::milliseconds(10));
    for (size_t i = 0; i < taken; ++i) *errors += !completions[i].reply.ok();
    completed += taken;
  }
}

// Commands/s through the engine on RocksDB; range(0): 0 async, 1 sync;
// range(1): shards.
void BM_DurableEngineCharges(benchmark::State& state) {
  const Durability durability = state.range(0) == 0 ? Durability::kAsync : Durability::kSync;
  const std::string dir = TempDir();
  DurableEngine durable = Open(dir + "/data", durability, static_cast<uint32_t>(state.range(1)), 0);
  auto producer = std::move(*durable.engine->NewProducer());
  RequestKey key = 0;
  uint64_t errors = 0;
  uint64_t done = 0;
  for (auto _ : state) {
    PipelinedCharges(*producer, 1 << 18, 4096, &key, &errors);
    done += 1 << 18;
  }
  state.SetItemsProcessed(static_cast<int64_t>(done));
  state.counters["errors"] = static_cast<double>(errors);
  const RocksDbJournalStats stats = durable.journal->stats();
  state.counters["events_per_group"] =
      stats.groups_written ? static_cast<double>(stats.events_written) / stats.groups_written : 0;
  durable.engine->Close();
  durable.engine.reset();
  if (!durable.journal->Close().ok()) state.SkipWithError("close failed");
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_DurableEngineCharges)
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->ArgNames({"sync", "shards"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Sync mode, one command at a time: the latency a client sees, reply
// released only after its batch's fsync. Reports p50 and p99 in microseconds.
void BM_SyncCommitLatency(benchmark::State& state) {
  const std::string dir = TempDir();
  DurableEngine durable = Open(dir + "/data", Durability::kSync, 1, 0);
  auto producer = std::move(*durable.engine->NewProducer());
  RequestKey key = 0;
  std::vector<double> micros;
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    ++key;
    benchmark::DoNotOptimize(producer->Call(Charge(1 + key % 1000, key)));
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
            .count());
  }
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  durable.engine->Close();
  durable.engine.reset();
  if (!durable.journal->Close().ok()) state.SkipWithError("close failed");
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SyncCommitLatency)->Iterations(2000)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Writes about `events` events (charges: 2 events each), closes, then times
// Engine::Open, which recovers: range(0) is 0 without snapshots, 1 with one
// every 1,048,576 events. Reports the replay rate and the recovery time.
void BM_Recovery(benchmark::State& state) {
  const uint64_t events = static_cast<uint64_t>(state.range(1));
  const bool snapshots = state.range(0) == 1;
  const std::string dir = TempDir();
  {
    DurableEngine durable = Open(dir + "/data", Durability::kAsync, 1, snapshots ? 1u << 20 : 0);
    auto producer = std::move(*durable.engine->NewProducer());
    RequestKey key = 0;
    uint64_t errors = 0;
    PipelinedCharges(*producer, events / 2, 4096, &key, &errors);
    durable.engine->Close();
    durable.engine.reset();
    if (!durable.journal->Close().ok()) state.SkipWithError("close failed");
  }
  double seconds = 0;
  uint64_t replayed = 0;
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    DurableEngine durable = Open(dir + "/data", Durability::kAsync, 1, 0);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    replayed = durable.engine->shard_stats(0).recovered_events;
    durable.engine->Close();
    durable.engine.reset();
    if (!durable.journal->Close().ok()) state.SkipWithError("close failed");
  }
  state.counters["recovery_s"] = seconds;
  state.counters["events_replayed"] = static_cast<double>(replayed);
  state.counters["replay_events_per_s"] = replayed / seconds;
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Recovery)
    ->Args({0, 10'000'000})
    ->Args({1, 10'000'000})
    ->ArgNames({"snapshots", "events"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One snapshot of a shard that holds a 1M-seat schedule: how long the shard
// stops for it (wait for durable, serialize 8 MB of seat state, store with
// fsync).
void BM_SnapshotStall1MSeats(benchmark::State& state) {
  const std::string dir = TempDir();
  DurableEngine durable = Open(dir + "/data", Durability::kSync, 1, 1);
  auto producer = std::move(*durable.engine->NewProducer());
  RequestKey key = 0;
  Command concert;
  concert.type = CommandType::kCreateConcert;
  concert.concert = 1;
  concert.request_key = ++key;
  std::strcpy(concert.title.data(), "stall");
  producer->Call(concert);
  Command schedule;
  schedule.type = CommandType::kCreateSchedule;
  schedule.request_key = ++key;
  ScheduleConfig& config = schedule.schedule_config;
  const TimestampMs now = SystemClock().NowMs();
  config.concert = 1;
  config.schedule = 1;
  config.sale_opens_at_ms = now - 1'000;
  config.sale_closes_at_ms = now + 3'600'000;
  config.seat_count = kSeatsPerScheduleMax;
  config.seats_per_user_max = kHoldSeatsMax;
  config.tier_count = 1;
  config.tiers[0] = PriceTier{0, 0, 1'000};
  producer->Call(schedule);
  uint64_t snapshot_bytes = 0;
  double stall_ms = 0;
  for (auto _ : state) {
    // One more command: the shard snapshots after its batch (every event).
    benchmark::DoNotOptimize(producer->Call(Charge(1, ++key)));
    const ShardStats stats = durable.engine->shard_stats(0);
    stall_ms = stats.last_snapshot_stall_us / 1000.0;
    snapshot_bytes = stats.last_snapshot_bytes;
  }
  state.counters["stall_ms"] = stall_ms;
  state.counters["snapshot_bytes"] = static_cast<double>(snapshot_bytes);
  durable.engine->Close();
  durable.engine.reset();
  if (!durable.journal->Close().ok()) state.SkipWithError("close failed");
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SnapshotStall1MSeats)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace encore

BENCHMARK_MAIN();
