// Helpers shared by the core benchmarks: command builders, a shard-like driver
// that applies commands in batches at one timestamp, and memory readings.
//
// The benchmarks cannot link the test support library, so the builders here
// mirror tests/support/core_fixture.h in small form. Header-only: each
// bench/*_bench.cc is its own binary.
#ifndef ENCORE_BENCH_BENCH_SUPPORT_H_
#define ENCORE_BENCH_BENCH_SUPPORT_H_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "encore/command.h"
#include "encore/commands.h"
#include "encore/core.h"
#include "encore/event_buffer.h"
#include "encore/reply.h"

namespace encore::bench {

inline constexpr ConcertId kConcert = 1;
inline constexpr TimestampMs kSaleOpensMs = 1'000'000;
inline constexpr TimestampMs kSaleClosesMs = kSaleOpensMs + 30LL * 24 * 3'600'000;
inline constexpr uint32_t kSeatsPerSchedule = kSeatsPerScheduleMax;
// A stride coprime with kSeatsPerSchedule (1,000,000 = 2^6 * 5^6): seat k of a
// schedule is SeatAt(k), a permutation that scatters holds over the whole
// seat array, as buyers picking from a seat map do.
inline constexpr uint64_t kSeatStride = 999'983;
static_assert(kSeatStride % 2 != 0 && kSeatStride % 5 != 0);

inline SeatIndex SeatAt(uint64_t k) {
  return static_cast<SeatIndex>((k * kSeatStride) % kSeatsPerSchedule);
}

// Aborts with a message: a benchmark whose commands are refused measures the
// wrong thing, so it must not report a figure.
#define ENCORE_BENCH_REQUIRE(condition, what)                                                \
  do {                                                                                       \
    if (__builtin_expect(!(condition), 0)) {                                                 \
      std::fprintf(stderr, "%s:%d: benchmark setup broken: %s\n", __FILE__, __LINE__, what); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

inline CoreOptions BenchCoreOptions() {
  CoreOptions options;
  options.token_key = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  // request_results_max stays at its default (262,144): the idempotency
  // window is part of the cost of every mutating command.
  return options;
}

// A `seat_count`-seat schedule in two price tiers (5000, and 3000 from the
// middle seat on; one tier for a 1-seat schedule), a per-user
// limit of kHoldSeatsMax, and the longest heartbeat timeout so that waiting
// entries that a benchmark never polls are not dropped during a long run.
inline ScheduleConfig BenchScheduleConfig(ScheduleId schedule, uint32_t seat_count,
                                          AdmissionPolicy policy = {}) {
  ScheduleConfig config;
  config.concert = kConcert;
  config.schedule = schedule;
  config.performance_at_ms = kSaleClosesMs + 1;
  config.sale_opens_at_ms = kSaleOpensMs;
  config.sale_closes_at_ms = kSaleClosesMs;
  config.heartbeat_timeout_ms = kHeartbeatTimeoutMaxMs;
  config.seat_count = seat_count;
  config.seats_per_user_max = kHoldSeatsMax;
  config.policy = policy;
  config.tier_count = seat_count >= 2 ? 2 : 1;
  config.tiers[0] = PriceTier{0, 0, 5000};
  if (config.tier_count == 2) config.tiers[1] = PriceTier{seat_count / 2, 0, 3000};
  return config;
}

// Short names for the builders of encore/commands.h, as the benchmarks use them.
inline Command CreateConcertCommand(ConcertId concert, RequestKey key) {
  return MakeCreateConcert(concert, "Benchmark", key);
}
inline Command CreateScheduleCommand(const ScheduleConfig& config, RequestKey key) {
  return MakeCreateSchedule(config, key);
}
inline Command SetPolicyCommand(ScheduleId schedule, AdmissionPolicy policy, RequestKey key) {
  return MakeSetAdmissionPolicy(schedule, policy, key);
}
inline Command EnterCommand(ScheduleId schedule, UserId user, RequestKey key) {
  return MakeEnterQueue(schedule, user, key);
}
inline Command StatusCommand(ScheduleId schedule, UserId user, QueueToken token) {
  return MakeQueueStatus(schedule, user, token);
}
inline Command LeaveCommand(ScheduleId schedule, UserId user, QueueToken token, RequestKey key) {
  return MakeLeaveQueue(schedule, user, token, key);
}
// A hold of seat_count (1 or 2) seats: `first`, then `second`.
inline Command HoldCommand(ScheduleId schedule, UserId user, QueueToken token, SeatIndex first,
                           SeatIndex second, uint8_t seat_count, RequestKey key) {
  const SeatIndex seats[2] = {first, second};
  return MakeHoldSeats(schedule, user, token, std::span<const SeatIndex>(seats, seat_count), key);
}
inline Command ReleaseCommand(ScheduleId schedule, UserId user, QueueToken token, HoldId hold,
                              RequestKey key) {
  return MakeReleaseHold(schedule, user, token, hold, key);
}
inline Command PayCommand(ScheduleId schedule, UserId user, QueueToken token, HoldId hold,
                          RequestKey key) {
  return MakePay(schedule, user, token, hold, key);
}
inline Command ChargeCommand(UserId user, Points amount, RequestKey key) {
  return MakeCharge(user, amount, key);
}
inline Command BalanceCommand(UserId user) { return MakeBalance(user); }

// Drives a Core the way a shard thread does: commands are applied in batches
// of kBatchCommands at one timestamp into one EventBuffer, which is cleared
// after each batch (where the runtime would hand it to the journal), so the
// buffer stays warm and bounded. The clock moves 1 ms per batch.
class BenchShard {
 public:
  static constexpr uint32_t kBatchCommands = 1024;

  explicit BenchShard(const CoreOptions& options = BenchCoreOptions()) : core_(options) {
    events_.Reserve(1 << 20);
    const Reply reply = Apply(CreateConcertCommand(kConcert, NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "create concert");
  }

  Reply Apply(const Command& command) {
    const Reply reply = core_.Apply(command, now_, &events_);
    if (++batch_commands_ == kBatchCommands) EndBatch();
    return reply;
  }

  void EndBatch() {
    journaled_bytes_ += events_.bytes().size();
    events_.Clear();
    batch_commands_ = 0;
    ++now_;
  }

  void CreateSchedule(const ScheduleConfig& config) {
    const Reply reply = Apply(CreateScheduleCommand(config, NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "create schedule");
  }

  // Enters `user` into `schedule` and returns the token.
  QueueToken Enter(ScheduleId schedule, UserId user) {
    const Reply reply = Apply(EnterCommand(schedule, user, NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "enter queue");
    return reply.token;
  }

  // Request keys are unique across all users, so no command is ever a repeat.
  RequestKey NextKey() { return ++last_key_; }
  Core& core() { return core_; }
  TimestampMs now() const { return now_; }
  // Bytes of event records so far: what the journal is handed to write.
  uint64_t journaled_bytes() const { return journaled_bytes_ + events_.bytes().size(); }

 private:
  Core core_;
  EventBuffer events_;
  TimestampMs now_ = kSaleOpensMs;
  uint32_t batch_commands_ = 0;
  RequestKey last_key_ = 0;
  uint64_t journaled_bytes_ = 0;
};

// Resident set size of this process, from /proc/self/statm.
inline uint64_t ResidentBytes() {
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  if (file == nullptr) return 0;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int read = std::fscanf(file, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(file);
  if (read != 2) return 0;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// A benchmark's state, kept across the runs Google Benchmark makes of one
// benchmark (1, 10, 100, ... iterations) so that expensive setup is done once.
// Only one fixture lives at a time: asking for another type frees the last.
class SharedFixture {
 public:
  virtual ~SharedFixture() = default;

  template <typename T>
  static T& Get() {
    std::unique_ptr<SharedFixture>& current = Current();
    T* fixture = dynamic_cast<T*>(current.get());
    if (fixture == nullptr) {
      current.reset();
      auto created = std::make_unique<T>();
      fixture = created.get();
      current = std::move(created);
    }
    return *fixture;
  }

  static void Release() { Current().reset(); }

 private:
  static std::unique_ptr<SharedFixture>& Current() {
    static std::unique_ptr<SharedFixture> current;
    return current;
  }
};

}  // namespace encore::bench

#endif  // ENCORE_BENCH_BENCH_SUPPORT_H_
