// Cost of Core::Apply per command type, and of a realistic hold/pay/charge
// mix, on one thread (docs/design.md target: >= 5M commands/s for the mix); and the
// memory of a 1,000,000-seat schedule (target: <= 32 bytes per seat).
//
// Every benchmark drives the core through BenchShard: batches of 1024
// commands at one timestamp into one EventBuffer that is cleared per batch,
// with the idempotency window (262,144 request results) on. Each iteration is
// one command; items_per_second is commands per second. Setup that is not the
// measured command (entering users before holds, holding before releases) runs
// with the timer paused, in rounds of tens of thousands of commands.
//
// Run: core_apply_bench --benchmark_min_time=1
#include <cstdint>
#include <vector>

#include "bench_support.h"
#include "benchmark/benchmark.h"

namespace encore::bench {
namespace {

constexpr uint32_t kUserPool = 1'000'000;
constexpr Points kChargeAmount = 10'000;  // Pays for two seats at the top price.

// --- Memory of a schedule ----------------------------------------------------

void BM_BytesPerSeat(benchmark::State& state) {
  SharedFixture::Release();
  for (auto _ : state) {
    BenchShard shard;
    const uint64_t resident_before = ResidentBytes();
    shard.CreateSchedule(BenchScheduleConfig(10, kSeatsPerSchedule));
    const uint64_t resident_after = ResidentBytes();
    const CoreStats stats = shard.core().Stats();
    ENCORE_BENCH_REQUIRE(stats.seats == kSeatsPerSchedule, "one schedule of 1M seats");
    state.counters["seat_state_bytes_per_seat"] =
        static_cast<double>(stats.seat_state_bytes) / static_cast<double>(stats.seats);
    state.counters["rss_bytes_per_seat"] =
        static_cast<double>(resident_after - resident_before) / static_cast<double>(stats.seats);
  }
}
BENCHMARK(BM_BytesPerSeat)->Iterations(1)->Unit(benchmark::kMillisecond);

// Sells a whole 1M-seat schedule, one seat per user (enter, charge, hold,
// pay), and reports the process memory that the sale added per seat: seat
// arrays plus hold, payment, queue, account, ledger, timer and idempotency
// records. For context; the target is on seat state.
void BM_BytesPerSoldSeat(benchmark::State& state) {
  SharedFixture::Release();
  for (auto _ : state) {
    BenchShard shard;
    const uint64_t resident_before = ResidentBytes();
    constexpr ScheduleId kSchedule = 10;
    shard.CreateSchedule(BenchScheduleConfig(kSchedule, kSeatsPerSchedule));
    for (uint32_t k = 0; k < kSeatsPerSchedule; ++k) {
      const UserId user = 1 + k;
      const QueueToken token = shard.Enter(kSchedule, user);
      ENCORE_BENCH_REQUIRE(shard.Apply(ChargeCommand(user, kChargeAmount, shard.NextKey())).ok(),
                           "charge");
      const Reply hold =
          shard.Apply(HoldCommand(kSchedule, user, token, SeatAt(k), 0, 1, shard.NextKey()));
      ENCORE_BENCH_REQUIRE(hold.ok(), "hold");
      ENCORE_BENCH_REQUIRE(
          shard.Apply(PayCommand(kSchedule, user, token, hold.hold, shard.NextKey())).ok(), "pay");
    }
    const uint64_t resident_after = ResidentBytes();
    const CoreStats stats = shard.core().Stats();
    ENCORE_BENCH_REQUIRE(stats.seats_sold == kSeatsPerSchedule, "sold out");
    state.counters["rss_bytes_per_sold_seat"] =
        static_cast<double>(resident_after - resident_before) / static_cast<double>(stats.seats);
    state.SetItemsProcessed(4LL * kSeatsPerSchedule);
  }
}
BENCHMARK(BM_BytesPerSoldSeat)->Iterations(1)->Unit(benchmark::kMillisecond);

// --- Balance -----------------------------------------------------------------

// kUserPool accounts, each charged once.
struct AccountsFixture : SharedFixture {
  AccountsFixture() {
    for (uint32_t i = 0; i < kUserPool; ++i) {
      ENCORE_BENCH_REQUIRE(shard.Apply(ChargeCommand(1 + i, kChargeAmount, shard.NextKey())).ok(),
                           "charge");
    }
  }
  UserId NextUser() {
    if (++cursor == kUserPool) cursor = 0;
    return 1 + cursor;
  }
  BenchShard shard;
  uint32_t cursor = 0;
};

void BM_Charge(benchmark::State& state) {
  AccountsFixture& fixture = SharedFixture::Get<AccountsFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    const Reply reply = shard.Apply(ChargeCommand(fixture.NextUser(), 100, shard.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "charge");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Charge);

void BM_Balance(benchmark::State& state) {
  AccountsFixture& fixture = SharedFixture::Get<AccountsFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    const Reply reply = shard.Apply(BalanceCommand(fixture.NextUser()));
    ENCORE_BENCH_REQUIRE(reply.ok() && reply.balance > 0, "balance");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Balance);

// --- Admission queue ---------------------------------------------------------

// ENTER_QUEUE with no admission limit: every entrant is ACTIVE at once
// (QUEUE_ENTERED, QUEUE_ADMITTED and REQUEST_RECORDED events).
struct OpenQueueFixture : SharedFixture {
  static constexpr uint32_t kEntriesPerSchedule = 20'000'000;
  OpenQueueFixture() { NewSchedule(); }
  void NewSchedule() {
    shard.CreateSchedule(BenchScheduleConfig(++schedule, 1));
    entries = 0;
  }
  BenchShard shard;
  ScheduleId schedule = 100;
  uint32_t entries = 0;
  UserId next_user = 0;
};

void BM_EnterQueue(benchmark::State& state) {
  OpenQueueFixture& fixture = SharedFixture::Get<OpenQueueFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (fixture.entries == OpenQueueFixture::kEntriesPerSchedule) {
      state.PauseTiming();
      fixture.NewSchedule();
      state.ResumeTiming();
    }
    const Reply reply =
        shard.Apply(EnterCommand(fixture.schedule, ++fixture.next_user, shard.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok() && reply.queue_state == QueueState::kActive, "enter");
    ++fixture.entries;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnterQueue);

// kUserPool entries in one schedule, with `active_max` (0: all ACTIVE; 1: all
// but one WAITING).
template <uint32_t kActiveMax>
struct PollFixture : SharedFixture {
  PollFixture() {
    AdmissionPolicy policy;
    policy.active_max = kActiveMax;
    shard.CreateSchedule(BenchScheduleConfig(kSchedule, 1, policy));
    tokens.reserve(kUserPool);
    for (uint32_t i = 0; i < kUserPool; ++i) tokens.push_back(shard.Enter(kSchedule, 1 + i));
  }
  static constexpr ScheduleId kSchedule = 200;
  BenchShard shard;
  std::vector<QueueToken> tokens;
  // Entry 0 is the ACTIVE one when kActiveMax is 1: polls go to the others.
  uint32_t cursor = 0;
};

template <uint32_t kActiveMax, QueueState kExpected>
void BM_QueueStatus(benchmark::State& state) {
  using Fixture = PollFixture<kActiveMax>;
  Fixture& fixture = SharedFixture::Get<Fixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (++fixture.cursor == kUserPool) fixture.cursor = 1;
    const uint32_t i = fixture.cursor;
    const Reply reply = shard.Apply(StatusCommand(Fixture::kSchedule, 1 + i, fixture.tokens[i]));
    ENCORE_BENCH_REQUIRE(reply.ok() && reply.queue_state == kExpected, "queue status");
  }
  state.SetItemsProcessed(state.iterations());
}
// A WAITING poll is a heartbeat (an event, a list move, a Fenwick position
// query over 1M entries); an ACTIVE poll only reads.
BENCHMARK(BM_QueueStatus<1, QueueState::kWaiting>)->Name("BM_QueueStatus/waiting_1M");
BENCHMARK(BM_QueueStatus<0, QueueState::kActive>)->Name("BM_QueueStatus/active_1M");

// --- Seats -------------------------------------------------------------------

// A 1M-seat schedule and 125,000 ACTIVE users who take 8 one-seat holds each,
// at scattered seats. A sold-out schedule is replaced (timer paused).
struct HoldFixture : SharedFixture {
  static constexpr uint32_t kUsers = kSeatsPerSchedule / kHoldSeatsMax;
  HoldFixture() { NewSchedule(); }
  void NewSchedule() {
    shard.CreateSchedule(BenchScheduleConfig(++schedule, kSeatsPerSchedule));
    tokens.clear();
    for (uint32_t i = 0; i < kUsers; ++i) tokens.push_back(shard.Enter(schedule, 1 + i));
    held = 0;
  }
  BenchShard shard;
  ScheduleId schedule = 300;
  std::vector<QueueToken> tokens;
  uint32_t held = 0;
};

void BM_HoldSeats(benchmark::State& state) {
  HoldFixture& fixture = SharedFixture::Get<HoldFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (fixture.held == kSeatsPerSchedule) {
      state.PauseTiming();
      fixture.NewSchedule();
      state.ResumeTiming();
    }
    const uint32_t k = fixture.held++;
    const uint32_t i = k % HoldFixture::kUsers;
    const Reply reply = shard.Apply(
        HoldCommand(fixture.schedule, 1 + i, fixture.tokens[i], SeatAt(k), 0, 1, shard.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "hold");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HoldSeats);

// Rounds of 65,536 one-seat holds (made with the timer paused) by 8,192
// users, then released one by one (timed). The seats come back, so one
// schedule serves forever.
struct ReleaseFixture : SharedFixture {
  static constexpr uint32_t kRound = 1 << 16;
  static constexpr uint32_t kUsers = kRound / kHoldSeatsMax;
  static constexpr ScheduleId kSchedule = 400;
  ReleaseFixture() {
    shard.CreateSchedule(BenchScheduleConfig(kSchedule, kSeatsPerSchedule));
    for (uint32_t i = 0; i < kUsers; ++i) tokens.push_back(shard.Enter(kSchedule, 1 + i));
  }
  void HoldRound() {
    holds.clear();
    for (uint32_t j = 0; j < kRound; ++j) {
      const uint32_t i = j % kUsers;
      const Reply reply = shard.Apply(
          HoldCommand(kSchedule, 1 + i, tokens[i], SeatAt(seat_cursor++), 0, 1, shard.NextKey()));
      ENCORE_BENCH_REQUIRE(reply.ok(), "hold");
      holds.push_back(reply.hold);
    }
    cursor = 0;
  }
  BenchShard shard;
  std::vector<QueueToken> tokens;
  std::vector<HoldId> holds;
  uint64_t seat_cursor = 0;
  uint32_t cursor = 0;
};

void BM_ReleaseHold(benchmark::State& state) {
  ReleaseFixture& fixture = SharedFixture::Get<ReleaseFixture>();
  BenchShard& shard = fixture.shard;
  for (auto _ : state) {
    if (fixture.cursor == fixture.holds.size()) {
      state.PauseTiming();
      fixture.HoldRound();
      state.ResumeTiming();
    }
    const uint32_t j = fixture.cursor++;
    const UserId user = 1 + j % ReleaseFixture::kUsers;
    const Reply reply =
        shard.Apply(ReleaseCommand(ReleaseFixture::kSchedule, user, fixture.tokens[user - 1],
                                   fixture.holds[j], shard.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "release");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReleaseHold);

// Users who are ACTIVE, charged and holding, ready to pay; or the full flow.
// A round serves 65,536 users from a pool of 1M (each user's account lives
// on; a user enters each schedule at most once). A schedule with too few
// seats left for a round is replaced (timer paused).
class SaleFixture : public SharedFixture {
 public:
  static constexpr uint32_t kRound = 1 << 16;

  struct Buyer {
    UserId user;
    QueueToken token;
    HoldId hold;
  };

  SaleFixture() { buyers_.resize(kRound); }

  BenchShard& shard() { return shard_; }
  ScheduleId schedule() const { return schedule_; }

  // Picks the round's users, replacing the schedule when it cannot seat
  // 2 * kRound more.
  void NewRound() {
    if (schedule_ == 0 || seat_cursor_ + 2 * kRound > kSeatsPerSchedule) {
      schedule_ = schedule_ == 0 ? 500 : schedule_ + 1;
      shard_.CreateSchedule(BenchScheduleConfig(schedule_, kSeatsPerSchedule));
      seat_cursor_ = 0;
    }
    for (Buyer& buyer : buyers_) {
      buyer = Buyer{1 + user_cursor_, {}, 0};
      if (++user_cursor_ == kUserPool) user_cursor_ = 0;
    }
  }

  void Enter(uint32_t j) {
    Buyer& b = buyers_[j];
    b.token = shard_.Enter(schedule_, b.user);
  }
  void Charge(uint32_t j) {
    const Reply reply =
        shard_.Apply(ChargeCommand(buyers_[j].user, kChargeAmount, shard_.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "charge");
  }
  // Holds the next `seats` (1 or 2) seats of the schedule.
  void Hold(uint32_t j, uint8_t seats) {
    Buyer& b = buyers_[j];
    const Reply reply =
        shard_.Apply(HoldCommand(schedule_, b.user, b.token, SeatAt(seat_cursor_),
                                 SeatAt(seat_cursor_ + 1), seats, shard_.NextKey()));
    seat_cursor_ += seats;
    ENCORE_BENCH_REQUIRE(reply.ok(), "hold");
    b.hold = reply.hold;
  }
  void Pay(uint32_t j) {
    Buyer& b = buyers_[j];
    const Reply reply =
        shard_.Apply(PayCommand(schedule_, b.user, b.token, b.hold, shard_.NextKey()));
    ENCORE_BENCH_REQUIRE(reply.ok(), "pay");
  }

 private:
  BenchShard shard_;
  ScheduleId schedule_ = 0;
  uint64_t seat_cursor_ = 0;
  uint32_t user_cursor_ = 0;
  std::vector<Buyer> buyers_;
};

// PAY of a 1-seat hold: pin, debit, settle, token DONE. Each round's users
// are entered, charged and holding with the timer paused.
struct PayFixture : SaleFixture {
  void PrepareRound() {
    NewRound();
    for (uint32_t j = 0; j < kRound; ++j) {
      Enter(j);
      Charge(j);
    }
    for (uint32_t j = 0; j < kRound; ++j) Hold(j, 1);
    cursor = 0;
  }
  uint32_t cursor = kRound;
};

void BM_Pay(benchmark::State& state) {
  PayFixture& fixture = SharedFixture::Get<PayFixture>();
  for (auto _ : state) {
    if (fixture.cursor == SaleFixture::kRound) {
      state.PauseTiming();
      fixture.PrepareRound();
      state.ResumeTiming();
    }
    fixture.Pay(fixture.cursor++);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Pay);

// --- The mix -----------------------------------------------------------------

// Each buyer charges, holds 1 or 2 seats and pays (3 commands), optionally
// after entering the queue (4 commands). Buyers are interleaved as on a real
// shard: at step t buyer t does its first command, buyer t - kLag its second,
// and so on, so consecutive commands touch different users, holds and seats.
template <bool kWithEnter>
struct MixFixture : SaleFixture {
  static constexpr uint32_t kLag = 4096;
  static constexpr uint32_t kPhases = kWithEnter ? 4 : 3;

  void PrepareRound() {
    NewRound();
    if (!kWithEnter) {
      for (uint32_t j = 0; j < kRound; ++j) Enter(j);
    }
    step = 0;
    phase = 0;
  }

  // Applies the next command of the round; false when the round is over.
  bool Next() {
    for (;;) {
      if (step >= kRound + (kPhases - 1) * kLag) return false;
      const uint32_t current = phase;
      const int64_t j = static_cast<int64_t>(step) - static_cast<int64_t>(current) * kLag;
      if (++phase == kPhases) {
        phase = 0;
        ++step;
      }
      if (j < 0 || j >= kRound) continue;
      const uint32_t buyer_index = static_cast<uint32_t>(j);
      switch (kWithEnter ? current : current + 1) {
        case 0:
          Enter(buyer_index);
          break;
        case 1:
          Charge(buyer_index);
          break;
        case 2:
          // Even buyers take two seats, odd ones one: 1.5 seats per hold.
          Hold(buyer_index, buyer_index % 2 == 0 ? 2 : 1);
          break;
        default:
          Pay(buyer_index);
          break;
      }
      return true;
    }
  }

  uint32_t step = kRound + kPhases * kLag;  // Starts "over": the first Next() prepares.
  uint32_t phase = 0;
};

template <bool kWithEnter>
void BM_Mix(benchmark::State& state) {
  using Fixture = MixFixture<kWithEnter>;
  Fixture& fixture = SharedFixture::Get<Fixture>();
  for (auto _ : state) {
    if (!fixture.Next()) {
      state.PauseTiming();
      fixture.PrepareRound();
      state.ResumeTiming();
      fixture.Next();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
// The target figure: charge, hold (1-2 seats), pay per buyer; entries made
// with the timer paused.
BENCHMARK(BM_Mix<false>)->Name("BM_Mix/charge_hold_pay");
// The whole flow of a buyer, entering the queue included.
BENCHMARK(BM_Mix<true>)->Name("BM_Mix/enter_charge_hold_pay");

}  // namespace
}  // namespace encore::bench

BENCHMARK_MAIN();
