// What one more waiting user, account or ledger entry costs a shard: the
// core's own account of its memory by part (CoreStats, from container
// capacities), the process RSS growth, and the bytes of events its command
// hands the journal. Each run fills a fresh shard with `entries` of one kind
// and reports the figures per entry (docs/PERFORMANCE.md, "Memory per entry").
//
// The idempotency window (262,144 records by default) is part of the cost of
// every mutating command until it is full, and nothing after: runs below and
// above that size show both sides.
#include <benchmark/benchmark.h>

#include <memory>

#include "bench_support.h"

namespace encore::bench {
namespace {

enum Kind : int64_t { kWaiting = 0, kAccounts = 1, kLedgerEntries = 2 };

uint64_t CoreBytes(const CoreStats& stats) {
  return stats.seat_state_bytes + stats.hold_state_bytes + stats.account_state_bytes +
         stats.ledger_state_bytes + stats.queue_state_bytes + stats.request_result_bytes;
}

void BM_BytesPerEntry(benchmark::State& state) {
  const Kind kind = static_cast<Kind>(state.range(0));
  const uint32_t entries = static_cast<uint32_t>(state.range(1));
  constexpr ScheduleId kSchedule = 600;
  constexpr UserId kLedgerUser = 1;
  CoreOptions options = BenchCoreOptions();
  options.limits.ledger_entries_max = CoreLimits::kLedgerEntriesMaxLimit;
  for (auto _ : state) {
    auto shard = std::make_unique<BenchShard>(options);
    // One ACTIVE at a time, so every other entrant waits.
    AdmissionPolicy one_active;
    one_active.active_max = 1;
    shard->CreateSchedule(BenchScheduleConfig(kSchedule, 1, one_active));
    if (kind == kLedgerEntries) {
      ENCORE_BENCH_REQUIRE(shard->Apply(ChargeCommand(kLedgerUser, 1, shard->NextKey())).ok(),
                           "charge");
    }
    shard->EndBatch();
    const CoreStats before = shard->core().Stats();
    const uint64_t resident_before = ResidentBytes();
    const uint64_t journaled_before = shard->journaled_bytes();
    for (uint32_t i = 0; i < entries; ++i) {
      Command command;
      switch (kind) {
        case kWaiting:
          command = EnterCommand(kSchedule, 1'000 + i, shard->NextKey());
          break;
        case kAccounts:
          command = ChargeCommand(1'000 + i, 100, shard->NextKey());
          break;
        case kLedgerEntries:
          command = ChargeCommand(kLedgerUser, 1, shard->NextKey());
          break;
      }
      ENCORE_BENCH_REQUIRE(shard->Apply(command).ok(), "command refused");
    }
    const CoreStats after = shard->core().Stats();
    const double n = entries;
    auto per = [n](uint64_t a, uint64_t b) { return (static_cast<double>(a) - b) / n; };
    state.counters["core_B"] = per(CoreBytes(after), CoreBytes(before));
    state.counters["queue_B"] = per(after.queue_state_bytes, before.queue_state_bytes);
    state.counters["accounts_B"] = per(after.account_state_bytes, before.account_state_bytes);
    state.counters["ledgers_B"] = per(after.ledger_state_bytes, before.ledger_state_bytes);
    state.counters["request_results_B"] =
        per(after.request_result_bytes, before.request_result_bytes);
    state.counters["rss_B"] = per(ResidentBytes(), resident_before);
    state.counters["journal_B"] = per(shard->journaled_bytes(), journaled_before);
  }
}
BENCHMARK(BM_BytesPerEntry)
    ->ArgNames({"kind", "entries"})
    ->ArgsProduct({{kWaiting, kAccounts, kLedgerEntries}, {200'000, 1'000'000}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace encore::bench

BENCHMARK_MAIN();
