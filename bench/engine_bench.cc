// Benchmarks of the sharded runtime: SPSC ring hand-off between two threads,
// end-to-end commands/s through the Engine (no-op journal) on 1 and 2 shards,
// and the CPU an idle engine uses.
//
// Run: build/bench/engine_bench
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/lockfree/spsc_queue.hpp"
#include "encore/commands.h"
#include "encore/engine.h"

namespace encore {
namespace {

constexpr TimestampMs kNowMs = 1'767'261'600'000;

// Hand-off of `Message` through one spsc_queue from a producer thread to the
// benchmark thread: messages per second.
template <size_t kBytes>
void BM_SpscHandoff(benchmark::State& state) {
  struct Message {
    uint8_t bytes[kBytes];
  };
  boost::lockfree::spsc_queue<Message> ring(4096);
  const int64_t total = 1 << 22;
  for (auto _ : state) {
    std::thread producer([&] {
      Message message{};
      for (int64_t i = 0; i < total; ++i) {
        std::memcpy(message.bytes, &i, sizeof(i));
        while (!ring.push(message)) {
        }
      }
    });
    Message message;
    int64_t received = 0;
    while (received < total) {
      received += static_cast<int64_t>(ring.pop(&message, 1));
    }
    producer.join();
    benchmark::DoNotOptimize(message);
  }
  state.SetItemsProcessed(state.iterations() * total);
  state.counters["message_bytes"] = kBytes;
}
BENCHMARK(BM_SpscHandoff<16>)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SpscHandoff<sizeof(Command) + 16>)->Unit(benchmark::kMillisecond)->UseRealTime();

Command Charge(UserId user, RequestKey key) { return MakeCharge(user, 1, key); }

// One producer keeps `depth` commands in flight (pipelined) against an engine
// of state.range(0) shards; the mix is charges (mutating, idempotency
// recorded) and balance reads over 100,000 users.
void BM_EngineCharges(benchmark::State& state) {
  EngineOptions options;
  options.shards = static_cast<uint32_t>(state.range(0));
  options.ring_capacity = 4096;
  options.batch_max = 512;
  options.token_key = {1, 2};
  auto engine = Engine::Open(options);
  auto producer = (*engine)->NewProducer();
  const uint32_t depth = 2048 * options.shards;
  std::vector<Completion> completions(1024);
  RequestKey key = 0;
  uint64_t done = 0;
  uint64_t errors = 0;
  for (auto _ : state) {
    const uint64_t batch = 1 << 18;
    uint64_t submitted = 0;
    uint64_t completed = 0;
    while (completed < batch) {
      while (submitted < batch && (*producer)->in_flight() < depth) {
        const UserId user = 1 + (submitted * 7919) % 100'000;
        Command command = Charge(user, ++key);
        if (submitted % 4 == 3) command.type = CommandType::kBalance;
        if ((*producer)->Submit(command, submitted) != ResultCode::kOk) break;
        ++submitted;
      }
      const size_t taken = (*producer)->Wait(completions, std::chrono::milliseconds(10));
      for (size_t i = 0; i < taken; ++i) errors += !completions[i].reply.ok();
      completed += taken;
    }
    done += completed;
  }
  state.SetItemsProcessed(static_cast<int64_t>(done));
  state.counters["errors"] = static_cast<double>(errors);
  (*engine)->Close();
}
BENCHMARK(BM_EngineCharges)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Hold and release cycles by admitted fans, through the engine: two
// commands per cycle, both on the schedule's shard.
void BM_EngineHoldRelease(benchmark::State& state) {
  EngineOptions options;
  options.shards = static_cast<uint32_t>(state.range(0));
  options.token_key = {1, 2};
  auto engine = Engine::Open(options);
  auto producer = (*engine)->NewProducer();
  RequestKey key = 0;
  Command concert;
  concert.type = CommandType::kCreateConcert;
  concert.concert = 1;
  concert.request_key = ++key;
  std::strcpy(concert.title.data(), "bench");
  (*producer)->Call(concert);
  constexpr uint32_t kSchedules = 4;
  constexpr uint32_t kFans = 1000;
  const TimestampMs now = SystemClock().NowMs();
  for (uint32_t s = 0; s < kSchedules; ++s) {
    Command schedule;
    schedule.type = CommandType::kCreateSchedule;
    schedule.request_key = ++key;
    ScheduleConfig& config = schedule.schedule_config;
    config.concert = 1;
    config.schedule = 100 + s;
    config.sale_opens_at_ms = now - 1'000;
    config.sale_closes_at_ms = now + 24 * 3'600'000LL;
    config.seat_count = 100'000;
    config.tier_count = 1;
    config.tiers[0] = PriceTier{0, 0, 1'000};
    (*producer)->Call(schedule);
  }
  std::vector<QueueToken> tokens(kFans * kSchedules);
  for (uint32_t s = 0; s < kSchedules; ++s) {
    for (uint32_t fan = 0; fan < kFans; ++fan) {
      Command enter;
      enter.type = CommandType::kEnterQueue;
      enter.schedule = 100 + s;
      enter.user = fan + 1;
      enter.request_key = ++key;
      tokens[s * kFans + fan] = (*producer)->Call(enter).token;
    }
  }
  // Each fan holds its own seat and releases it: hold ids come back in the
  // hold's reply, so the release follows when the hold completes.
  std::vector<Completion> completions(1024);
  uint64_t done = 0;
  uint64_t errors = 0;
  // A fan starts its next cycle only after its release is answered.
  std::vector<bool> busy(kFans * kSchedules, false);
  uint32_t next_slot = 0;
  for (auto _ : state) {
    const uint64_t cycles = 1 << 16;
    uint64_t started = 0;
    uint64_t finished = 0;
    while (finished < cycles) {
      while (started < cycles && (*producer)->in_flight() < 2048 && !busy[next_slot]) {
        const uint32_t slot = next_slot;
        next_slot = (next_slot + 1) % (kFans * kSchedules);
        busy[slot] = true;
        Command hold;
        hold.type = CommandType::kHoldSeats;
        hold.schedule = 100 + slot / kFans;
        hold.user = slot % kFans + 1;
        hold.token = tokens[slot];
        hold.seat_count = 1;
        hold.seats[0] = slot % kFans;
        hold.request_key = ++key;
        // Tag: the slot, with the top bit marking a hold.
        if ((*producer)->Submit(hold, (uint64_t{1} << 63) | slot) != ResultCode::kOk) break;
        ++started;
      }
      const size_t taken = (*producer)->Wait(completions, std::chrono::milliseconds(10));
      for (size_t i = 0; i < taken; ++i) {
        const Completion& completion = completions[i];
        if (!completion.reply.ok()) ++errors;
        if ((completion.tag >> 63) == 0) {
          busy[completion.tag] = false;
          ++finished;
          continue;
        }
        const uint32_t slot = static_cast<uint32_t>(completion.tag & 0xffffffffu);
        Command release;
        release.type = CommandType::kReleaseHold;
        release.schedule = 100 + slot / kFans;
        release.user = slot % kFans + 1;
        release.hold = completion.reply.hold;
        release.hold_proof = completion.reply.hold_proof;
        release.request_key = ++key;
        while ((*producer)->Submit(release, slot) != ResultCode::kOk) {
        }
      }
    }
    done += 2 * cycles;
  }
  state.SetItemsProcessed(static_cast<int64_t>(done));
  state.counters["errors"] = static_cast<double>(errors);
  (*engine)->Close();
}
BENCHMARK(BM_EngineHoldRelease)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// An open engine with no work: CPU used by the process over one second of
// wall time, in percent of one core.
void BM_IdleEngineCpu(benchmark::State& state) {
  EngineOptions options;
  options.shards = static_cast<uint32_t>(state.range(0));
  options.token_key = {1, 2};
  auto engine = Engine::Open(options);
  auto producer = (*engine)->NewProducer();
  // Let the threads finish their spin and block.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  double cpu_percent = 0;
  for (auto _ : state) {
    const double before = ProcessCpuSeconds();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    cpu_percent = (ProcessCpuSeconds() - before) * 100.0;
  }
  state.counters["idle_cpu_percent"] = cpu_percent;
  (*engine)->Close();
}
BENCHMARK(BM_IdleEngineCpu)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace encore

BENCHMARK_MAIN();
