// Recovery of the sharded engine from its journal (in memory here; the
// RocksDB journal has its own tests): reopen with the same state, repeats
// answered from the record across a restart, snapshot + replay == full
// replay, a crash at random moments keeps every acknowledged command, a
// corrupt record stops recovery naming shard and LSN, and an in-doubt
// cross-shard payment is resolved whether or not its debit was durable; a
// shard goes on answering while its snapshot is being stored.
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "encore/commands.h"
#include "encore/engine.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/in_memory_journal.h"

namespace encore::testing {
namespace {

std::unique_ptr<Engine> OpenOn(Journal* journal, uint32_t shards, const Clock* clock,
                               uint64_t snapshot_every_events = 0,
                               uint32_t snapshot_log_ratio = 0) {
  EngineOptions options;
  options.shards = shards;
  options.journal = journal;
  options.clock = clock;
  options.token_key = TestCoreOptions().token_key;
  options.snapshot_every_events = snapshot_every_events;
  options.snapshot_log_ratio = snapshot_log_ratio;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

std::vector<uint64_t> ShardHashes(Engine& engine) {
  std::vector<uint64_t> hashes;
  for (uint32_t shard = 0; shard < engine.shard_count(); ++shard) {
    engine.Inspect(shard, [&](const Core& core) {
      EXPECT_TRUE(core.CheckInvariants().ok()) << core.CheckInvariants();
      hashes.push_back(core.StateHash());
    });
  }
  return hashes;
}

struct Acked {
  Command command;
  Reply reply;
};

// A workload of fans over 3 schedules: charge, enter, hold, pay (some
// release). Returns every command with its reply, in order.
std::vector<Acked> RunFans(Producer& producer, uint64_t seed, uint32_t fans, RequestKey* key,
                           bool setup) {
  std::vector<Acked> acked;
  auto call = [&](Command command) {
    command.request_key = ++*key;
    acked.push_back({command, producer.Call(command)});
    return acked.back().reply;
  };
  if (setup) {
    call(CreateConcertCommand(kConcert, "Recovery", 0));
    for (uint32_t i = 0; i < 3; ++i)
      call(CreateScheduleCommand(MakeScheduleConfig(kSchedule + i, 30), 0));
  }
  std::mt19937_64 random(seed);
  for (uint32_t fan = 0; fan < fans; ++fan) {
    const UserId user = 1 + random() % 200;
    const ScheduleId schedule = kSchedule + random() % 3;
    call(ChargeCommand(user, 3'000 + random() % 9'000, 0));
    const Reply entered = call(EnterCommand(schedule, user, 0));
    if (!entered.ok()) continue;
    const Reply held = call(
        HoldCommand(schedule, user, entered.token, {static_cast<SeatIndex>(random() % 30)}, 0));
    if (!held.ok()) continue;
    if (random() % 4 == 0) {
      call(ReleaseWithProofCommand(schedule, user, held.hold, held.hold_proof, 0));
    } else {
      call(PayCommand(schedule, user, entered.token, held.hold, 0));
    }
  }
  return acked;
}

void ExpectRepeatsAnsweredFromTheRecord(Producer& producer, const std::vector<Acked>& acked) {
  for (const Acked& done : acked) {
    if (!IsMutating(done.command.type)) continue;
    const Reply again = producer.Call(done.command);
    ASSERT_EQ(std::memcmp(&again, &done.reply, sizeof(Reply)), 0)
        << "a repeat after restart of " << static_cast<int>(done.command.type) << " key "
        << done.command.request_key << " got " << ResultCodeName(again.code) << ", first "
        << ResultCodeName(done.reply.code);
  }
}

TEST(RecoveryTest, ReopenRestoresTheSameStateAndRecordedReplies) {
  ManualClock clock(kSaleOpensMs);
  InMemoryJournal journal;
  std::vector<uint64_t> before;
  std::vector<Acked> acked;
  {
    auto engine = OpenOn(&journal, 2, &clock);
    auto producer = std::move(*engine->NewProducer());
    RequestKey key = 0;
    acked = RunFans(*producer, 7, 150, &key, true);
    engine->Close();
    before = ShardHashes(*engine);
  }
  auto reopened = OpenOn(&journal, 2, &clock);
  EXPECT_EQ(ShardHashes(*reopened), before);
  EXPECT_GT(reopened->shard_stats(0).recovered_events + reopened->shard_stats(1).recovered_events,
            0u);
  auto producer = std::move(*reopened->NewProducer());
  ExpectRepeatsAnsweredFromTheRecord(*producer, acked);
}

// The limits decide only new commands, from the recovered state: a queue or
// a shard full before the restart is full after it, with or without a
// snapshot, and room made after it is room.
TEST(RecoveryTest, LimitsMakeTheSameDecisionsAfterRecovery) {
  for (const uint64_t snapshot_every : {uint64_t{0}, uint64_t{5}}) {
    SCOPED_TRACE(snapshot_every);
    ManualClock clock(kSaleOpensMs);
    InMemoryJournal journal;
    EngineOptions options;
    options.journal = &journal;
    options.clock = &clock;
    options.token_key = TestCoreOptions().token_key;
    options.snapshot_every_events = snapshot_every;
    options.snapshot_log_ratio = 0;
    options.limits.queue_waiting_max = 2;
    options.limits.accounts_max = 3;
    options.limits.ledger_entries_max = 2;
    ScheduleConfig config = MakeScheduleConfig();
    config.policy.active_max = 1;
    std::vector<QueueToken> tokens(5);
    std::vector<uint64_t> before;
    {
      auto engine = std::move(*Engine::Open(options));
      auto producer = std::move(*engine->NewProducer());
      ASSERT_TRUE(producer->Call(CreateConcertCommand(kConcert, "Limits", 1)).ok());
      ASSERT_TRUE(producer->Call(CreateScheduleCommand(config, 2)).ok());
      for (UserId user = 1; user <= 3; ++user) {
        ASSERT_TRUE(producer->Call(ChargeCommand(user, 100, 10 + user)).ok());
        ASSERT_TRUE(producer->Call(ChargeCommand(user, 200, 20 + user)).ok());
        ASSERT_TRUE(producer->Call(ChargeCommand(user, 300, 30 + user)).ok());
        tokens[user] = producer->Call(EnterCommand(kSchedule, user, 40 + user)).token;
      }
      EXPECT_EQ(producer->Call(EnterCommand(kSchedule, 4, 44)).code, ResultCode::kQueueFull);
      EXPECT_EQ(producer->Call(ChargeCommand(4, 100, 45)).code, ResultCode::kAccountsFull);
      engine->Close();
      before = ShardHashes(*engine);
    }
    auto engine = std::move(*Engine::Open(options));
    EXPECT_EQ(ShardHashes(*engine), before);
    auto producer = std::move(*engine->NewProducer());
    // The refusals were not recorded: the same keys are decided again, alike.
    EXPECT_EQ(producer->Call(EnterCommand(kSchedule, 4, 44)).code, ResultCode::kQueueFull);
    EXPECT_EQ(producer->Call(ChargeCommand(4, 100, 45)).code, ResultCode::kAccountsFull);
    engine->Inspect(0, [](const Core& core) {
      EXPECT_EQ(core.Stats().ledger_entries, 6u);
      EXPECT_EQ(core.Stats().ledger_entries_forgotten, 3u);
      EXPECT_EQ(core.Balance(2), 600);
    });
    ASSERT_TRUE(producer->Call(LeaveCommand(kSchedule, 3, tokens[3], 46)).ok());
    const Reply entered = producer->Call(EnterCommand(kSchedule, 4, 44));
    EXPECT_EQ(entered.code, ResultCode::kOk);
    EXPECT_EQ(entered.queue_state, QueueState::kWaiting);
    engine->Close();
  }
}

// A hold's proof is derived from the persisted token key, not kept: after a
// restart (from the log, or from a snapshot) the proof given before it still
// releases the hold, also once the holder's token has expired, and an altered
// one is still refused.
TEST(RecoveryTest, AHoldProofReleasesAfterARestart) {
  for (const uint64_t snapshot_every_events : {uint64_t{0}, uint64_t{4}}) {
    SCOPED_TRACE(snapshot_every_events);
    ManualClock clock(kSaleOpensMs);
    InMemoryJournal journal;
    ScheduleConfig config = MakeScheduleConfig(kSchedule, 30);
    config.active_ttl_ms = 10'000;
    config.hold_ttl_ms = 60'000;
    Reply held;
    {
      auto engine = OpenOn(&journal, 2, &clock, snapshot_every_events);
      auto producer = std::move(*engine->NewProducer());
      ASSERT_TRUE(producer->Call(CreateConcertCommand(kConcert, "Recovery", 1)).ok());
      ASSERT_TRUE(producer->Call(CreateScheduleCommand(config, 2)).ok());
      const Reply entered = producer->Call(EnterCommand(kSchedule, 5, 3));
      ASSERT_TRUE(entered.ok());
      held = producer->Call(HoldCommand(kSchedule, 5, entered.token, {3, 4}, 4));
      ASSERT_TRUE(held.ok());
      ASSERT_NE(held.hold_proof, 0u);
      // More events, so that a snapshot is taken after the hold.
      for (RequestKey key = 5; key < 12; ++key) {
        ASSERT_TRUE(producer->Call(ChargeCommand(5, 100, key)).ok());
      }
      engine->Close();
    }
    if (snapshot_every_events > 0) {
      bool snapshotted = false;
      for (uint32_t shard = 0; shard < 2; ++shard) {
        const auto snapshot = journal.LatestSnapshot(shard);
        snapshotted |= snapshot.ok() && snapshot->has_value();
      }
      EXPECT_TRUE(snapshotted);
    }
    clock.Advance(config.active_ttl_ms);
    auto reopened = OpenOn(&journal, 2, &clock);
    auto producer = std::move(*reopened->NewProducer());
    EXPECT_EQ(
        producer->Call(ReleaseWithProofCommand(kSchedule, 5, held.hold, held.hold_proof ^ 8, 20))
            .code,
        ResultCode::kHoldProofInvalid);
    const Reply released =
        producer->Call(ReleaseWithProofCommand(kSchedule, 5, held.hold, held.hold_proof, 21));
    EXPECT_EQ(released.code, ResultCode::kOk);
    EXPECT_EQ(released.seat_count, 2);
    reopened->Close();
  }
}

TEST(RecoveryTest, SnapshotPlusReplayEqualsFullReplay) {
  ManualClock clock(kSaleOpensMs);
  InMemoryJournal with_snapshots;
  InMemoryJournal without;
  for (Journal* journal :
       {static_cast<Journal*>(&with_snapshots), static_cast<Journal*>(&without)}) {
    auto engine = OpenOn(journal, 2, &clock, journal == &with_snapshots ? 40 : 0);
    auto producer = std::move(*engine->NewProducer());
    RequestKey key = 0;
    RunFans(*producer, 11, 200, &key, true);
    engine->Close();
  }
  auto from_snapshots = OpenOn(&with_snapshots, 2, &clock);
  auto from_full_log = OpenOn(&without, 2, &clock);
  EXPECT_EQ(ShardHashes(*from_snapshots), ShardHashes(*from_full_log));
  // The snapshots did happen, and the log before them is gone.
  ASSERT_TRUE(with_snapshots.LatestSnapshot(0).ok());
  EXPECT_TRUE(with_snapshots.LatestSnapshot(0)->has_value());
  EXPECT_LT(with_snapshots.Records(0).size() + with_snapshots.Records(1).size(),
            without.Records(0).size() + without.Records(1).size());
}

// snapshot_log_ratio: after the first snapshot, the next waits until the log
// since it is at least ratio x that snapshot's bytes, however many events pass.
// Driven by hand, so a snapshot is stored as soon as it is taken and the
// counts do not depend on timing.
TEST(RecoveryTest, SnapshotsWaitForALogAsBigAsTheLastSnapshot) {
  ManualClock clock(kSaleOpensMs);
  InMemoryJournal by_events;
  InMemoryJournal by_log;
  for (InMemoryJournal* journal : {&by_events, &by_log}) {
    EngineOptions options;
    options.journal = journal;
    options.clock = &clock;
    options.token_key = TestCoreOptions().token_key;
    options.drive = Drive::kManual;
    options.snapshot_every_events = 40;
    options.snapshot_log_ratio = journal == &by_log ? 1 : 0;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    auto producer = std::move(*(*engine)->NewProducer());
    RequestKey key = 0;
    // 2,000 charges (4,000 events, tens of bytes each) over 1,000 accounts,
    // whose snapshot holds the accounts and their ledgers.
    for (UserId user = 1; user <= 2000; ++user) {
      ASSERT_EQ(producer->Call(ChargeCommand(user % 1000 + 1, 10, ++key)).code, ResultCode::kOk);
    }
    const ShardStats stats = (*engine)->shard_stats(0);
    std::printf("ratio %u: %llu snapshots, the last %llu bytes\n", options.snapshot_log_ratio,
                static_cast<unsigned long long>(stats.snapshots),
                static_cast<unsigned long long>(stats.last_snapshot_bytes));
    if (journal == &by_events) {
      EXPECT_EQ(stats.snapshots, 4000u / 40);  // One per 40 events.
    } else {
      // The first after 40 events (no snapshot yet to measure against); the
      // next ones only after as many log bytes as the one before.
      EXPECT_GE(stats.snapshots, 2u);
      EXPECT_LE(stats.snapshots, 10u);
    }
  }
  // Both recover to the same state.
  auto from_events = OpenOn(&by_events, 1, &clock);
  auto from_log = OpenOn(&by_log, 1, &clock);
  EXPECT_EQ(ShardHashes(*from_events), ShardHashes(*from_log));
}

// The snapshot policy counts events from the last snapshot, not from the
// process's start: a server restarted more often than every
// snapshot_every_events still snapshots, and replays a bounded log.
TEST(RecoveryTest, SnapshotsCountFromTheLastSnapshotAcrossRestarts) {
  ManualClock clock(kSaleOpensMs);
  InMemoryJournal journal;
  constexpr uint64_t kEvery = 100;
  constexpr uint32_t kChargesPerRun = 30;  // 60 events: fewer than kEvery.
  RequestKey key = 0;
  uint64_t snapshots = 0;
  uint64_t recovered_max = 0;
  for (int run = 0; run < 6; ++run) {
    EngineOptions options;
    options.journal = &journal;
    options.clock = &clock;
    options.token_key = TestCoreOptions().token_key;
    options.drive = Drive::kManual;
    options.snapshot_every_events = kEvery;
    options.snapshot_log_ratio = 0;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    if (run > 0)
      recovered_max = std::max(recovered_max, (*engine)->shard_stats(0).recovered_events);
    auto producer = std::move(*(*engine)->NewProducer());
    for (uint32_t i = 0; i < kChargesPerRun; ++i) {
      ASSERT_EQ(producer->Call(ChargeCommand(1 + i, 10, ++key)).code, ResultCode::kOk);
    }
    snapshots += (*engine)->shard_stats(0).snapshots;
  }
  // 360 events in all: a snapshot at least every 100 of them.
  EXPECT_GE(snapshots, 3u);
  ASSERT_TRUE(journal.LatestSnapshot(0).ok());
  EXPECT_TRUE(journal.LatestSnapshot(0)->has_value());
  // No start replays more than the period and one run's events.
  EXPECT_LT(recovered_max, kEvery + 2 * kChargesPerRun);
}

TEST(RecoveryTest, CrashAtRandomMomentsKeepsEveryAcknowledgedCommand) {
  const uint64_t seed = 4242;
  std::cout << "seed " << seed << std::endl;
  std::mt19937_64 random(seed);
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    ManualClock clock(kSaleOpensMs);
    InMemoryJournal journal;
    auto engine = OpenOn(&journal, 2, &clock, 1 + random() % 60);
    auto producer = std::move(*engine->NewProducer());
    RequestKey key = 0;
    std::vector<Acked> acked = RunFans(*producer, random(), 10, &key, true);
    // "Crash" while a second thread keeps the engine busy: what the journal
    // holds at that moment is all a restart has.
    std::atomic<bool> stop{false};
    std::mutex acked_mutex;
    std::condition_variable acked_grew;
    RequestKey busy_key = 1'000'000;
    std::thread busy([&] {
      auto other = std::move(*engine->NewProducer());
      std::mt19937_64 busy_random(round);
      for (int i = 0; i < 2000 && !stop; ++i) {
        Command charge = ChargeCommand(900 + i % 5, 10, ++busy_key);
        const Reply reply = other->Call(charge);
        // An acknowledgement is recorded only once its reply is in hand.
        std::lock_guard<std::mutex> lock(acked_mutex);
        acked.push_back({charge, reply});
        acked_grew.notify_all();
      }
    });
    // Wait until the busy thread is well under way, then crash.
    const size_t crash_after = acked.size() + 20 + random() % 200;
    std::unique_ptr<InMemoryJournal> crashed;
    std::vector<Acked> before_crash;
    {
      std::unique_lock<std::mutex> lock(acked_mutex);
      acked_grew.wait_for(lock, std::chrono::seconds(60),
                          [&] { return acked.size() >= crash_after; });
      before_crash = acked;  // Every reply in hand before the crash.
      crashed = journal.Clone();
    }
    stop = true;
    busy.join();
    EXPECT_GE(before_crash.size(), crash_after) << "the crash came before the load did";
    engine->Close();

    auto restarted = OpenOn(crashed.get(), 2, &clock);
    ASSERT_NE(restarted, nullptr);
    ShardHashes(*restarted);  // Checks invariants on every shard.
    auto checker = std::move(*restarted->NewProducer());
    ExpectRepeatsAnsweredFromTheRecord(*checker, before_crash);
  }
}

TEST(RecoveryTest, CorruptOrUnknownRecordStopsRecoveryNamingShardAndLsn) {
  ManualClock clock(kSaleOpensMs);
  InMemoryJournal journal;
  {
    auto engine = OpenOn(&journal, 1, &clock);
    auto producer = std::move(*engine->NewProducer());
    ASSERT_TRUE(producer->Call(ChargeCommand(1, 100, 1)).ok());
    engine->Close();
  }
  // An event of a type no version of Encore wrote, as the next LSN.
  const uint64_t next_lsn = journal.DurableLsn(0) + 1;
  const uint8_t bogus[8] = {0xEE, 0xEE, 4, 0, 1, 2, 3, 4};
  journal.Submit(0, next_lsn, 1, bogus);
  EngineOptions options;
  options.journal = &journal;
  options.clock = &clock;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(engine.status().message().find("shard 0 lsn " + std::to_string(next_lsn)),
            std::string::npos)
      << engine.status();
  EXPECT_NE(engine.status().message().find("unknown event type"), std::string::npos)
      << engine.status();
}

// Holds a shard's batches back (not durable, not stored) until released, so
// a clone of the inner journal is a crash that lost them.
class HoldingJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shard == held_shard_) {
      held_.push_back({first_lsn, count, {records.begin(), records.end()}});
      return;
    }
    inner_.Submit(shard, first_lsn, count, records);
  }
  uint64_t DurableLsn(uint32_t shard) const override { return inner_.DurableLsn(shard); }
  void WaitDurable(uint32_t, uint64_t, std::chrono::milliseconds) override {}
  absl::Status status() const override { return absl::OkStatus(); }

  void Hold(uint32_t shard) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_shard_ = shard;
  }
  // What a crash now leaves: everything stored, nothing held.
  std::unique_ptr<InMemoryJournal> Crash() const { return inner_.Clone(); }
  // What a crash leaves if the held batches had become durable.
  std::unique_ptr<InMemoryJournal> CrashAfterHeldWereWritten() const {
    std::unique_ptr<InMemoryJournal> copy = inner_.Clone();
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Held& batch : held_)
      copy->Submit(held_shard_, batch.first_lsn, batch.count, batch.records);
    return copy;
  }
  // Lets the held batches through (the live engine can then finish).
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const Held& batch : held_)
      inner_.Submit(held_shard_, batch.first_lsn, batch.count, batch.records);
    held_.clear();
    held_shard_ = UINT32_MAX;
  }
  bool holding_something() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return !held_.empty();
  }

 private:
  struct Held {
    uint64_t first_lsn;
    uint32_t count;
    std::vector<uint8_t> records;
  };
  mutable std::mutex mutex_;
  InMemoryJournal inner_;
  uint32_t held_shard_ = UINT32_MAX;
  std::vector<Held> held_;
};

void InDoubtPaymentIsResolved(bool debit_was_durable) {
  constexpr uint32_t kShards = 2;
  ManualClock clock(kSaleOpensMs);
  HoldingJournal journal;
  ScheduleConfig config = MakeScheduleConfig(kSchedule, 10);
  const uint32_t schedule_shard = ShardOfSchedule(config.schedule, kShards);
  UserId user = 1;
  while (ShardOfUser(user, kShards) == schedule_shard) ++user;
  const uint32_t user_shard = ShardOfUser(user, kShards);

  auto engine = OpenOn(&journal, kShards, &clock);
  auto producer = std::move(*engine->NewProducer());
  ASSERT_TRUE(producer->Call(CreateConcertCommand(kConcert, "In doubt", 1)).ok());
  ASSERT_TRUE(producer->Call(CreateScheduleCommand(config, 2)).ok());
  ASSERT_TRUE(producer->Call(ChargeCommand(user, 5'000, 3)).ok());
  const Reply entered = producer->Call(EnterCommand(config.schedule, user, 4));
  const Reply held = producer->Call(HoldCommand(config.schedule, user, entered.token, {3}, 5));
  ASSERT_TRUE(held.ok());
  // The payer's shard debits, but its batch never becomes durable: the
  // outcome is never sent. Then the process dies.
  journal.Hold(user_shard);
  const Command pay = PayCommand(config.schedule, user, entered.token, held.hold, 6);
  ASSERT_EQ(producer->Submit(pay, 6), ResultCode::kOk);
  for (int i = 0; i < 100'000 && !journal.holding_something(); ++i) {
    engine->Inspect(user_shard, [](const Core&) {});
  }
  ASSERT_TRUE(journal.holding_something()) << "the debit never reached the payer's shard";
  std::unique_ptr<InMemoryJournal> crashed =
      debit_was_durable ? journal.CrashAfterHeldWereWritten() : journal.Crash();
  // The crash image is taken; let the old engine finish and go. Nothing of
  // it reaches `crashed`.
  journal.Release();
  engine->Close();
  engine.reset();

  auto restarted = OpenOn(crashed.get(), kShards, &clock);
  ASSERT_NE(restarted, nullptr);
  // The in-doubt payment is resolved by resending the same debit: the seat is
  // sold and the payer debited exactly once, whichever side had written.
  auto checker = std::move(*restarted->NewProducer());
  Reply repeat;
  for (int i = 0; i < 100'000; ++i) {
    repeat = checker->Call(pay);
    if (repeat.code != ResultCode::kPaymentInProgress) break;
  }
  EXPECT_EQ(repeat.code, ResultCode::kOk) << ResultCodeName(repeat.code);
  std::vector<SeatState> seats;
  restarted->Inspect(schedule_shard,
                     [&](const Core& core) { core.SeatMapUnchecked(config.schedule, &seats); });
  EXPECT_EQ(seats[3], SeatState::kSold);
  Points balance = -1;
  restarted->Inspect(user_shard, [&](const Core& core) { balance = core.Balance(user); });
  EXPECT_EQ(balance, 0) << "debited " << (5'000 - balance) << ", the price is 5000";
  ShardHashes(*restarted);
}

// A journal whose writes start failing at a chosen moment: nothing is durable
// after it, and status() says why.
class FailingJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override {
    if (!failed_) inner_.Submit(shard, first_lsn, count, records);
  }
  uint64_t DurableLsn(uint32_t shard) const override { return inner_.DurableLsn(shard); }
  void WaitDurable(uint32_t, uint64_t, std::chrono::milliseconds) override {}
  absl::Status status() const override {
    return failed_ ? absl::DataLossError("disk full (injected)") : absl::OkStatus();
  }
  void Fail() { failed_ = true; }

 private:
  InMemoryJournal inner_;
  std::atomic<bool> failed_{false};
};

TEST(RecoveryTest, AFailedJournalStopsAcknowledgingAndSaysWhy) {
  ManualClock clock(kSaleOpensMs);
  FailingJournal journal;
  auto engine = OpenOn(&journal, 2, &clock);
  auto producer = std::move(*engine->NewProducer());
  ASSERT_TRUE(producer->Call(MakeCharge(1, 100, 1)).ok());
  journal.Fail();
  // The command is applied in memory but can never become durable: it is not
  // acknowledged as OK.
  const Reply after = producer->Call(MakeCharge(1, 100, 2));
  EXPECT_EQ(after.code, ResultCode::kUnavailable) << ResultCodeName(after.code);
  EXPECT_EQ(engine->status().code(), absl::StatusCode::kDataLoss) << engine->status();
  EXPECT_NE(engine->status().message().find("disk full"), std::string::npos);
  // And nothing after it is taken.
  EXPECT_EQ(producer->Submit(MakeBalance(1), 3), ResultCode::kUnavailable);
  engine->Close();
}

TEST(RecoveryTest, InDoubtPaymentIsResolvedWhenTheDebitWasDurable) {
  InDoubtPaymentIsResolved(true);
}

TEST(RecoveryTest, InDoubtPaymentIsResolvedWhenTheDebitWasLost) { InDoubtPaymentIsResolved(false); }

// An in-memory journal whose snapshot store blocks until released: the
// shard must go on answering while its snapshot is being stored.
class SlowSnapshotJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override {
    inner_.Submit(shard, first_lsn, count, records);
  }
  uint64_t DurableLsn(uint32_t shard) const override { return inner_.DurableLsn(shard); }
  void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) override {
    inner_.WaitDurable(shard, lsn, timeout);
  }
  absl::Status status() const override { return inner_.status(); }
  absl::StatusOr<std::optional<StoredSnapshot>> LatestSnapshot(uint32_t shard) override {
    return inner_.LatestSnapshot(shard);
  }
  absl::Status ReadShard(uint32_t shard, uint64_t from_lsn, const BatchReader& fn) override {
    return inner_.ReadShard(shard, from_lsn, fn);
  }
  absl::Status PutSnapshot(uint32_t shard, uint64_t lsn, std::span<const uint8_t> bytes) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++stores_started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    return inner_.PutSnapshot(shard, lsn, bytes);
  }
  absl::Status DeleteBefore(uint32_t shard, uint64_t lsn) override {
    return inner_.DeleteBefore(shard, lsn);
  }
  absl::StatusOr<std::optional<std::string>> GetMetadata(const std::string& name) override {
    return inner_.GetMetadata(name);
  }
  absl::Status PutMetadata(const std::string& name, const std::string& value) override {
    return inner_.PutMetadata(name, value);
  }

  bool WaitForStoreStarted(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return stores_started_ > 0; });
  }
  uint32_t stores_started() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stores_started_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  InMemoryJournal& inner() { return inner_; }

 private:
  InMemoryJournal inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  uint32_t stores_started_ = 0;
  bool released_ = false;
};

TEST(RecoveryTest, AShardKeepsAnsweringWhileItsSnapshotIsStored) {
  SlowSnapshotJournal journal;
  ManualClock clock(kSaleOpensMs);
  std::unique_ptr<Engine> engine = OpenOn(&journal, 1, &clock, /*snapshot_every_events=*/20);
  ASSERT_NE(engine, nullptr);
  auto producer = std::move(*engine->NewProducer());
  RequestKey key = 0;
  // Charges until a snapshot is due and its store has begun (and blocks).
  for (int i = 0; i < 100 && journal.stores_started() == 0; ++i) {
    ASSERT_EQ(producer->Call(ChargeCommand(1, 10, ++key)).code, ResultCode::kOk);
  }
  ASSERT_TRUE(journal.WaitForStoreStarted(std::chrono::seconds(30)));
  // The store is blocked; the shard still answers (each wait is a hang guard
  // only: a shard stuck in the store would never answer).
  for (int i = 0; i < 200; ++i) {
    ++key;
    ASSERT_EQ(producer->Submit(ChargeCommand(1, 10, key), key), ResultCode::kOk);
    Completion completion;
    ASSERT_EQ(producer->Wait(std::span<Completion>(&completion, 1), std::chrono::seconds(30)), 1u)
        << "charge " << i << " got no answer while the snapshot was being stored";
    EXPECT_EQ(completion.reply.code, ResultCode::kOk);
  }
  // One snapshot at a time: the next one waits for the blocked store.
  EXPECT_EQ(journal.stores_started(), 1u);
  journal.Release();
  const std::vector<uint64_t> hashes = ShardHashes(*engine);
  engine.reset();  // Close waits for the store.
  ASSERT_TRUE(journal.inner().LatestSnapshot(0).ok());
  EXPECT_TRUE(journal.inner().LatestSnapshot(0)->has_value());
  std::unique_ptr<Engine> reopened = OpenOn(&journal, 1, &clock);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(ShardHashes(*reopened), hashes);
}

}  // namespace
}  // namespace encore::testing
