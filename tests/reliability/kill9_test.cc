// Real crashes of the real server: encored (RocksDB journal, a data dir under
// /tmp, ephemeral ports of 127.0.0.1) is killed with SIGKILL at a seeded
// moment of an encore-load flash sale, restarted on the same data dir, and
// `encore-load verify` checks it against the client's ack log of every round
// so far: every acknowledged charge and payment is there, paid seats are SOLD,
// no seat sold twice, sold == paid, balances == charges - payments. Each round
// is a new flash sale (new concert, schedule and users; every third round a
// throughput run) on the restarted server; the ack log and the checks cover
// all rounds.
//
// ENCORE_KILL9_ROUNDS=<n> runs more rounds (default 5; 2 in a sanitizer
// build); ENCORE_KILL9_SEED=<s> replays a seed (the kill moments and the
// flash sales' seeds; thread timing is not replayed). ENCORE_KEEP_TMP=1
// keeps the data dir and the logs.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>

#include "gtest/gtest.h"
#include "reliability/process_support.h"

namespace encore::testing {
namespace {

struct Figures {
  int rounds = 0;
  int kills = 0;
  int kills_mid_run = 0;  // encore-load was still selling when encored died.
  uint64_t acks_checked = 0;
  uint64_t acks_logged = 0;
};

std::vector<std::string> ServerFlags(const std::string& data_dir, const std::string& durability) {
  // Small snapshot period: snapshots and log truncation happen between kills.
  return {"--data-dir", data_dir, "--durability", durability, "--snapshot-every-events", "3000"};
}

std::vector<std::string> FlashSaleArgs(const std::string& ack_log, uint64_t seed) {
  return {"flash-sale", "--users",   "400",    "--seats",           "120",  "--active-max",
          "60",         "--poll-ms", "20",     "--hold-ttl-ms",     "1000", "--connections",
          "2",          "--depth",   "64",     "--duration-s",      "60",   "--quiet",
          "--ack-log",  ack_log,     "--seed", std::to_string(seed)};
}

// Every third round is a throughput run instead (closed loop, many users
// charging, holding, releasing and paying at once).
std::vector<std::string> ThroughputArgs(const std::string& ack_log, uint64_t seed) {
  return {"throughput", "--connections",     "2", "--depth", "32",        "--seats",
          "5000",       "--duration-s",      "2", "--quiet", "--ack-log", ack_log,
          "--seed",     std::to_string(seed)};
}

// "acks checked N" from verify's summary line.
uint64_t AcksChecked(const std::string& output) {
  const size_t at = output.find("acks checked ");
  return at == std::string::npos ? 0 : std::strtoull(output.c_str() + at + 13, nullptr, 10);
}

uint64_t LineCount(const std::string& path) {
  const std::string text = ReadFile(path);
  return static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
}

// Runs `rounds` of flash sale, kill -9 at a seeded moment, restart, verify.
void RunKillRounds(const std::string& durability, int rounds, uint64_t seed, Figures* figures) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string data = dir.path() + "/data";
  const std::string acks = dir.path() + "/acks.log";
  auto server = std::make_unique<EncoredProcess>(ServerFlags(data, durability));
  ASSERT_TRUE(server->listening()) << server->output();
  std::mt19937_64 random(seed);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round << " of seed " << seed);
    const uint64_t load_seed = random() | 1;
    const int64_t kill_after_ms = 30 + static_cast<int64_t>(random() % 1500);
    const std::string load_out = dir.path() + "/load-" + std::to_string(round) + ".txt";
    std::vector<std::string> argv = {ENCORE_LOAD_BINARY};
    const bool throughput = round % 3 == 2;
    for (const std::string& arg :
         throughput ? ThroughputArgs(acks, load_seed) : FlashSaleArgs(acks, load_seed)) {
      argv.push_back(arg);
    }
    argv.insert(argv.end(), {"--port", std::to_string(server->port()), "--admin-port",
                             std::to_string(server->admin_port())});
    const pid_t load = Spawn(argv, -1, load_out);
    ASSERT_GT(load, 0);
    std::optional<int> load_status = WaitExit(load, kill_after_ms);
    const bool mid_run = !load_status.has_value();
    server->Kill9();
    ++figures->kills;
    figures->kills_mid_run += mid_run ? 1 : 0;
    if (mid_run) load_status = WaitExit(load, 60'000);
    ASSERT_TRUE(load_status.has_value()) << "encore-load hung after the server died";
    const int load_exit = ExitCodeOf(*load_status);
    // 4: it saw the server go; 2: the server died during its setup; 0: it
    // had finished (its own end-of-run check passed). Never a crash or 3.
    EXPECT_TRUE(load_exit == 4 || load_exit == 2 || load_exit == 0)
        << "encore-load exit " << load_exit << ":\n"
        << ReadFile(load_out);
    if (!mid_run) {
      EXPECT_EQ(load_exit, 0) << ReadFile(load_out);
    }

    server = std::make_unique<EncoredProcess>(ServerFlags(data, durability));
    ASSERT_TRUE(server->listening()) << "restart after kill -9 failed:\n" << server->output();
    const std::string verify_out = dir.path() + "/verify-" + std::to_string(round) + ".txt";
    const int verify_exit = RunLoad(*server, {"verify", "--ack-log", acks}, verify_out);
    const std::string verified = ReadFile(verify_out);
    ASSERT_EQ(verify_exit, 0) << "after kill -9 " << (mid_run ? "mid-run" : "after the run")
                              << " at " << kill_after_ms << " ms:\n"
                              << verified << "\nencore-load:\n"
                              << ReadFile(load_out);
    figures->acks_checked = AcksChecked(verified);
    figures->acks_logged = LineCount(acks);
    ++figures->rounds;
    std::cout << "round " << round << " (" << (throughput ? "throughput" : "flash sale")
              << "): killed at " << kill_after_ms << " ms ("
              << (mid_run ? "mid-run" : "after the run") << "), encore-load exit " << load_exit
              << "; " << verified.substr(verified.find("verify:")) << std::flush;
  }
  EXPECT_EQ(server->Stop(), 0) << server->output();
  // The data dir left by all those kills passes the log's own check too.
  const std::string wal_out = dir.path() + "/wal-verify.txt";
  const pid_t wal = Spawn({ENCORE_WAL_BINARY, "verify", data}, -1, wal_out);
  const std::optional<int> wal_status = WaitExit(wal, 120'000);
  ASSERT_TRUE(wal_status.has_value());
  EXPECT_EQ(ExitCodeOf(*wal_status), 0) << ReadFile(wal_out);
}

uint64_t SeedOf() {
  const uint64_t clock_seed = static_cast<uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count() & 0xffffffff);
  return EnvNumber("ENCORE_KILL9_SEED", clock_seed);
}

void Report(const char* what, uint64_t seed, const Figures& f, double seconds) {
  std::cout << what << ": seed " << seed << " (replay: ENCORE_KILL9_SEED=" << seed << "), "
            << f.rounds << " rounds, " << f.kills << " kills (" << f.kills_mid_run << " mid-run), "
            << f.acks_logged << " ack log lines, " << f.acks_checked
            << " acks checked after the last restart, lost 0, " << seconds << " s" << std::endl;
}

TEST(Kill9Test, SyncLosesNothingAcknowledged) {
  const uint64_t seed = SeedOf();
  const int rounds = static_cast<int>(EnvNumber("ENCORE_KILL9_ROUNDS", kSanitized ? 2 : 5));
  std::cout << "kill9 sync: seed " << seed << " (replay: ENCORE_KILL9_SEED=" << seed << "), "
            << rounds << " rounds" << std::endl;
  const auto start = std::chrono::steady_clock::now();
  Figures figures;
  RunKillRounds("sync", rounds, seed, &figures);
  EXPECT_EQ(figures.rounds, rounds);
  EXPECT_GT(figures.acks_checked, 0u);
  Report("kill9 sync", seed, figures,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// async writes RocksDB's WAL without fsync before a reply: a kill of the
// process loses nothing (the OS has the bytes); a power loss or OS crash may
// lose what was acknowledged since the last sync, which this test cannot do.
TEST(Kill9Test, AsyncLosesNothingAcknowledgedOnAProcessKill) {
  const uint64_t seed = SeedOf();
  const int rounds = kSanitized ? 1 : 2;
  Figures figures;
  const auto start = std::chrono::steady_clock::now();
  RunKillRounds("async", rounds, seed, &figures);
  EXPECT_EQ(figures.rounds, rounds);
  Report("kill9 async", seed, figures,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// The check can fail: with durability none a kill -9 loses everything, and
// verify says so (exit 3, naming what was lost).
TEST(Kill9Test, WithoutDurabilityTheLossIsCaught) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string acks = dir.path() + "/acks.log";
  auto server = std::make_unique<EncoredProcess>(ServerFlags(data, "none"));
  ASSERT_TRUE(server->listening()) << server->output();
  ASSERT_EQ(RunLoad(*server, FlashSaleArgs(acks, 7), dir.path() + "/load.txt"), 0)
      << ReadFile(dir.path() + "/load.txt");
  server->Kill9();
  server = std::make_unique<EncoredProcess>(ServerFlags(data, "none"));
  ASSERT_TRUE(server->listening()) << server->output();
  const std::string out = dir.path() + "/verify.txt";
  EXPECT_EQ(RunLoad(*server, {"verify", "--ack-log", acks}, out), 3) << ReadFile(out);
  EXPECT_NE(ReadFile(out).find("LOST"), std::string::npos) << ReadFile(out);
}

// The check can fail: a record of an acknowledgement the server never gave
// (a charge, a different amount paid, a refusal of a paid hold) is caught.
TEST(Kill9Test, ATamperedAckLogIsCaughtNamingTheUser) {
  TempDir dir;
  const std::string acks = dir.path() + "/acks.log";
  EncoredProcess server(ServerFlags(dir.path() + "/data", "sync"));
  ASSERT_TRUE(server.listening()) << server.output();
  ASSERT_EQ(RunLoad(server, FlashSaleArgs(acks, 11), dir.path() + "/load.txt"), 0)
      << ReadFile(dir.path() + "/load.txt");
  const std::string log = ReadFile(acks);
  ASSERT_EQ(RunLoad(server, {"verify", "--ack-log", acks}, dir.path() + "/ok.txt"), 0)
      << ReadFile(dir.path() + "/ok.txt");
  // The first acknowledged payment's line, and three forgeries of it.
  const size_t pay_at = log.find("pay OK ");
  ASSERT_NE(pay_at, std::string::npos) << log;
  const std::string pay = log.substr(pay_at, log.find('\n', pay_at) - pay_at);
  const size_t user_at = pay.find(" user=") + 6;
  const std::string user = pay.substr(user_at, pay.find(' ', user_at) - user_at);
  const std::string run =
      pay.substr(pay.find("run="), pay.find(' ', pay.find("run=")) - pay.find("run="));
  const std::string forgeries[] = {
      "charge OK " + run + " user=" + user + " key=9999 amount=555\n",
      std::string(pay).replace(pay.find(" amount="), std::string::npos, " amount=1\n"),
      "pay HOLD_EXPIRED " + pay.substr(7) + "\n",
  };
  for (const std::string& forged : forgeries) {
    SCOPED_TRACE(forged);
    const std::string tampered = dir.path() + "/tampered.log";
    std::ofstream(tampered) << log << forged;
    const std::string out = dir.path() + "/tampered.txt";
    EXPECT_EQ(RunLoad(server, {"verify", "--ack-log", tampered}, out), 3) << ReadFile(out);
    EXPECT_NE(ReadFile(out).find("user " + user + ":"), std::string::npos) << ReadFile(out);
  }
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace encore::testing
