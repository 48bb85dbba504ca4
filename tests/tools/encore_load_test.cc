// encore-load's core against an in-process server (engine on the no-op
// journal, real TCP on loopback): a short flash sale and a short throughput
// run end with the server's state matching what the tool saw; and a balance
// changed behind the tool's back is caught, naming the user.
#include <sstream>

#include "../../tools/load/ack_log.cc"  // The ack log and its check.
#include "../../tools/load/load.cc"     // The tool's core, compiled into this test.
#include "gtest/gtest.h"
#include "support/loopback_server.h"

namespace encore::load {
namespace {

// The shared loopback server, with the options of a run against it.
class InProcessServer : public testing::LoopbackServer {
 public:
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

TEST(EncoreLoadTest, ABalanceChangedBehindTheToolsBackIsABreachNamingTheUser) {
  InProcessServer server;
  LoadOptions options = FlashSaleOptions(server);
  options.users = 50;
  options.seats = 20;
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

TEST(EncoreLoadTest, BadOptionsAreRefusedBeforeConnecting) {
  LoadOptions options;
  options.scenario = "stampede";
  EXPECT_FALSE(ValidateLoadOptions(options).ok());
  options.scenario = "flash-sale";
  options.abandon_percent = 90;
  options.late_percent = 20;
  EXPECT_FALSE(ValidateLoadOptions(options).ok());
}

}  // namespace
}  // namespace encore::load
