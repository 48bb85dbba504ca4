// encore-load's core against an in-process server (engine on the no-op
// journal, real TCP on loopback): a short flash sale and short throughput
// runs of every mix end with the server's state matching what the tool saw;
// and a balance changed behind the tool's back is caught, naming the user.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "encore/commands.h"
#include "encore/net/client.h"
#include "encore/result_code.h"
#include "gtest/gtest.h"
#include "load/ack_log_verify.h"
#include "load/command_line.h"
#include "load/flash_sale.h"
#include "load/hold_only.h"
#include "load/json_report.h"
#include "load/options.h"
#include "load/report.h"
#include "load/seat_plan.h"
#include "load/server_check.h"
#include "load/throughput.h"
#include "support/loopback_server.h"

namespace encore::load {
namespace {

// The shared loopback server, with the options of a run against it.
class InProcessServer : public testing::LoopbackServer {
 public:
  using LoopbackServer::LoopbackServer;
  LoadOptions Options(const std::string& scenario) const {
    LoadOptions options;
    options.scenario = scenario;
    options.port = client_port();
    options.admin_port = admin_port();
    options.progress = false;
    options.seed = 42;
    return options;
  }
};

LoadOptions FlashSaleOptions(const InProcessServer& server) {
  LoadOptions options = server.Options("flash-sale");
  options.users = 300;
  options.seats = 100;
  options.active_max = 40;
  options.hold_ttl_ms = 1000;
  options.abandon_percent = 10;
  options.late_percent = 5;
  options.poll_ms = 20;
  options.connections = 2;
  options.depth = 64;
  options.duration_s = 60;
  return options;
}

// The hold-only cursor walks requests in order without dividing; it must
// give request k the target of the closed formula, across schedule ends, for
// seat counts even and odd (an odd count can need a stride past n).
TEST(EncoreLoadTest, HoldOnlyCursorWalksTheFormulasTargets) {
  for (const uint32_t seats : {1u, 2u, 7u, 64u, 101u, 1000u}) {
    for (const uint32_t schedules : {1u, 3u}) {
      for (const uint64_t seed : {1ull, 42ull, 977ull}) {
        const SeatPlan plan{schedules, seats};
        const uint32_t users = HoldOnlyUsers(plan, 4);
        HoldOnlyCursor cursor(plan, users, seed);
        for (uint64_t k = 0; k < 3ull * seats * schedules + 5; ++k) {
          const HoldOnlyCursor::Target walked = cursor.Next();
          const HoldOnlyCursor::Target formula = cursor.TargetOf(k);
          ASSERT_EQ(walked.schedule, formula.schedule) << seats << " seats, k " << k;
          ASSERT_EQ(walked.user, formula.user) << seats << " seats, k " << k;
          ASSERT_EQ(walked.seat, formula.seat) << seats << " seats, k " << k;
        }
      }
    }
  }
}

TEST(EncoreLoadTest, FlashSaleSellsOutAndTheServerAgrees) {
  InProcessServer server;
  const LoadOptions options = FlashSaleOptions(server);
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunFlashSale(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  const FlashSaleFigures& f = report->flash;
  EXPECT_EQ(f.unfinished, 0u);
  // 300 users want 1.5 seats on average and most pay; seats held by those
  // who abandon may come free after the last fan gave up, so not every seat
  // need sell, but most do.
  EXPECT_GE(f.seats_paid, 50u);
  EXPECT_LE(f.seats_paid, 100u);
  EXPECT_EQ(f.sell_out_ms >= 0, f.seats_paid == 100u);
  EXPECT_GT(f.admitted, 0u);
  EXPECT_LE(f.admitted_in_order, f.admitted);
  EXPECT_GT(f.abandoned + f.late_refused + f.late_paid, 0u);
  EXPECT_EQ(report->expected.seats_paid.begin()->second, f.seats_paid);
  EXPECT_EQ(report->expected.balances.size(), 300u);
  EXPECT_TRUE(report->expected.uncertain.empty());
  EXPECT_GT(report->operations[Op::kPay].ok, 0u);
  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  EXPECT_TRUE(breaches.empty()) << breaches.front();
  // The result file names every operation and the check's outcome.
  report->breaches = breaches;
  const std::string json = ReportJson(options, *report);
  EXPECT_NE(json.find("\"flash_sale\":{\"users\":300,\"seats\":100"), std::string::npos) << json;
  EXPECT_NE(json.find("\"check\":{\"ok\":true"), std::string::npos);
}

TEST(EncoreLoadTest, ThroughputRunKeepsEveryInvariant) {
  InProcessServer server;
  LoadOptions options = server.Options("throughput");
  options.connections = 2;
  options.depth = 32;
  options.duration_s = 2;
  options.seats = 50'000;
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunThroughput(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  for (Op op : {Op::kCharge, Op::kEnter, Op::kStatus, Op::kHold, Op::kRelease, Op::kPay}) {
    EXPECT_GT(report->operations[op].ok, 0u) << OpName(op);
    EXPECT_EQ(report->operations[op].errors, 0u) << OpName(op);
  }
  EXPECT_EQ(report->expected.seats_paid.size(), 2u);
  EXPECT_GT(report->expected.seats_paid.begin()->second, 0u);
  EXPECT_FALSE(report->timeline.empty());
  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  EXPECT_TRUE(breaches.empty()) << breaches.front();
}

// --mix pays: whole purchases only. Every paying user charges, enters and
// holds once and pays once; nothing is released or polled; the server agrees.
TEST(EncoreLoadTest, APaysRunIsWholePurchasesAndTheServerAgrees) {
  InProcessServer server;
  LoadOptions options = server.Options("throughput");
  options.mix = "pays";
  options.hold_ttl_ms = 60'000;  // No hold expires before its payment, however slow the machine.
  options.connections = 2;
  options.depth = 32;
  options.duration_s = 1;
  options.seats = 200'000;
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunThroughput(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  // Requests answered OK, and sent at all, of one operation.
  const auto ok = [&](Op op) {
    auto it = report->operations.find(op);
    return it == report->operations.end() ? uint64_t{0} : it->second.ok;
  };
  const auto sent = [&](Op op) {
    auto it = report->operations.find(op);
    return it == report->operations.end() ? uint64_t{0} : it->second.total();
  };
  EXPECT_GT(ok(Op::kPay), 0u);
  EXPECT_EQ(sent(Op::kRelease), 0u);
  EXPECT_EQ(sent(Op::kStatus), 0u);
  for (Op op : {Op::kCharge, Op::kEnter, Op::kHold, Op::kPay})
    EXPECT_EQ(sent(op), ok(op)) << OpName(op);
  // One hold per payment (a run stops with at most `depth` holds per
  // connection not yet paid), and a new user after each.
  EXPECT_LE(ok(Op::kPay), ok(Op::kHold));
  EXPECT_LE(ok(Op::kHold) - ok(Op::kPay), uint64_t{options.connections} * options.depth);
  EXPECT_GE(ok(Op::kEnter), ok(Op::kPay));
  uint64_t paid = 0;
  for (const auto& [schedule, seats] : report->expected.seats_paid) paid += seats;
  EXPECT_EQ(paid, ok(Op::kPay));
  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  EXPECT_TRUE(breaches.empty()) << breaches.front();
}

// Requests answered OK, and sent at all, of one operation.
uint64_t OkOf(const LoadReport& report, Op op) {
  auto it = report.operations.find(op);
  return it == report.operations.end() ? 0 : it->second.ok;
}
uint64_t SentOf(const LoadReport& report, Op op) {
  auto it = report.operations.find(op);
  return it == report.operations.end() ? 0 : it->second.total();
}

// Seats the server's seat maps show in `state`, over the run's schedules.
uint64_t SeatsInState(const LoadOptions& options, const LoadReport& report, SeatState state) {
  absl::StatusOr<std::unique_ptr<net::Client>> admin = ConnectAdmin(options, "test");
  EXPECT_TRUE(admin.ok()) << admin.status();
  if (!admin.ok()) return 0;
  uint64_t seats = 0;
  for (const auto& [schedule, paid] : report.expected.seats_paid) {
    absl::StatusOr<net::DecodedResponse> map = (*admin)->SeatMap(schedule, 0, QueueToken{});
    EXPECT_TRUE(map.ok() && map->code == ResultCode::kOk) << schedule;
    if (map.ok()) seats += std::count(map->seats.begin(), map->seats.end(), state);
  }
  return seats;
}

// A short single-operation run (--mix hold-only or pay-only) of 2 x 32 in
// flight, holds lasting as long as those mixes make them.
LoadOptions SingleOperationOptions(InProcessServer& server, const std::string& mix) {
  LoadOptions options = server.Options("throughput");
  options.mix = mix;
  options.hold_ttl_ms = kSingleOperationHoldTtlMs;
  options.connections = 2;
  options.depth = 32;
  return options;
}

// --mix hold-only: every timed request is a hold of one seat. 2 x 500 seats
// and 3000 holds: every seat is held exactly once (no user passes the
// per-user limit, no seat is tried twice before all were), then the rest are
// refused SEAT_UNAVAILABLE, like a SET NX of a taken key. Nothing is sold.
TEST(EncoreLoadTest, AHoldOnlyRunHoldsEverySeatThenIsRefusedAndTheServerAgrees) {
  InProcessServer server;
  LoadOptions options = SingleOperationOptions(server, "hold-only");
  options.seats = 500;
  options.count = 3000;
  options.duration_s = 0;
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunThroughput(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->server_lost) << report->server_lost_reason;
  EXPECT_EQ(SentOf(*report, Op::kHold), 3000u);
  EXPECT_EQ(report->operations.size(), 1u) << "only holds are timed";
  EXPECT_EQ(OkOf(*report, Op::kHold), 1000u);
  EXPECT_EQ(report->operations[Op::kHold].refused, 2000u);
  EXPECT_EQ(report->operations[Op::kHold].errors, 0u);
  EXPECT_GT(report->setup_s, 0);
  EXPECT_EQ(report->expected.seats_paid.size(), 2u);
  for (const auto& [schedule, paid] : report->expected.seats_paid) EXPECT_EQ(paid, 0u);
  // A sample of the users, none of them charged: the check reads balance 0.
  EXPECT_FALSE(report->expected.balances.empty());
  EXPECT_TRUE(report->expected.uncertain.empty());
  EXPECT_EQ(SeatsInState(options, *report, SeatState::kHeld), 1000u);
  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  EXPECT_TRUE(breaches.empty()) << breaches.front();
}

// A timed hold-only run: holds are placed (and the server holds them).
TEST(EncoreLoadTest, ATimedHoldOnlyRunPlacesHoldsAndKeepsEveryInvariant) {
  InProcessServer server;
  LoadOptions options = SingleOperationOptions(server, "hold-only");
  options.seats = 100'000;
  options.duration_s = 1;
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunThroughput(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->server_lost) << report->server_lost_reason;
  EXPECT_GT(OkOf(*report, Op::kHold), 0u);
  EXPECT_EQ(report->operations[Op::kHold].errors, 0u);
  EXPECT_EQ(SeatsInState(options, *report, SeatState::kHeld), OkOf(*report, Op::kHold));
  EXPECT_EQ(SeatsInState(options, *report, SeatState::kSold), 0u);
  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  EXPECT_TRUE(breaches.empty()) << breaches.front();
}

// --mix pay-only: every timed request pays one hold of the set-up, each once:
// 3001 payments over 2 connections, all OK, 3001 seats sold, every user's
// balance back to 0 (charged one seat's price, paid it).
TEST(EncoreLoadTest, APayOnlyRunPaysEveryHoldExactlyOnceAndTheServerAgrees) {
  InProcessServer server;
  LoadOptions options = SingleOperationOptions(server, "pay-only");
  options.count = 3001;
  options.duration_s = 0;
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunThroughput(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->server_lost) << report->server_lost_reason;
  EXPECT_EQ(report->operations.size(), 1u) << "only payments are timed";
  EXPECT_EQ(SentOf(*report, Op::kPay), 3001u);
  EXPECT_EQ(OkOf(*report, Op::kPay), 3001u);
  EXPECT_GT(report->setup_s, 0);
  uint64_t paid = 0;
  for (const auto& [schedule, seats] : report->expected.seats_paid) paid += seats;
  EXPECT_EQ(paid, 3001u);
  EXPECT_EQ(report->expected.balances.size(), 3001u);
  for (const auto& [user, balance] : report->expected.balances) EXPECT_EQ(balance, 0) << user;
  EXPECT_TRUE(report->expected.uncertain.empty());
  EXPECT_EQ(SeatsInState(options, *report, SeatState::kSold), 3001u);
  EXPECT_EQ(SeatsInState(options, *report, SeatState::kHeld), 0u);
  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  EXPECT_TRUE(breaches.empty()) << breaches.front();
}

// A seat plan past one schedule's size, and the seat order: each seat once.
TEST(EncoreLoadTest, SeatPlansSplitIntoSchedulesAndTheOrderVisitsEverySeatOnce) {
  EXPECT_EQ(PlanSeats(500).schedules, 1u);
  EXPECT_EQ(PlanSeats(500).seats_per_schedule, 500u);
  EXPECT_EQ(PlanSeats(kSeatsPerScheduleMax).schedules, 1u);
  const SeatPlan plan = PlanSeats(2'500'000);
  EXPECT_EQ(plan.schedules, 3u);
  EXPECT_EQ(plan.seats_per_schedule, 833'334u);
  EXPECT_GE(plan.seats(), 2'500'000u);
  for (uint32_t n : {1u, 2u, 1000u, 1024u, 999'983u}) {
    for (uint64_t seed : {1ull, 42ull}) {
      const SeatPermutation order(n, seed);
      std::vector<bool> seen(n, false);
      for (uint64_t i = 0; i < n; ++i) {
        const SeatIndex seat = order(i);
        ASSERT_LT(seat, n);
        ASSERT_FALSE(seen[seat]) << "n " << n << " seed " << seed << " i " << i;
        seen[seat] = true;
      }
    }
  }
}

// encore-load's command line, parsed from `words` (the program name added).
CommandLine ParseWords(const std::vector<std::string>& words, std::ostream& out,
                       std::ostream& err) {
  std::vector<const char*> argv = {"encore-load"};
  for (const std::string& word : words) argv.push_back(word.c_str());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data(), out, err);
}

// The command line: the single-operation mixes' defaults and limits.
TEST(EncoreLoadTest, TheSingleOperationMixesTakeTheirDefaults) {
  std::ostringstream out;
  std::ostringstream err;
  const auto parse = [&](const std::vector<std::string>& words) {
    return ParseWords(words, out, err);
  };
  const CommandLine hold_only = parse({"throughput", "--mix", "hold-only", "--connections", "4"});
  ASSERT_TRUE(hold_only.options.has_value()) << err.str();
  EXPECT_EQ(hold_only.options->seats, 5'000'000u);  // 2M holds/s x 10 s / 4 connections.
  EXPECT_EQ(hold_only.options->hold_ttl_ms, kSingleOperationHoldTtlMs);
  const CommandLine pay_only = parse({"throughput", "--mix=pay-only"});
  ASSERT_TRUE(pay_only.options.has_value()) << err.str();
  EXPECT_EQ(pay_only.options->count, kPayOnlyCountDefault);
  EXPECT_EQ(pay_only.options->duration_s, 10);
  EXPECT_EQ(pay_only.options->hold_ttl_ms, kSingleOperationHoldTtlMs);
  const CommandLine seats_given = parse({"throughput", "--mix", "pay-only", "--seats", "5"});
  EXPECT_FALSE(seats_given.options.has_value());
  EXPECT_EQ(seats_given.exit_code, 2);
  const CommandLine bad_mix = parse({"throughput", "--mix", "hold-and-pay"});
  EXPECT_FALSE(bad_mix.options.has_value());
  EXPECT_EQ(bad_mix.exit_code, 2);
}

// The command line: defaults by scenario, --help and --version exit 0, and
// an unknown flag or a missing scenario is a usage error naming it.
TEST(EncoreLoadTest, TheCommandLineKeepsItsFlagsAndRefusesUnknownOnes) {
  std::ostringstream out;
  std::ostringstream err;
  const auto parse = [&](const std::vector<std::string>& words) {
    return ParseWords(words, out, err);
  };
  const CommandLine flash = parse({"--quiet", "flash-sale", "--users=50", "--seats", "20", "--port",
                                   "9000", "--abandon-percent", "0"});
  ASSERT_TRUE(flash.options.has_value()) << err.str();
  EXPECT_EQ(flash.options->scenario, "flash-sale");
  EXPECT_FALSE(flash.options->progress);
  EXPECT_EQ(flash.options->users, 50u);
  EXPECT_EQ(flash.options->seats, 20u);
  EXPECT_EQ(flash.options->port, 9000);
  EXPECT_EQ(flash.options->admin_port, 7401);
  EXPECT_EQ(flash.options->abandon_percent, 0u);
  EXPECT_EQ(flash.options->duration_s, kFlashSaleDurationDefaultS);
  const CommandLine throughput = parse({"throughput", "--count", "500"});
  ASSERT_TRUE(throughput.options.has_value()) << err.str();
  EXPECT_EQ(throughput.options->seats, kThroughputSeatsDefault);
  EXPECT_EQ(throughput.options->duration_s, 0) << "--count alone: until the count";
  const CommandLine verify = parse({"verify", "--ack-log", "/tmp/acks.log"});
  ASSERT_TRUE(verify.options.has_value()) << err.str();
  EXPECT_EQ(verify.options->ack_log_path, "/tmp/acks.log");

  const CommandLine help = parse({"--help"});
  EXPECT_FALSE(help.options.has_value());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(out.str().find("--ack-log"), std::string::npos) << out.str();
  const CommandLine version = parse({"--version"});
  EXPECT_FALSE(version.options.has_value());
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(out.str().find("encore-load "), std::string::npos);

  err.str("");
  const CommandLine unknown = parse({"throughput", "--turbo", "1"});
  EXPECT_FALSE(unknown.options.has_value());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(err.str().find("--turbo"), std::string::npos) << err.str();
  EXPECT_EQ(parse({}).exit_code, 2) << "no scenario";
  EXPECT_EQ(parse({"stampede"}).exit_code, 2);
  EXPECT_EQ(parse({"throughput", "--port", "70000"}).exit_code, 2);
  EXPECT_EQ(parse({"throughput", "--connections", "x"}).exit_code, 2);
  EXPECT_EQ(parse({"verify"}).exit_code, 2) << "verify needs --ack-log";
}

// The options of a small flash sale (50 users, 20 seats) against `server`.
LoadOptions SmallFlashSaleOptions(const InProcessServer& server) {
  LoadOptions options = FlashSaleOptions(server);
  options.users = 50;
  options.seats = 20;
  return options;
}

TEST(EncoreLoadTest, ABalanceChangedBehindTheToolsBackIsABreachNamingTheUser) {
  InProcessServer server;
  const LoadOptions options = SmallFlashSaleOptions(server);
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunFlashSale(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_TRUE(CheckServerState(options, report->expected).empty());

  // Another client charges one of the tool's users.
  const UserId victim = report->expected.balances.begin()->first;
  net::ClientOptions client_options;
  client_options.port = options.port;
  auto client = net::Client::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto charged = (*client)->Call(MakeCharge(victim, 777, 999'999));
  ASSERT_TRUE(charged.ok());
  ASSERT_EQ(charged->code, ResultCode::kOk);

  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_NE(breaches[0].find("user " + std::to_string(victim) + ":"), std::string::npos)
      << breaches[0];
  EXPECT_NE(breaches[0].find(std::to_string(report->expected.balances.at(victim) + 777)),
            std::string::npos)
      << breaches[0];
}

// A server that is gone when the check starts (killed just after the run) is
// the server lost, not a breach, for a caller that asks (the run's own check);
// without asking, it is still a breach (verify against a restarted server).
TEST(EncoreLoadTest, AServerGoneAtTheCheckIsLostNotABreach) {
  InProcessServer server;
  const LoadOptions options = SmallFlashSaleOptions(server);
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunFlashSale(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  bool lost = true;
  EXPECT_TRUE(CheckServerState(options, report->expected, &lost).empty());
  EXPECT_FALSE(lost);

  server.server().Stop();
  EXPECT_TRUE(CheckServerState(options, report->expected, &lost).empty());
  EXPECT_TRUE(lost);
  const std::vector<std::string> breaches = CheckServerState(options, report->expected);
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_NE(breaches[0].find("cannot read the server's state"), std::string::npos) << breaches[0];
}

TEST(EncoreLoadTest, TheAckLogOfARunVerifiesAndAForgedAckIsLost) {
  InProcessServer server;
  LoadOptions options = FlashSaleOptions(server);
  options.users = 80;
  options.seats = 30;
  char dir_template[] = "/tmp/encore-load-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  options.ack_log_path = std::string(dir_template) + "/acks.log";
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunFlashSale(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_FALSE(report->server_lost);

  absl::StatusOr<VerifyReport> verified = VerifyAckLog(options, options.ack_log_path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->breaches.empty()) << verified->breaches.front();
  EXPECT_EQ(verified->runs, 1u);
  EXPECT_EQ(verified->charges_checked, 80u);
  EXPECT_EQ(verified->payments_checked, report->flash.paid_users + report->flash.late_paid);
  EXPECT_EQ(verified->refusals_checked, report->flash.late_refused);
  EXPECT_EQ(verified->seats_sold, report->flash.seats_paid);

  // An acknowledgement the server never gave is reported lost, naming the user.
  const UserId user = report->expected.balances.begin()->first;
  std::ofstream(options.ack_log_path, std::ios::app)
      << "charge OK run=" << report->run_id << " user=" << user << " key=9 amount=5\n";
  verified = VerifyAckLog(options, options.ack_log_path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_FALSE(verified->breaches.empty());
  EXPECT_NE(verified->breaches[0].find("user " + std::to_string(user) +
                                       ": the acknowledged "
                                       "charge of 5 (key 9) is not in the ledger: LOST"),
            std::string::npos)
      << verified->breaches[0];
  std::filesystem::remove_all(dir_template);
}

// The server keeps an account's newest ledger entries only: acknowledged
// charges older than those are checked by the balance, which still catches
// an acknowledgement the server never gave.
TEST(EncoreLoadTest, AcksOlderThanTheKeptLedgerAreCheckedByTheBalance) {
  EngineOptions engine_options;
  engine_options.shards = 2;
  engine_options.limits.ledger_entries_max = 3;
  InProcessServer server(engine_options, net::ServerOptions{});
  LoadOptions options = SmallFlashSaleOptions(server);
  char dir_template[] = "/tmp/encore-load-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  options.ack_log_path = std::string(dir_template) + "/acks.log";
  std::ostringstream progress;
  absl::StatusOr<LoadReport> report = RunFlashSale(options, progress);
  ASSERT_TRUE(report.ok()) << report.status();

  // Five more charges of one user, acknowledged and logged as the tool logs
  // them: her ledger keeps the newest 3 entries.
  const UserId user = report->expected.balances.begin()->first;
  net::ClientOptions client_options;
  client_options.port = options.port;
  auto client = net::Client::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  for (RequestKey key = 900; key < 905; ++key) {
    auto charged = (*client)->Call(MakeCharge(user, 10, key));
    ASSERT_TRUE(charged.ok());
    ASSERT_EQ(charged->code, ResultCode::kOk);
    std::ofstream(options.ack_log_path, std::ios::app)
        << "charge OK run=" << report->run_id << " user=" << user << " key=" << key
        << " amount=10\n";
  }
  absl::StatusOr<VerifyReport> verified = VerifyAckLog(options, options.ack_log_path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->breaches.empty()) << verified->breaches.front();
  EXPECT_GE(verified->acks_past_ledger, 2u);

  // A charge the server never took is not in her ledger; it may be older than
  // the kept entries, but her balance is short of it: a breach naming her.
  std::ofstream(options.ack_log_path, std::ios::app)
      << "charge OK run=" << report->run_id << " user=" << user << " key=999 amount=5\n";
  verified = VerifyAckLog(options, options.ack_log_path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_EQ(verified->breaches.size(), 1u);
  EXPECT_NE(verified->breaches[0].find("user " + std::to_string(user) + ":"), std::string::npos)
      << verified->breaches[0];
  std::filesystem::remove_all(dir_template);
}

TEST(EncoreLoadTest, BadOptionsAreRefusedBeforeConnecting) {
  LoadOptions options;
  options.scenario = "stampede";
  EXPECT_FALSE(ValidateLoadOptions(options).ok());
  options.scenario = "flash-sale";
  options.abandon_percent = 90;
  options.late_percent = 20;
  EXPECT_FALSE(ValidateLoadOptions(options).ok());
  options = LoadOptions{};
  options.mix = "pay-only";
  options.count = 0;
  EXPECT_FALSE(ValidateLoadOptions(options).ok()) << "pay-only needs a count";
  options.count = 1000;
  EXPECT_TRUE(ValidateLoadOptions(options).ok());
  options.connections = 4;
  options.count = 3;
  EXPECT_FALSE(ValidateLoadOptions(options).ok()) << "a share of --count per connection";
  options.count = 0;
  options.mix = "hold-only";
  options.seats = 2'000'000;
  EXPECT_TRUE(ValidateLoadOptions(options).ok()) << "hold-only spreads seats over schedules";
  options.seats = kHoldOnlySeatsPerConnectionMax + 1;
  EXPECT_FALSE(ValidateLoadOptions(options).ok());
  options.mix = "mixed";
  options.seats = 2'000'000;
  EXPECT_FALSE(ValidateLoadOptions(options).ok());
  options.seats = 1000;
  options.mix = "hold-and-pay";
  EXPECT_FALSE(ValidateLoadOptions(options).ok());
}

}  // namespace
}  // namespace encore::load
