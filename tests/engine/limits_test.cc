// The limits of CoreLimits: a full queue or a full shard of accounts refuses
// the command and changes nothing (not even the idempotency window), a ledger
// past its length forgets its oldest entries and keeps balances exact, and
// the same events under the same limits give the same state and the same
// decisions whether they are applied live, replayed, or loaded from a
// snapshot.
#include <cstdio>
#include <random>
#include <vector>

#include "encore/core.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/seed.h"

namespace encore::testing {
namespace {

CoreOptions WithLimits(const CoreLimits& limits) {
  CoreOptions options = TestCoreOptions();
  options.limits = limits;
  return options;
}

// One ACTIVE user at a time: everyone after the first waits.
ScheduleConfig OneActiveConfig() {
  ScheduleConfig config = MakeScheduleConfig();
  config.policy.active_max = 1;
  return config;
}

void ExpectConsistent(CoreHarness& harness) {
  const absl::Status invariants = harness.core().CheckInvariants();
  EXPECT_TRUE(invariants.ok()) << invariants;
  EXPECT_EQ(harness.ReplayHash(), harness.core().StateHash());
  std::vector<uint8_t> snapshot;
  harness.core().SaveSnapshot(&snapshot);
  Core loaded(harness.options());
  const absl::Status status = loaded.LoadSnapshot(snapshot);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(loaded.StateHash(), harness.core().StateHash());
}

// A command applied, with what it changed: no events and the same hash
// means it changed nothing.
struct Outcome {
  Reply reply;
  size_t events;
  bool hash_unchanged;
};

Outcome RunAndWatch(CoreHarness& harness, const Command& command) {
  const uint64_t hash_before = harness.core().StateHash();
  const size_t events_before = harness.events().count();
  const Reply reply = harness.Run(command);
  return Outcome{reply, harness.events().count() - events_before,
                 harness.core().StateHash() == hash_before};
}

TEST(LimitsTest, ValidateCoreLimitsNamesTheFieldOutOfRange) {
  EXPECT_TRUE(ValidateCoreLimits(CoreLimits{}, "").ok());
  CoreLimits limits;
  limits.ledger_entries_max = 0;
  absl::Status status = ValidateCoreLimits(limits, "limits.");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("limits.ledger_entries_max = 0"), std::string::npos) << status;
  limits = CoreLimits{};
  limits.queue_waiting_max = kQueueEntriesMax + 1;
  status = ValidateCoreLimits(limits, "");
  EXPECT_NE(status.message().find("queue_waiting_max"), std::string::npos) << status;
}

// ---------------------------------------------------------------------------
// The waiting queue.

TEST(LimitsTest, EnterPastTheWaitingLimitIsQueueFullAndChangesNothing) {
  CoreLimits limits;
  limits.queue_waiting_max = 3;
  CoreHarness harness(OneActiveConfig(), WithLimits(limits));
  // User 1 is ACTIVE at once; users 2..4 wait.
  for (UserId user = 1; user <= 4; ++user) {
    ASSERT_EQ(harness.Run(EnterCommand(kSchedule, user, 0)).code, ResultCode::kOk) << user;
  }
  ASSERT_EQ(harness.core().Stats().queue_waiting, 3u);
  const uint64_t results_before = harness.core().Stats().request_results;

  const Outcome full = RunAndWatch(harness, EnterCommand(kSchedule, 5, 0));
  EXPECT_EQ(full.reply.code, ResultCode::kQueueFull);
  EXPECT_EQ(full.reply.token, QueueToken{});
  EXPECT_EQ(full.events, 0u);
  EXPECT_TRUE(full.hash_unchanged);
  // Not recorded: the idempotency window is left alone.
  EXPECT_EQ(harness.core().Stats().request_results, results_before);
  // A user already in line is answered as before: its entry, not a refusal.
  const Reply again = harness.Run(EnterCommand(kSchedule, 2, 0));
  EXPECT_EQ(again.code, ResultCode::kOk);
  EXPECT_EQ(again.queue_state, QueueState::kWaiting);
  ExpectConsistent(harness);
}

TEST(LimitsTest, ARefusedEnterRetriedWithTheSameKeyIsDecidedAfreshOnceThereIsRoom) {
  CoreLimits limits;
  limits.queue_waiting_max = 1;
  CoreHarness harness(OneActiveConfig(), WithLimits(limits));
  ASSERT_TRUE(harness.Run(EnterCommand(kSchedule, 1, 0)).ok());  // ACTIVE.
  const Reply waiting = harness.Run(EnterCommand(kSchedule, 2, 0));
  ASSERT_EQ(waiting.queue_state, QueueState::kWaiting);
  const RequestKey key = harness.NextKey();
  EXPECT_EQ(harness.Run(EnterCommand(kSchedule, 3, key)).code, ResultCode::kQueueFull);
  // User 2 leaves: there is room for one.
  ASSERT_TRUE(harness.Run(LeaveCommand(kSchedule, 2, waiting.token, 0)).ok());
  const Reply retried = harness.Run(EnterCommand(kSchedule, 3, key));
  EXPECT_EQ(retried.code, ResultCode::kOk);
  EXPECT_EQ(retried.queue_state, QueueState::kWaiting);
  // Now it is recorded: the same key gives the same reply again.
  EXPECT_EQ(harness.Run(EnterCommand(kSchedule, 3, key)).token, retried.token);
  ExpectConsistent(harness);
}

TEST(LimitsTest, EntriesOverTheQueuesLifeAreBoundedToo) {
  CoreLimits limits;
  limits.queue_entries_max = 3;
  CoreHarness harness(MakeScheduleConfig(), WithLimits(limits));
  // Entering and leaving makes a new entry each time.
  for (int round = 0; round < 3; ++round) {
    const Reply entered = harness.Run(EnterCommand(kSchedule, 9, 0));
    ASSERT_TRUE(entered.ok()) << round;
    ASSERT_TRUE(harness.Run(LeaveCommand(kSchedule, 9, entered.token, 0)).ok());
  }
  const Outcome full = RunAndWatch(harness, EnterCommand(kSchedule, 9, 0));
  EXPECT_EQ(full.reply.code, ResultCode::kQueueFull);
  EXPECT_EQ(full.events, 0u);
  EXPECT_TRUE(full.hash_unchanged);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Accounts.

TEST(LimitsTest, ANewAccountPastTheLimitIsAccountsFullAndChangesNothing) {
  CoreLimits limits;
  limits.accounts_max = 2;
  CoreHarness harness(MakeScheduleConfig(), WithLimits(limits));
  ASSERT_TRUE(harness.Run(ChargeCommand(1, 1'000, 0)).ok());
  ASSERT_TRUE(harness.Run(ChargeCommand(2, 1'000, 0)).ok());
  const CoreStats before = harness.core().Stats();

  const Outcome full = RunAndWatch(harness, ChargeCommand(3, 1'000, 0));
  EXPECT_EQ(full.reply.code, ResultCode::kAccountsFull);
  EXPECT_EQ(full.reply.balance, 0);
  EXPECT_EQ(full.events, 0u);
  EXPECT_TRUE(full.hash_unchanged);
  const CoreStats after = harness.core().Stats();
  EXPECT_EQ(after.accounts, 2u);
  EXPECT_EQ(after.charges_total, before.charges_total);
  EXPECT_EQ(after.request_results, before.request_results);
  EXPECT_EQ(harness.core().Balance(3), 0);

  // Existing accounts go on: charges and payments are not limited.
  const Reply more = harness.Run(ChargeCommand(1, 500, 0));
  EXPECT_EQ(more.code, ResultCode::kOk);
  EXPECT_EQ(more.balance, 1'500);
  QueueToken token;
  EXPECT_NE(harness.HoldFor(2, {0}, &token), 0u);
  // An invalid amount is still an argument error first (precedence).
  EXPECT_EQ(harness.Run(ChargeCommand(3, 0, 0)).code, ResultCode::kInvalidAmount);
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Ledgers.

std::vector<LedgerEntry> FullLedger(const Core& core, UserId user, uint32_t page) {
  std::vector<LedgerEntry> all;
  std::vector<LedgerEntry> entries;
  uint64_t before = 0;
  do {
    core.Ledger(user, before, page, &entries, &before);
    all.insert(all.end(), entries.begin(), entries.end());
  } while (before != 0);
  return all;
}

TEST(LimitsTest, ALedgerPastItsLengthForgetsItsOldestEntriesAndKeepsTheBalance) {
  CoreLimits limits;
  limits.ledger_entries_max = 3;
  CoreHarness harness(MakeScheduleConfig(), WithLimits(limits));
  for (Points amount = 1; amount <= 5; ++amount) {
    ASSERT_TRUE(harness.Run(ChargeCommand(1, amount * 100, 0)).ok());
  }
  EXPECT_EQ(harness.core().Balance(1), 1'500);
  const CoreStats stats = harness.core().Stats();
  EXPECT_EQ(stats.ledger_entries, 3u);
  EXPECT_EQ(stats.ledger_entries_forgotten, 2u);
  EXPECT_EQ(stats.charges_total, 1'500);

  // Newest first: the charges of 500, 400, 300; numbering goes on (5, 4, 3),
  // so the first page's cursor and the last page tell what was forgotten.
  std::vector<LedgerEntry> entries;
  uint64_t next_before = 0;
  harness.core().Ledger(1, 0, 2, &entries, &next_before);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].amount, 500);
  EXPECT_EQ(entries[0].balance_after, 1'500);
  EXPECT_EQ(entries[1].amount, 400);
  EXPECT_EQ(next_before, 4u);
  harness.core().Ledger(1, next_before, 2, &entries, &next_before);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].amount, 300);
  // The balance before the oldest kept entry: what the forgotten ones left.
  EXPECT_EQ(entries[0].balance_after - entries[0].amount, 300);
  EXPECT_EQ(next_before, 0u);
  // A cursor into the forgotten part gives nothing.
  harness.core().Ledger(1, 3, 10, &entries, &next_before);
  EXPECT_TRUE(entries.empty());
  EXPECT_EQ(next_before, 0u);

  // A charge and a payment still go in, each pushing out the oldest kept.
  ASSERT_TRUE(harness.Run(ChargeCommand(1, 5'000, 0)).ok());
  QueueToken token;
  const HoldId hold = harness.HoldFor(1, {60}, &token);  // A 3000 seat.
  ASSERT_NE(hold, 0u);
  ASSERT_EQ(harness.Run(PayCommand(kSchedule, 1, token, hold, 0)).code, ResultCode::kOk);
  const std::vector<LedgerEntry> ledger = FullLedger(harness.core(), 1, 10);
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0].type, LedgerEntryType::kPayment);
  EXPECT_EQ(ledger[0].balance_after, harness.core().Balance(1));
  EXPECT_EQ(ledger[1].amount, 5'000);
  EXPECT_EQ(ledger[2].amount, 500);
  EXPECT_EQ(harness.core().Stats().ledger_entries_forgotten, 4u);
  ExpectConsistent(harness);
}

TEST(LimitsTest, ASnapshotLoadedUnderAShorterLedgerLimitKeepsTheNewestEntries) {
  CoreLimits limits;
  limits.ledger_entries_max = 10;
  CoreHarness harness(MakeScheduleConfig(), WithLimits(limits));
  for (Points amount = 1; amount <= 6; ++amount) {
    ASSERT_TRUE(harness.Run(ChargeCommand(4, amount, 0)).ok());
  }
  std::vector<uint8_t> snapshot;
  harness.core().SaveSnapshot(&snapshot);
  CoreLimits shorter;
  shorter.ledger_entries_max = 2;
  Core loaded(WithLimits(shorter));
  ASSERT_TRUE(loaded.LoadSnapshot(snapshot).ok());
  EXPECT_TRUE(loaded.CheckInvariants().ok()) << loaded.CheckInvariants();
  EXPECT_EQ(loaded.Balance(4), 21);
  EXPECT_EQ(loaded.Stats().ledger_entries, 2u);
  EXPECT_EQ(loaded.Stats().ledger_entries_forgotten, 4u);
  const std::vector<LedgerEntry> ledger = FullLedger(loaded, 4, 1);
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[0].amount, 6);
  EXPECT_EQ(ledger[1].amount, 5);
}

// A version 1 snapshot (one array of every account's entries, each linked to
// the user's older one) of one account charged 100 then 50; `cycle` makes the
// older entry point at itself.
std::vector<uint8_t> Version1Snapshot(bool cycle) {
  std::vector<uint8_t> bytes;
  auto put = [&bytes](const auto& value) {
    const auto* raw = reinterpret_cast<const uint8_t*>(&value);
    bytes.insert(bytes.end(), raw, raw + sizeof(value));
  };
  put(uint32_t{0x53434e45});  // "ENCS"
  put(uint16_t{1});
  put(uint16_t{0});
  put(TimestampMs{kSaleOpensMs});
  put(uint64_t{0});  // Concerts.
  put(uint64_t{0});  // Schedules.
  put(uint64_t{1});  // Accounts: user, balance, newest entry, entry count.
  put(UserId{5});
  put(Points{150});
  put(uint64_t{1});
  put(uint64_t{2});
  put(uint64_t{0});  // Debit keys.
  put(uint64_t{2});  // Entries: entry, user, number, older entry.
  const LedgerEntry first{100, 100, kSaleOpensMs, 0, 0, 0, LedgerEntryType::kCharge, {}};
  const LedgerEntry second{50, 150, kSaleOpensMs + 1, 0, 0, 0, LedgerEntryType::kCharge, {}};
  put(first);
  put(UserId{5});
  put(uint64_t{1});
  put(cycle ? uint64_t{0} : UINT64_MAX);
  put(second);
  put(UserId{5});
  put(uint64_t{2});
  put(uint64_t{0});
  put(Points{150});  // Charges, payments, balances.
  put(Points{0});
  put(Points{150});
  put(uint32_t{0});  // Request results: oldest, count.
  put(uint64_t{0});
  return bytes;
}

TEST(LimitsTest, AVersion1SnapshotLoadsIntoPerAccountLedgers) {
  Core core(TestCoreOptions());
  const absl::Status status = core.LoadSnapshot(Version1Snapshot(/*cycle=*/false));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(core.Balance(5), 150);
  const std::vector<LedgerEntry> ledger = FullLedger(core, 5, 10);
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[0].amount, 50);
  EXPECT_EQ(ledger[1].amount, 100);

  CoreLimits limits;
  limits.ledger_entries_max = 1;
  Core shorter(WithLimits(limits));
  ASSERT_TRUE(shorter.LoadSnapshot(Version1Snapshot(/*cycle=*/false)).ok());
  EXPECT_EQ(FullLedger(shorter, 5, 10).size(), 1u);
  EXPECT_EQ(shorter.Stats().ledger_entries_forgotten, 1u);
  EXPECT_TRUE(shorter.CheckInvariants().ok()) << shorter.CheckInvariants();

  Core corrupt(TestCoreOptions());
  EXPECT_EQ(corrupt.LoadSnapshot(Version1Snapshot(/*cycle=*/true)).code(),
            absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------
// Replay.

// A refused command must be refused again by a core rebuilt from the events
// (replayed, or loaded from a snapshot), and room made by an event must be
// room there too.
TEST(LimitsTest, RebuiltCoresMakeTheSameDecisions) {
  CoreLimits limits;
  limits.queue_waiting_max = 2;
  limits.accounts_max = 2;
  const CoreOptions options = WithLimits(limits);
  CoreHarness harness(OneActiveConfig(), options);
  ASSERT_TRUE(harness.Run(ChargeCommand(1, 10'000, 0)).ok());
  ASSERT_TRUE(harness.Run(ChargeCommand(2, 10'000, 0)).ok());
  std::vector<QueueToken> tokens(5);
  for (UserId user = 1; user <= 3; ++user) {
    tokens[user] = harness.Run(EnterCommand(kSchedule, user, 0)).token;
  }
  Core replayed(options);
  ASSERT_TRUE(replayed.ApplyEvents(harness.events()).ok());
  std::vector<uint8_t> snapshot;
  harness.core().SaveSnapshot(&snapshot);
  Core loaded(options);
  ASSERT_TRUE(loaded.LoadSnapshot(snapshot).ok());

  const TimestampMs now = harness.now();
  std::vector<Core*> cores = {&harness.core(), &replayed, &loaded};
  for (Core* core : cores) {
    EventBuffer events;
    EXPECT_EQ(core->Apply(EnterCommand(kSchedule, 4, 900), now, &events).code,
              ResultCode::kQueueFull);
    EXPECT_EQ(core->Apply(ChargeCommand(3, 1, 901), now, &events).code, ResultCode::kAccountsFull);
    EXPECT_EQ(events.count(), 0u);
    // User 3 leaves: user 4 gets in, on every core alike.
    ASSERT_TRUE(core->Apply(LeaveCommand(kSchedule, 3, tokens[3], 902), now, &events).ok());
    const Reply entered = core->Apply(EnterCommand(kSchedule, 4, 900), now, &events);
    EXPECT_EQ(entered.code, ResultCode::kOk);
    EXPECT_EQ(entered.queue_state, QueueState::kWaiting);
  }
  EXPECT_EQ(replayed.StateHash(), harness.core().StateHash());
  EXPECT_EQ(loaded.StateHash(), harness.core().StateHash());
}

// Random charges, entries, leaves and payments under small limits: the live
// core, its replay and its snapshot agree, the invariants hold, and no limit
// is ever passed.
TEST(LimitsTest, RandomWorkUnderSmallLimitsStaysConsistent) {
  const uint64_t seed = SeedFromEnvOrRandom("ENCORE_LIMITS_SEED");
  std::mt19937_64 random(seed);
  CoreLimits limits;
  limits.queue_waiting_max = 1 + random() % 8;
  limits.queue_entries_max = 20 + random() % 60;
  limits.accounts_max = 1 + random() % 12;
  limits.ledger_entries_max = 1 + random() % 5;
  std::printf("limits: waiting %u entries %u accounts %u ledger %u\n", limits.queue_waiting_max,
              limits.queue_entries_max, limits.accounts_max, limits.ledger_entries_max);
  CoreHarness harness(OneActiveConfig(), WithLimits(limits));
  std::vector<QueueToken> tokens(21);
  for (int step = 0; step < 3'000; ++step) {
    const UserId user = 1 + random() % 20;
    switch (random() % 5) {
      case 0:
        harness.Run(ChargeCommand(user, 1 + random() % 10'000, 0));
        break;
      case 1:
      case 2: {
        const Reply reply = harness.Run(EnterCommand(kSchedule, user, 0));
        if (reply.ok()) tokens[user] = reply.token;
        break;
      }
      case 3:
        harness.Run(LeaveCommand(kSchedule, user, tokens[user], 0));
        break;
      default: {
        const Reply held = harness.Run(HoldCommand(kSchedule, user, tokens[user],
                                                   {static_cast<SeatIndex>(random() % 100)}, 0));
        if (held.ok()) harness.Run(PayCommand(kSchedule, user, tokens[user], held.hold, 0));
        break;
      }
    }
    harness.AdvanceBy(static_cast<int64_t>(random() % 2'000));
    const CoreStats stats = harness.core().Stats();
    ASSERT_LE(stats.queue_waiting, limits.queue_waiting_max) << "step " << step;
    ASSERT_LE(stats.accounts, limits.accounts_max) << "step " << step;
    ASSERT_LE(stats.ledger_entries, uint64_t{limits.ledger_entries_max} * stats.accounts);
  }
  ExpectConsistent(harness);
}

// ---------------------------------------------------------------------------
// Memory accounting, and the cost per entry it gives (printed for
// docs/PERFORMANCE.md).

TEST(LimitsTest, MemoryByPartGrowsWithWhatItCounts) {
  CoreHarness harness(OneActiveConfig());
  const CoreStats empty = harness.core().Stats();
  EXPECT_GT(empty.seat_state_bytes, 0u);
  constexpr UserId kUsers = 20'000;
  for (UserId user = 1; user <= kUsers; ++user) {
    ASSERT_TRUE(harness.Run(ChargeCommand(user, 100, 0)).ok());
    ASSERT_TRUE(harness.Run(EnterCommand(kSchedule, user, 0)).ok());
  }
  QueueToken token;
  ASSERT_NE(harness.HoldFor(1, {0}, &token), 0u);
  const CoreStats full = harness.core().Stats();
  EXPECT_GT(full.account_state_bytes, empty.account_state_bytes);
  EXPECT_GT(full.ledger_state_bytes, empty.ledger_state_bytes);
  EXPECT_GT(full.queue_state_bytes, empty.queue_state_bytes);
  EXPECT_GT(full.request_result_bytes, empty.request_result_bytes);
  EXPECT_GT(full.hold_state_bytes, empty.hold_state_bytes);
  const double accounts = static_cast<double>(full.accounts);
  std::printf("per account: %.1f B index, %.1f B ledger (one entry)\n",
              static_cast<double>(full.account_state_bytes) / accounts,
              static_cast<double>(full.ledger_state_bytes) / accounts);
  std::printf("per request result: %.1f B\n", static_cast<double>(full.request_result_bytes) /
                                                  static_cast<double>(full.request_results));
  // A ledger entry is 56 bytes; an account's index slot less than 128.
  EXPECT_LE(static_cast<double>(full.ledger_state_bytes) / accounts, 56.0);
  EXPECT_LE(static_cast<double>(full.account_state_bytes) / accounts, 128.0);
}

}  // namespace
}  // namespace encore::testing
