// The sharded runtime: options, equivalence with the single-threaded core on
// 1, 2 and 4 shards, concurrent cross-shard payments, a pinned hold that does
// not expire under its in-flight debit, backpressure, batched submission, and
// clean close.
#include "encore/engine.h"

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/in_memory_journal.h"

namespace encore::testing {
namespace {

std::unique_ptr<Engine> OpenEngine(EngineOptions options) {
  options.token_key = TestCoreOptions().token_key;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

std::unique_ptr<Producer> NewProducer(Engine& engine) {
  absl::StatusOr<std::unique_ptr<Producer>> producer = engine.NewProducer();
  EXPECT_TRUE(producer.ok()) << producer.status();
  return std::move(*producer);
}

TEST(EngineOptionsTest, InvalidOptionsAreRefusedByName) {
  const std::vector<std::pair<std::function<void(EngineOptions*)>, std::string>> cases = {
      {[](EngineOptions* o) { o->shards = 0; }, "shards"},
      {[](EngineOptions* o) { o->shards = 65; }, "shards"},
      {[](EngineOptions* o) { o->ring_capacity = 1000; }, "ring_capacity"},
      {[](EngineOptions* o) { o->ring_capacity = 8; }, "ring_capacity"},
      {[](EngineOptions* o) { o->batch_max = 0; }, "batch_max"},
      {[](EngineOptions* o) { o->producers_max = 0; }, "producers_max"},
      {[](EngineOptions* o) { o->idle_sleep_max_ms = 0; }, "idle_sleep_max_ms"},
      {[](EngineOptions* o) { o->request_results_max = 0; }, "request_results_max"},
      {[](EngineOptions* o) { o->limits.queue_waiting_max = 0; }, "limits.queue_waiting_max"},
      {[](EngineOptions* o) { o->limits.queue_entries_max = kQueueEntriesMax + 1; },
       "limits.queue_entries_max"},
      {[](EngineOptions* o) { o->limits.accounts_max = 0; }, "limits.accounts_max"},
      {[](EngineOptions* o) { o->limits.accounts_max = CoreLimits::kAccountsMaxLimit + 1; },
       "limits.accounts_max"},
      {[](EngineOptions* o) { o->limits.ledger_entries_max = 0; }, "limits.ledger_entries_max"},
  };
  for (const auto& [mutate, field] : cases) {
    EngineOptions options;
    mutate(&options);
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(options);
    ASSERT_FALSE(engine.ok()) << field;
    EXPECT_EQ(engine.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(engine.status().message().find(field), std::string::npos) << engine.status();
  }
}

TEST(EngineTest, ProducersBeyondTheLimitAreRefused) {
  EngineOptions options;
  options.producers_max = 2;
  auto engine = OpenEngine(options);
  auto first = NewProducer(*engine);
  auto second = NewProducer(*engine);
  absl::StatusOr<std::unique_ptr<Producer>> third = engine->NewProducer();
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
}

// A logical view of everything a client can observe, equal across shard counts.
struct Observed {
  std::map<ScheduleId, std::vector<SeatState>> seat_maps;
  std::map<ScheduleId, std::array<uint64_t, 5>> schedule_counts;
  std::map<UserId, Points> balances;
  std::map<UserId, std::vector<std::array<int64_t, 5>>> ledgers;
  friend bool operator==(const Observed&, const Observed&) = default;
};

void Observe(const Core& core, const std::vector<ScheduleId>& schedules, uint32_t users,
             uint32_t shard, uint32_t shard_count, Observed* observed) {
  for (ScheduleId schedule : schedules) {
    if (ShardOfSchedule(schedule, shard_count) != shard) continue;
    core.SeatMapUnchecked(schedule, &observed->seat_maps[schedule]);
    ScheduleInfo info;
    core.GetSchedule(schedule, &info);
    observed->schedule_counts[schedule] = {info.seats_available, info.seats_held, info.seats_sold,
                                           info.queue_waiting, info.queue_active};
  }
  for (UserId user = 1; user <= users; ++user) {
    if (ShardOfUser(user, shard_count) != shard) continue;
    observed->balances[user] = core.Balance(user);
    std::vector<LedgerEntry> entries;
    uint64_t next = 0;
    core.Ledger(user, 0, 1000, &entries, &next);
    for (const LedgerEntry& entry : entries) {
      observed->ledgers[user].push_back({static_cast<int64_t>(entry.type), entry.amount,
                                         entry.balance_after, entry.at_ms,
                                         static_cast<int64_t>(entry.payment)});
    }
  }
}

// A seeded sequence of commands (and clock steps) for the equivalence test.
struct ScriptStep {
  int64_t advance_ms;
  Command command;
};

std::vector<ScriptStep> MakeScript(uint64_t seed, uint32_t users,
                                   const std::vector<ScheduleConfig>& configs) {
  std::mt19937_64 random(seed);
  auto uniform = [&](uint64_t bound) {
    return std::uniform_int_distribution<uint64_t>(0, bound - 1)(random);
  };
  std::vector<ScriptStep> script;
  script.push_back({0, CreateConcertCommand(kConcert, "Sharded", 1)});
  RequestKey key = 10;
  for (const ScheduleConfig& config : configs) {
    script.push_back({0, CreateScheduleCommand(config, ++key)});
  }
  for (UserId user = 1; user <= users; ++user) {
    script.push_back({0, ChargeCommand(user, 3'000 + uniform(20'000), ++key)});
  }
  // Holds and pays refer to hold ids the script cannot know; the runner
  // fills them in from earlier replies (the same in both runs if they agree).
  // Sessions (enter, hold, then pay or release) interleave, as fans do.
  struct Session {
    UserId user;
    ScheduleId schedule;
    uint32_t seat_count;
    int next = 0;
  };
  std::vector<Session> sessions;
  for (uint32_t i = 0; i < 2500; ++i) {
    const int64_t advance = uniform(12) == 0 ? uniform(6'000) : 0;
    if (sessions.size() < 6 || uniform(4) == 0) {
      const ScheduleConfig& config = configs[uniform(configs.size())];
      sessions.push_back({1 + uniform(users), config.schedule, config.seat_count});
    }
    const size_t pick = uniform(sessions.size());
    Session& session = sessions[pick];
    switch (session.next++) {
      case 0:
        script.push_back({advance, EnterCommand(session.schedule, session.user, ++key)});
        break;
      case 1: {
        Command hold = HoldCommand(session.schedule, session.user, {}, {}, ++key);
        hold.seat_count = 1 + uniform(2);
        for (uint32_t s = 0; s < hold.seat_count; ++s) hold.seats[s] = uniform(session.seat_count);
        script.push_back({advance, hold});
        break;
      }
      default:
        if (uniform(5) == 0) {
          script.push_back({advance, ReleaseCommand(session.schedule, session.user, {}, 0, ++key)});
        } else if (uniform(6) == 0) {
          script.push_back({advance, ChargeCommand(session.user, 1 + uniform(9'000), ++key)});
        } else {
          script.push_back({advance, PayCommand(session.schedule, session.user, {}, 0, ++key)});
        }
        sessions.erase(sessions.begin() + pick);
        break;
    }
  }
  return script;
}

std::string Describe(const Reply& reply) {
  std::ostringstream out;
  out << ResultCodeName(reply.code) << " type " << static_cast<int>(reply.type) << " state "
      << static_cast<int>(reply.queue_state) << " seats " << int{reply.seat_count} << " hold "
      << reply.hold << " deadline " << reply.hold_deadline_ms << " payment " << reply.payment
      << " amount " << reply.amount << " balance " << reply.balance << " position "
      << reply.position << " eta " << reply.eta_ms << " active_deadline "
      << reply.active_deadline_ms << " token " << reply.token.locator << "/" << reply.token.mac;
  return out.str();
}

// Runs a script through `apply`, filling tokens and hold ids from replies.
template <typename Apply, typename OnAdvance>
std::vector<Reply> RunScript(const std::vector<ScriptStep>& script, ManualClock* clock, Apply apply,
                             OnAdvance on_advance) {
  std::map<std::pair<ScheduleId, UserId>, QueueToken> tokens;
  std::map<std::pair<ScheduleId, UserId>, HoldId> holds;
  std::vector<Reply> replies;
  for (ScriptStep step : script) {
    if (step.advance_ms > 0) {
      clock->Advance(step.advance_ms);
      on_advance();
    }
    Command& command = step.command;
    const auto key = std::make_pair(command.schedule, command.user);
    command.token = tokens[key];
    if (command.type == CommandType::kPay || command.type == CommandType::kReleaseHold) {
      command.hold = holds[key];
    }
    const Reply reply = apply(command);
    if (command.type == CommandType::kEnterQueue && reply.ok()) tokens[key] = reply.token;
    if (command.type == CommandType::kHoldSeats && reply.ok()) holds[key] = reply.hold;
    replies.push_back(reply);
  }
  return replies;
}

TEST(EngineTest, ShardedEngineMatchesTheSingleThreadedCore) {
  const uint64_t seed = std::getenv("ENCORE_SEED")
                            ? std::strtoull(std::getenv("ENCORE_SEED"), nullptr, 10)
                            : 20261124;
  std::cout << "seed " << seed << " (replay: ENCORE_SEED=" << seed << ")" << std::endl;
  constexpr uint32_t kUsers = 60;
  std::vector<ScheduleConfig> configs;
  std::vector<ScheduleId> schedule_ids;
  for (uint32_t i = 0; i < 4; ++i) {
    ScheduleConfig config = MakeScheduleConfig(kSchedule + i, 40);
    config.hold_ttl_ms = 5'000;
    config.policy.active_max = 10;
    configs.push_back(config);
    schedule_ids.push_back(config.schedule);
  }
  const std::vector<ScriptStep> script = MakeScript(seed, kUsers, configs);

  // The reference: one core, one thread.
  ManualClock reference_clock(kSaleOpensMs);
  Core reference(TestCoreOptions());
  EventBuffer events;
  const std::vector<Reply> expected_replies = RunScript(
      script, &reference_clock,
      [&](const Command& command) {
        return reference.Apply(command, reference_clock.NowMs(), &events);
      },
      [] {});
  Observed expected;
  Observe(reference, schedule_ids, kUsers, 0, 1, &expected);
  uint64_t paid = 0;
  for (const Reply& reply : expected_replies) {
    paid += reply.type == CommandType::kPay && reply.ok();
  }

  ASSERT_GT(paid, 5u) << "the script pays too rarely to test the saga";

  for (uint32_t shards : {1u, 2u, 4u}) {
    SCOPED_TRACE(::testing::Message() << shards << " shards");
    ManualClock clock(kSaleOpensMs);
    InMemoryJournal journal;
    EngineOptions options;
    options.shards = shards;
    options.clock = &clock;
    options.journal = &journal;
    auto engine = OpenEngine(options);
    auto producer = NewProducer(*engine);
    // A shard asleep in real time does not see a manual clock jump until it
    // wakes; let every shard see each step, as the reference core does at
    // its next command.
    const std::vector<Reply> replies = RunScript(
        script, &clock, [&](const Command& command) { return producer->Call(command); },
        [&] {
          for (uint32_t shard = 0; shard < shards; ++shard) {
            engine->Inspect(shard, [](const Core&) {});
          }
        });
    if (shards == 1) {
      // One shard writes exactly the reference's event stream.
      const std::vector<uint8_t> written = journal.Records(0);
      const auto reference_bytes = events.bytes();
      size_t offset = 0;
      while (offset < written.size() && offset < reference_bytes.size()) {
        uint16_t header[2];
        std::memcpy(header, written.data() + offset, 4);
        const size_t size = 4 + header[1];
        if (std::memcmp(written.data() + offset, reference_bytes.data() + offset, size) != 0) {
          uint16_t other[2];
          std::memcpy(other, reference_bytes.data() + offset, 4);
          ADD_FAILURE() << "event streams differ at byte " << offset << ": engine wrote "
                        << EventTypeName(static_cast<EventType>(header[0])) << ", reference "
                        << EventTypeName(static_cast<EventType>(other[0]));
          break;
        }
        offset += size;
      }
      EXPECT_EQ(written.size(), reference_bytes.size());
    }
    ASSERT_EQ(replies.size(), expected_replies.size());
    for (size_t i = 0; i < replies.size(); ++i) {
      ASSERT_EQ(std::memcmp(&replies[i], &expected_replies[i], sizeof(Reply)), 0)
          << "step " << i << ": got " << Describe(replies[i]) << ", expected "
          << Describe(expected_replies[i]);
    }
    Observed observed;
    for (uint32_t shard = 0; shard < shards; ++shard) {
      engine->Inspect(shard, [&](const Core& core) {
        EXPECT_TRUE(core.CheckInvariants().ok()) << core.CheckInvariants();
        Observe(core, schedule_ids, kUsers, shard, shards, &observed);
      });
    }
    EXPECT_TRUE(observed == expected);
  }
}

TEST(EngineTest, ConcurrentCrossShardPaymentsConservePointsAndSeats) {
  constexpr uint32_t kShards = 4;
  constexpr uint32_t kThreads = 2;
  constexpr uint32_t kUsersPerThread = 300;
  EngineOptions options;
  options.shards = kShards;
  options.ring_capacity = 256;
  options.batch_max = 256;
  options.full_ring = FullRingPolicy::kBlock;
  auto engine = OpenEngine(options);
  auto admin = NewProducer(*engine);
  ASSERT_TRUE(admin->Call(CreateConcertCommand(kConcert, "Concurrent", 1)).ok());
  std::vector<ScheduleId> schedules;
  for (uint32_t i = 0; i < 6; ++i) {
    const ScheduleConfig config = OnSaleNowConfig(kSchedule + i, 50);
    ASSERT_TRUE(admin->Call(CreateScheduleCommand(config, 2 + i)).ok());
    schedules.push_back(config.schedule);
  }
  std::atomic<int64_t> charged{0};
  std::atomic<int64_t> paid{0};
  std::atomic<uint64_t> seats_paid{0};
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto producer = NewProducer(*engine);
      std::mt19937_64 random(77 + t);
      RequestKey key = 1'000'000 * (t + 1);
      for (uint32_t u = 0; u < kUsersPerThread; ++u) {
        const UserId user = 1 + t * kUsersPerThread + u;
        const ScheduleId schedule = schedules[random() % schedules.size()];
        const Points amount = 2'000 + random() % 12'000;
        if (producer->Call(ChargeCommand(user, amount, ++key)).ok()) charged += amount;
        const Reply entered = producer->Call(EnterCommand(schedule, user, ++key));
        if (!entered.ok()) continue;
        // Two users race for overlapping seats across the two threads.
        const SeatIndex seat = random() % 50;
        const Reply held =
            producer->Call(HoldCommand(schedule, user, entered.token, {seat}, ++key));
        if (!held.ok()) continue;
        const Reply payment =
            producer->Call(PayCommand(schedule, user, entered.token, held.hold, ++key));
        if (payment.ok()) {
          paid += payment.amount;
          seats_paid += payment.seat_count;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  engine->Close();

  Points balances = 0;
  Points debited = 0;
  Points sold_for = 0;
  uint64_t seats_sold = 0;
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    engine->Inspect(shard, [&](const Core& core) {
      const absl::Status invariants = core.CheckInvariants();
      EXPECT_TRUE(invariants.ok()) << invariants;
      const CoreStats stats = core.Stats();
      balances += stats.balances_total;
      debited += stats.payments_total;
      sold_for += stats.sold_payments_total;
      seats_sold += stats.seats_sold;
    });
  }
  EXPECT_GT(paid.load(), 0);
  EXPECT_EQ(debited, paid.load()) << "payers' shards debited what the replies said";
  EXPECT_EQ(sold_for, paid.load()) << "schedules' shards sold for what was debited";
  EXPECT_EQ(balances + debited, charged.load()) << "points not conserved";
  EXPECT_EQ(seats_sold, seats_paid.load());
}

// Holds durability of one shard back until released: the debit is applied
// but its answer is not sent, so the payment stays in flight.
class GatedJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t> records) override {
    inner_.Submit(shard, first_lsn, count, records);
  }
  uint64_t DurableLsn(uint32_t shard) const override {
    const uint64_t durable = inner_.DurableLsn(shard);
    if (shard == gated_shard_.load()) return std::min(durable, gate_lsn_.load());
    return durable;
  }
  void WaitDurable(uint32_t, uint64_t, std::chrono::milliseconds) override {}
  absl::Status status() const override { return absl::OkStatus(); }

  void Close(uint32_t shard) {
    gate_lsn_ = inner_.DurableLsn(shard);
    gated_shard_ = shard;
  }
  void Open() { gated_shard_ = UINT32_MAX; }

 private:
  InMemoryJournal inner_;
  std::atomic<uint32_t> gated_shard_{UINT32_MAX};
  std::atomic<uint64_t> gate_lsn_{0};
};

TEST(EngineTest, PinnedHoldDoesNotExpireWhileItsDebitIsInFlight) {
  constexpr uint32_t kShards = 2;
  ManualClock clock(kSaleOpensMs);
  GatedJournal journal;
  EngineOptions options;
  options.shards = kShards;
  options.clock = &clock;
  options.journal = &journal;
  auto engine = OpenEngine(options);
  auto producer = NewProducer(*engine);
  ScheduleConfig config = MakeScheduleConfig(kSchedule, 10);
  config.hold_ttl_ms = 1'000;
  const uint32_t schedule_shard = ShardOfSchedule(config.schedule, kShards);
  UserId user = 1;
  while (ShardOfUser(user, kShards) == schedule_shard) ++user;
  const uint32_t user_shard = ShardOfUser(user, kShards);

  ASSERT_TRUE(producer->Call(CreateConcertCommand(kConcert, "Pinned", 1)).ok());
  ASSERT_TRUE(producer->Call(CreateScheduleCommand(config, 2)).ok());
  ASSERT_TRUE(producer->Call(ChargeCommand(user, 5'000, 3)).ok());
  const Reply entered = producer->Call(EnterCommand(config.schedule, user, 4));
  ASSERT_TRUE(entered.ok());
  const Reply held = producer->Call(HoldCommand(config.schedule, user, entered.token, {2}, 5));
  ASSERT_TRUE(held.ok());

  journal.Close(user_shard);
  ASSERT_EQ(producer->Submit(PayCommand(config.schedule, user, entered.token, held.hold, 6), 99),
            ResultCode::kOk);
  // Wait (bounded) until the payer's shard has debited in memory.
  Points balance = 5'000;
  for (int i = 0; i < 100'000 && balance == 5'000; ++i) {
    engine->Inspect(user_shard, [&](const Core& core) { balance = core.Balance(user); });
  }
  ASSERT_EQ(balance, 0) << "the debit never reached the payer's shard";

  clock.Advance(5'000);  // Far past the hold's deadline.
  std::vector<SeatState> seats;
  engine->Inspect(schedule_shard,
                  [&](const Core& core) { core.SeatMapUnchecked(config.schedule, &seats); });
  EXPECT_EQ(seats[2], SeatState::kHeld) << "a pinned hold expired under its payment";
  Completion completion;
  EXPECT_EQ(producer->Poll(std::span<Completion>(&completion, 1)), 0u)
      << "the payment was answered before its debit was durable";

  journal.Open();
  ASSERT_EQ(producer->Wait(std::span<Completion>(&completion, 1), std::chrono::seconds(10)), 1u);
  EXPECT_EQ(completion.tag, 99u);
  EXPECT_EQ(completion.reply.code, ResultCode::kOk) << ResultCodeName(completion.reply.code);
  engine->Inspect(schedule_shard,
                  [&](const Core& core) { core.SeatMapUnchecked(config.schedule, &seats); });
  EXPECT_EQ(seats[2], SeatState::kSold);
}

TEST(EngineTest, FullRingAnswersBusyAndRecovers) {
  ManualClock clock(kSaleOpensMs);
  EngineOptions options;
  options.ring_capacity = 16;
  options.batch_max = 16;
  options.clock = &clock;
  auto engine = OpenEngine(options);
  auto producer = NewProducer(*engine);
  for (uint32_t i = 0; i < 16; ++i) {
    ASSERT_EQ(producer->Submit(BalanceCommand(1), i), ResultCode::kOk);
  }
  EXPECT_EQ(producer->Submit(BalanceCommand(1), 16), ResultCode::kBusy);
  std::vector<Completion> completions(16);
  size_t received = 0;
  for (int i = 0; i < 1000 && received < 16; ++i) {
    received += producer->Wait(std::span<Completion>(completions.data() + received, 16 - received),
                               std::chrono::milliseconds(100));
  }
  EXPECT_EQ(received, 16u);
  EXPECT_EQ(producer->in_flight(), 0u);
  EXPECT_EQ(producer->Submit(BalanceCommand(1), 17), ResultCode::kOk);
}

TEST(EngineTest, ShardCountersFollowTheCommands) {
  EngineOptions options;
  auto engine = OpenEngine(options);
  auto producer = NewProducer(*engine);
  for (uint32_t i = 0; i < 10; ++i) ASSERT_TRUE(producer->Call(ChargeCommand(1, 5, 1 + i)).ok());
  EXPECT_EQ(producer->Call(ChargeCommand(1, -5, 100)).code, ResultCode::kInvalidAmount);
  producer->Call(BalanceCommand(1));
  const ShardStats stats = engine->shard_stats(0);
  EXPECT_EQ(stats.commands[static_cast<uint32_t>(CommandType::kCharge)], 11u);
  EXPECT_EQ(stats.commands[static_cast<uint32_t>(CommandType::kBalance)], 1u);
  EXPECT_EQ(stats.results[ResultCodeSlot(ResultCode::kOk)], 11u);
  EXPECT_EQ(stats.results[ResultCodeSlot(ResultCode::kInvalidAmount)], 1u);
  EXPECT_EQ(stats.batch_commands, 12u);
  EXPECT_GE(stats.batches, 1u);
  // Each accepted charge is an ACCOUNT_CHARGED and a REQUEST_RECORDED; the
  // refusal is recorded too.
  EXPECT_EQ(stats.events, 21u);
  EXPECT_EQ(stats.last_lsn, 21u);
}

TEST(EngineTest, CloseAnswersEverythingInFlightThenRefuses) {
  EngineOptions options;
  options.shards = 2;
  auto engine = OpenEngine(options);
  auto producer = NewProducer(*engine);
  constexpr uint32_t kCommands = 500;
  for (uint32_t i = 0; i < kCommands; ++i) {
    ASSERT_EQ(producer->Submit(ChargeCommand(1 + i % 7, 10, 1 + i), i), ResultCode::kOk);
  }
  engine->Close();
  std::vector<Completion> completions(kCommands);
  const size_t received = producer->Poll(completions);
  EXPECT_EQ(received, kCommands);
  for (size_t i = 0; i < received; ++i) EXPECT_TRUE(completions[i].reply.ok());
  EXPECT_EQ(producer->Submit(BalanceCommand(1), 1), ResultCode::kUnavailable);
  Points total = 0;
  for (uint32_t shard = 0; shard < 2; ++shard) {
    engine->Inspect(shard, [&](const Core& core) { total += core.Stats().balances_total; });
  }
  EXPECT_EQ(total, 10 * kCommands);
}

// Sleeping shards (no spins) get a batch's commands at EndBatch; a batch
// larger than the ring (kBlock) wakes them to make room instead of waiting
// on itself; every command is applied once.
TEST(EngineTest, ABatchOfSubmitsReachesSleepingShards) {
  EngineOptions options;
  options.shards = 4;
  options.ring_capacity = 16;
  options.batch_max = 16;
  options.idle_spins = 1;
  options.full_ring = FullRingPolicy::kBlock;
  auto engine = OpenEngine(options);
  auto producer = NewProducer(*engine);
  constexpr uint32_t kCommands = 400;  // Over 16 in flight per shard.
  std::vector<Completion> completions;
  for (int round = 0; round < 3; ++round) {
    producer->BeginBatch();
    for (uint32_t i = 0; i < kCommands; ++i) {
      const uint32_t n = round * kCommands + i;
      ASSERT_EQ(producer->Submit(ChargeCommand(1 + n % 13, 10, 1 + n), n), ResultCode::kOk);
    }
    producer->EndBatch();
    std::vector<Completion> taken(kCommands);
    size_t received = 0;
    for (int i = 0; i < 1000 && received + completions.size() < (round + 1) * kCommands; ++i) {
      received +=
          producer->Wait(std::span<Completion>(taken.data() + received, taken.size() - received),
                         std::chrono::milliseconds(100));
    }
    completions.insert(completions.end(), taken.begin(), taken.begin() + received);
  }
  ASSERT_EQ(completions.size(), 3 * kCommands);
  for (const Completion& completion : completions) EXPECT_TRUE(completion.reply.ok());
  Points total = 0;
  for (uint32_t shard = 0; shard < 4; ++shard) {
    engine->Inspect(shard, [&](const Core& core) { total += core.Stats().balances_total; });
  }
  EXPECT_EQ(total, 10 * 3 * kCommands);
}

TEST(EngineDeathTest, WaitingInsideABatchIsAProgrammerError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // The engine has threads.
  EngineOptions options;
  auto engine = OpenEngine(options);
  auto producer = NewProducer(*engine);
  producer->BeginBatch();
  Completion completion;
  EXPECT_DEATH(producer->Wait(std::span<Completion>(&completion, 1), std::chrono::milliseconds(1)),
               "batching");
  EXPECT_DEATH(producer->Call(BalanceCommand(1)), "batching");
  EXPECT_DEATH(producer->BeginBatch(), "batching");
  producer->EndBatch();
}

}  // namespace
}  // namespace encore::testing
