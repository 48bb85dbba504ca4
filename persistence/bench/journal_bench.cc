// RocksDbJournal benchmarks: group-commit throughput (events/s) with two
// submitting shard threads, async and sync; sync commit latency p50/p99 as a
// shard sees it (Submit until DurableLsn covers the batch).
//
// A batch is 64 events of 100 bytes (4-byte record header + 96-byte payload),
// about what a shard emits for a batch of holds and payments.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "encore/rocksdb_journal.h"

namespace encore {
namespace {

constexpr uint32_t kShards = 2;
constexpr uint32_t kEventsPerBatch = 64;
constexpr uint16_t kPayloadBytes = 96;
// How far a shard runs ahead of the durable LSN before it waits, in batches
// (a shard keeps applying while its replies wait; bounded like its rings).
constexpr uint64_t kWindowBatches = 32;

class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/encore-journal-bench-XXXXXX";
    const char* made = mkdtemp(name);
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One batch of records that look like events: small integers, ids, zeros.
std::vector<uint8_t> MakeBatch(uint32_t shard, uint64_t first_lsn) {
  std::vector<uint8_t> bytes(kEventsPerBatch * (4 + kPayloadBytes));
  for (uint32_t i = 0; i < kEventsPerBatch; ++i) {
    uint8_t* record = bytes.data() + i * (4 + kPayloadBytes);
    const uint16_t header[2] = {static_cast<uint16_t>(1 + i % 9), kPayloadBytes};
    std::memcpy(record, header, 4);
    const uint64_t fields[4] = {first_lsn + i, shard * 1000003ull + i * 7919, 1700000000000ull + i,
                                (first_lsn * 2654435761ull) ^ i};
    std::memcpy(record + 4, fields, sizeof(fields));
  }
  return bytes;
}

std::unique_ptr<RocksDbJournal> OpenOrDie(const std::string& path, Durability durability) {
  RocksDbJournalOptions options;
  options.path = path;
  options.durability = durability;
  options.shards_max = kShards;
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
  if (!journal.ok()) {
    std::fprintf(stderr, "open: %s\n", journal.status().ToString().c_str());
    std::abort();
  }
  return *std::move(journal);
}

// Each shard thread submits `batches` batches, waiting only when it is
// kWindowBatches ahead of durable, then waits for all of them.
void RunShard(RocksDbJournal& journal, uint32_t shard, uint32_t batches) {
  uint64_t lsn = journal.LastLsn(shard);
  for (uint32_t i = 0; i < batches; ++i) {
    const std::vector<uint8_t> records = MakeBatch(shard, lsn + 1);
    journal.Submit(shard, lsn + 1, kEventsPerBatch, records);
    lsn += kEventsPerBatch;
    const uint64_t window_lsn = kWindowBatches * kEventsPerBatch;
    while (lsn > window_lsn && journal.DurableLsn(shard) < lsn - window_lsn) {
      journal.WaitDurable(shard, lsn - window_lsn, std::chrono::milliseconds(100));
    }
  }
  while (journal.DurableLsn(shard) < lsn && journal.status().ok()) {
    journal.WaitDurable(shard, lsn, std::chrono::milliseconds(100));
  }
}

void BM_GroupCommitThroughput(benchmark::State& state) {
  const auto durability = static_cast<Durability>(state.range(0));
  const auto batches_per_run = static_cast<uint32_t>(state.range(1));
  TempDir dir;
  std::unique_ptr<RocksDbJournal> journal = OpenOrDie(dir.path(), durability);
  for (auto _ : state) {
    std::vector<std::thread> shards;
    for (uint32_t shard = 0; shard < kShards; ++shard) {
      shards.emplace_back([&, shard] { RunShard(*journal, shard, batches_per_run); });
    }
    for (std::thread& thread : shards) thread.join();
  }
  const RocksDbJournalStats stats = journal->stats();
  const double events =
      static_cast<double>(state.iterations()) * kShards * batches_per_run * kEventsPerBatch;
  state.counters["events/s"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(stats.bytes_written) / 1e6,
                                              benchmark::Counter::kIsRate);
  state.counters["batches/group"] =
      static_cast<double>(stats.batches_written) / std::max<uint64_t>(stats.groups_written, 1);
  state.counters["group_write_us"] =
      static_cast<double>(stats.write_ns_total) / 1e3 / std::max<uint64_t>(stats.groups_written, 1);
  if (!journal->Close().ok()) state.SkipWithError("close failed");
}
BENCHMARK(BM_GroupCommitThroughput)
    ->ArgNames({"durability", "batches"})
    ->Args({static_cast<int>(Durability::kAsync), 2000})
    ->Args({static_cast<int>(Durability::kSync), 500})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Closed loop: each shard thread submits one batch and waits until it is
// durable, so the figure is one group commit's latency (two shards may share
// a group).
void BM_SyncCommitLatency(benchmark::State& state) {
  constexpr uint32_t kRounds = 200;
  TempDir dir;
  std::unique_ptr<RocksDbJournal> journal = OpenOrDie(dir.path(), Durability::kSync);
  std::vector<double> latencies_us;
  std::mutex latencies_mutex;
  for (auto _ : state) {
    std::vector<std::thread> shards;
    for (uint32_t shard = 0; shard < kShards; ++shard) {
      shards.emplace_back([&, shard] {
        std::vector<double> own;
        own.reserve(kRounds);
        uint64_t lsn = journal->LastLsn(shard);
        for (uint32_t i = 0; i < kRounds; ++i) {
          const std::vector<uint8_t> records = MakeBatch(shard, lsn + 1);
          const auto start = std::chrono::steady_clock::now();
          journal->Submit(shard, lsn + 1, kEventsPerBatch, records);
          lsn += kEventsPerBatch;
          while (journal->DurableLsn(shard) < lsn && journal->status().ok()) {
            journal->WaitDurable(shard, lsn, std::chrono::milliseconds(100));
          }
          own.push_back(
              std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                  .count());
        }
        std::lock_guard<std::mutex> lock(latencies_mutex);
        latencies_us.insert(latencies_us.end(), own.begin(), own.end());
      });
    }
    for (std::thread& thread : shards) thread.join();
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto percentile = [&](double p) {
    return latencies_us[static_cast<size_t>(p * static_cast<double>(latencies_us.size() - 1))];
  };
  state.counters["p50_us"] = percentile(0.50);
  state.counters["p99_us"] = percentile(0.99);
  state.counters["commits"] = static_cast<double>(latencies_us.size());
  if (!journal->Close().ok()) state.SkipWithError("close failed");
}
BENCHMARK(BM_SyncCommitLatency)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace encore

BENCHMARK_MAIN();
