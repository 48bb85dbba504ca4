// Real crashes: a child process runs the engine on the RocksDB journal (sync)
// under load and reports every acknowledged reply through a pipe; the parent
// kills it with SIGKILL at a seeded moment, reopens the data directory, and
// checks that every acknowledged command is there (its repeat returns the very
// reply recorded), the invariants hold on every shard, no seat is sold twice
// and no point is lost across shards.
//
// ENCORE_CRASH_ROUNDS=<n> runs more rounds (default 4); ENCORE_CRASH_SEED=<s>
// replays a seed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <vector>

#include "encore/engine.h"
#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr uint32_t kShards = 2;
constexpr uint32_t kSchedules = 3;
constexpr uint32_t kSeats = 40;

struct AckRecord {
  Command command;
  Reply reply;
};

EngineOptions CrashEngineOptions(Journal* journal) {
  EngineOptions options;
  options.shards = kShards;
  options.journal = journal;
  options.token_key = TestCoreOptions().token_key;
  options.snapshot_every_events = 2'000;   // Snapshots happen during the run...
  options.snapshot_log_ratio = 0;          // ...every 2,000 events.
  options.request_results_max = 1u << 20;  // Every command stays repeatable.
  return options;
}

// The child: never returns. Writes one AckRecord per acknowledged reply.
[[noreturn]] void RunChild(const std::string& path, int ack_fd, uint64_t seed, bool first_round) {
  RocksDbJournalOptions journal_options;
  journal_options.path = path;
  journal_options.durability = Durability::kSync;
  auto journal = RocksDbJournal::Open(journal_options);
  if (!journal.ok()) _exit(3);
  auto engine = Engine::Open(CrashEngineOptions(journal->get()));
  if (!engine.ok()) _exit(4);
  auto producer = std::move(*(*engine)->NewProducer());
  RequestKey key = seed << 32;
  auto call = [&](Command command) {
    command.request_key = ++key;
    AckRecord record{command, producer->Call(command)};
    if (write(ack_fd, &record, sizeof(record)) != sizeof(record)) _exit(5);
    return record.reply;
  };
  const TimestampMs now = SystemClock().NowMs();
  if (first_round) {
    call(CreateConcertCommand(kConcert, "Crash", 0));
    for (uint32_t i = 0; i < kSchedules; ++i) {
      ScheduleConfig config = MakeScheduleConfig(kSchedule + i, kSeats);
      config.sale_opens_at_ms = now - 1'000;
      config.sale_closes_at_ms = now + 24 * 3'600'000LL;
      call(CreateScheduleCommand(config, 0));
    }
  }
  std::mt19937_64 random(seed);
  for (;;) {  // Until killed.
    const UserId user = 1 + random() % 500;
    const ScheduleId schedule = kSchedule + random() % kSchedules;
    call(ChargeCommand(user, 2'000 + random() % 9'000, 0));
    const Reply entered = call(EnterCommand(schedule, user, 0));
    if (!entered.ok()) continue;
    const Reply held = call(
        HoldCommand(schedule, user, entered.token, {static_cast<SeatIndex>(random() % kSeats)}, 0));
    if (!held.ok()) continue;
    if (random() % 5 == 0) {
      call(ReleaseWithProofCommand(schedule, user, held.hold, held.hold_proof, 0));
    } else {
      call(PayCommand(schedule, user, entered.token, held.hold, 0));
    }
  }
}

// Runs the child until it has acknowledged `kill_after` commands, kills it,
// and returns every record it acknowledged.
std::vector<AckRecord> RunAndKill(const std::string& path, uint64_t seed, bool first_round,
                                  size_t kill_after) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    RunChild(path, fds[1], seed, first_round);
  }
  close(fds[1]);
  std::vector<AckRecord> acked;
  AckRecord record;
  size_t filled = 0;
  bool killed = false;
  for (;;) {
    const ssize_t got =
        read(fds[0], reinterpret_cast<char*>(&record) + filled, sizeof(record) - filled);
    if (got <= 0) break;  // The child is gone and the pipe drained.
    filled += static_cast<size_t>(got);
    if (filled < sizeof(record)) continue;
    filled = 0;
    acked.push_back(record);
    if (!killed && acked.size() >= kill_after) {
      kill(child, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended on its own (exit " << WEXITSTATUS(status) << ")";
  return acked;
}

TEST(CrashTest, KillNineLosesNothingAcknowledged) {
  const char* seed_env = std::getenv("ENCORE_CRASH_SEED");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 91;
  const char* rounds_env = std::getenv("ENCORE_CRASH_ROUNDS");
  const int rounds = rounds_env ? std::atoi(rounds_env) : 4;
  std::cout << "crash seed " << seed << " (replay: ENCORE_CRASH_SEED=" << seed << "), " << rounds
            << " rounds" << std::endl;
  char dir_template[] = "/tmp/encore-crash-XXXXXX";
  const std::string path = std::string(mkdtemp(dir_template)) + "/data";
  std::mt19937_64 random(seed);
  std::vector<AckRecord> all_acked;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    const size_t kill_after = 50 + random() % 1500;
    std::vector<AckRecord> acked = RunAndKill(path, random(), round == 0, kill_after);
    ASSERT_GE(acked.size(), kill_after);
    all_acked.insert(all_acked.end(), acked.begin(), acked.end());

    // Reopen what the killed process left, and check.
    RocksDbJournalOptions journal_options;
    journal_options.path = path;
    auto journal = RocksDbJournal::Open(journal_options);
    ASSERT_TRUE(journal.ok()) << journal.status();
    auto engine = Engine::Open(CrashEngineOptions(journal->get()));
    ASSERT_TRUE(engine.ok()) << engine.status();
    auto producer = std::move(*(*engine)->NewProducer());
    size_t checked = 0;
    for (const AckRecord& done : all_acked) {
      Reply again = producer->Call(done.command);
      // A payment in doubt at the crash is being resolved (its debit resent).
      for (int i = 0; i < 1000 && again.code == ResultCode::kPaymentInProgress; ++i) {
        again = producer->Call(done.command);
      }
      ASSERT_EQ(std::memcmp(&again, &done.reply, sizeof(Reply)), 0)
          << "acknowledged command " << checked << " (type " << static_cast<int>(done.command.type)
          << ", key " << done.command.request_key << ") was not found in the record after the "
          << "crash: its repeat ran again and answered " << ResultCodeName(again.code)
          << " with a different reply (first: " << ResultCodeName(done.reply.code) << ")";
      ++checked;
    }
    (*engine)->Close();
    Points balances = 0, debited = 0, sold_for = 0, charged = 0;
    for (uint32_t shard = 0; shard < kShards; ++shard) {
      (*engine)->Inspect(shard, [&](const Core& core) {
        const absl::Status invariants = core.CheckInvariants();
        EXPECT_TRUE(invariants.ok()) << invariants;
        const CoreStats stats = core.Stats();
        balances += stats.balances_total;
        debited += stats.payments_total;
        sold_for += stats.sold_payments_total;
        charged += stats.charges_total;
      });
    }
    EXPECT_EQ(balances + debited, charged) << "points not conserved";
    EXPECT_EQ(debited, sold_for) << "debits and sold seats disagree";
    engine->reset();
    ASSERT_TRUE((*journal)->Close().ok());
    std::cout << "round " << round << ": killed after " << acked.size()
              << " acknowledged commands; all " << checked << " so far present" << std::endl;
  }
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

}  // namespace
}  // namespace encore::testing
