// MetricsExporter end to end: an engine (NoopJournal) behind the real server,
// the exporter on a free port, and scrapes of /metrics over a raw socket. The
// names are there; N charges through a client raise the charge counter and
// the OK results by N; a hold moves the schedule's seat gauges; the request
// latency histogram counts the charges. Never sleeps: it scrapes, and between
// scrapes waits for the exporter's next tick, a bounded number of times. A
// journal that fails turns encore_engine_acknowledging from 1 to 0.
#include "encore/net/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "encore/commands.h"
#include "encore/engine.h"
#include "encore/net/client.h"
#include "encore/net/server.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/loopback_server.h"

namespace encore::testing {
namespace {

constexpr int kScrapesMax = 200;
constexpr std::chrono::milliseconds kTickWait{2'000};

// GET /metrics over a plain socket; the body, or "" when the request failed.
std::string Scrape(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[16384];
      for (ssize_t got; (got = read(fd, buffer, sizeof(buffer))) > 0;) {
        response.append(buffer, static_cast<size_t>(got));
      }
    }
  }
  close(fd);
  if (response.rfind("HTTP/1.1 200", 0) != 0) return "";
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// Labels in the order prometheus-cpp writes them: sorted by name, except a
// histogram's `le`, which comes last.
using Labels = std::vector<std::pair<std::string, std::string>>;

// The value of the sample `name{labels}`, or nullopt when the text has none.
std::optional<double> Sample(const std::string& text, const std::string& name,
                             const Labels& labels) {
  std::string key = name;
  if (!labels.empty()) {
    key += '{';
    bool first = true;
    for (const auto& [label, value] : labels) {
      key += (first ? "" : ",") + label + "=\"" + value + "\"";
      first = false;
    }
    key += '}';
  }
  key += ' ';
  const size_t at = text.find("\n" + key);
  if (at == std::string::npos) return std::nullopt;
  const size_t value_at = at + 1 + key.size();
  const size_t end = text.find_first_of(" \n", value_at);
  return std::stod(text.substr(value_at, end - value_at));
}

double SampleOr0(const std::string& text, const std::string& name, const Labels& labels) {
  return Sample(text, name, labels).value_or(0);
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = std::make_unique<LoopbackServer>();
    net::MetricsOptions metrics_options;
    metrics_options.listen = "127.0.0.1:0";
    metrics_options.tick_ms = 50;
    auto exporter =
        net::MetricsExporter::Start(metrics_options, &stack_->engine(), &stack_->server(), [] {
          return net::JournalFigures{3, 4, 5, 6, 7};
        });
    ASSERT_TRUE(exporter.ok()) << exporter.status();
    exporter_ = std::move(*exporter);
    ASSERT_NE(exporter_->port(), 0);
  }
  void TearDown() override {
    if (exporter_) exporter_->Stop();
    stack_.reset();
  }

  std::unique_ptr<net::Client> Connect(bool admin) {
    net::ClientOptions options;
    options.port = admin ? stack_->admin_port() : stack_->client_port();
    auto client = net::Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // Scrapes until `done(text)` holds, waiting for a new tick between
  // scrapes; the last text (check it with EXPECTs after).
  template <typename Done>
  std::string ScrapeUntil(Done done) {
    std::string text;
    for (int scrape = 0; scrape < kScrapesMax; ++scrape) {
      const uint64_t tick = exporter_->ticks();
      text = Scrape(exporter_->port());
      if (done(text)) break;
      exporter_->AwaitTickAfter(tick, kTickWait);
    }
    return text;
  }

  std::unique_ptr<LoopbackServer> stack_;
  std::unique_ptr<net::MetricsExporter> exporter_;
};

TEST_F(MetricsTest, ExpositionNamesEveryFamily) {
  // The families exist from the start; the first tick fills them in.
  const std::string text = ScrapeUntil([](const std::string& body) {
    return SampleOr0(body, "encore_journal_groups_total", {}) == 3;
  });
  for (const char* name : {"encore_commands_total",
                           "encore_batches_total",
                           "encore_events_total",
                           "encore_ring_backlog",
                           "encore_last_lsn",
                           "encore_durable_lsn",
                           "encore_snapshots_total",
                           "encore_snapshot_last_stall_seconds",
                           "encore_recovered_events",
                           "encore_recovery_seconds",
                           "encore_holds_live",
                           "encore_engine_acknowledging",
                           "encore_schedules",
                           "encore_memory_bytes",
                           "encore_server_connections_open",
                           "encore_server_connections_total",
                           "encore_server_commands_deferred_total",
                           "encore_server_requests_total",
                           "encore_journal_groups_total",
                           "encore_journal_events_total",
                           "encore_journal_bytes_total",
                           "encore_journal_write_seconds_total",
                           "encore_journal_commit_mean_seconds"}) {
    EXPECT_NE(text.find(std::string("\n# TYPE ") + name + " "), std::string::npos) << name;
  }
  // Every reason a connection is closed for has its own series.
  for (const char* outcome : {"idle_closed", "hello_timeout_closed", "frame_timeout_closed",
                              "auth_failed_closed", "auth_locked_closed", "protocol_closed"}) {
    EXPECT_NE(
        text.find(std::string("encore_server_connections_total{outcome=\"") + outcome + "\"}"),
        std::string::npos)
        << outcome;
  }
  // The journal callback's figures, published as they are.
  EXPECT_EQ(SampleOr0(text, "encore_journal_groups_total", {}), 3);
  EXPECT_EQ(SampleOr0(text, "encore_journal_bytes_total", {}), 6);
  EXPECT_DOUBLE_EQ(SampleOr0(text, "encore_journal_commit_mean_seconds", {}), 7e-9 / 3);
  EXPECT_EQ(SampleOr0(text, "encore_commands_total", {{"shard", "1"}, {"type", "charge"}}), 0);
}

double Charges(const std::string& text) {
  return SampleOr0(text, "encore_commands_total", {{"shard", "0"}, {"type", "charge"}}) +
         SampleOr0(text, "encore_commands_total", {{"shard", "1"}, {"type", "charge"}});
}
double ResultsOk(const std::string& text) {
  return SampleOr0(text, "encore_results_total", {{"code", "OK"}, {"shard", "0"}}) +
         SampleOr0(text, "encore_results_total", {{"code", "OK"}, {"shard", "1"}});
}

TEST_F(MetricsTest, ChargesRaiseTheCommandAndResultCountersByTheirNumber) {
  auto client = Connect(/*admin=*/false);
  ASSERT_NE(client, nullptr);
  const std::string before = ScrapeUntil([](const std::string& body) { return !body.empty(); });
  const double charges_before = Charges(before);
  const double ok_before = ResultsOk(before);
  constexpr int kCharges = 25;
  for (int i = 0; i < kCharges; ++i) {
    const auto reply = client->Call(MakeCharge(/*user=*/100 + i % 7, 1'000, /*key=*/1 + i));
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->code, ResultCode::kOk);
  }
  const std::string after = ScrapeUntil([&](const std::string& body) {
    return Charges(body) >= charges_before + kCharges &&
           SampleOr0(body, "encore_request_duration_seconds_count", {{"type", "charge"}}) >=
               kCharges;
  });
  EXPECT_EQ(Charges(after), charges_before + kCharges);
  EXPECT_EQ(ResultsOk(after), ok_before + kCharges);
  EXPECT_EQ(SampleOr0(after, "encore_request_duration_seconds_count", {{"type", "charge"}}),
            kCharges);
  // Every charge took more than 0 s and is in the +Inf bucket.
  EXPECT_GT(SampleOr0(after, "encore_request_duration_seconds_sum", {{"type", "charge"}}), 0);
  EXPECT_EQ(SampleOr0(after, "encore_request_duration_seconds_bucket",
                      {{"type", "charge"}, {"le", "+Inf"}}),
            kCharges);
  EXPECT_GE(SampleOr0(after, "encore_server_requests_total", {}), kCharges + 1);
  EXPECT_EQ(SampleOr0(after, "encore_server_connections_open", {}), 1);
}

TEST_F(MetricsTest, AHoldMovesTheScheduleGauges) {
  auto admin = Connect(/*admin=*/true);
  auto client = Connect(/*admin=*/false);
  ASSERT_NE(admin, nullptr);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(admin->Call(MakeCreateConcert(kConcert, "Metrics", 1))->code, ResultCode::kOk);
  ASSERT_EQ(admin->Call(MakeCreateSchedule(OnSaleNowConfig(kSchedule, 40), 2))->code,
            ResultCode::kOk);
  const Labels schedule{{"schedule", std::to_string(kSchedule)}};
  const std::string before = ScrapeUntil([&](const std::string& body) {
    return Sample(body, "encore_schedule_seats_available", schedule).has_value();
  });
  EXPECT_EQ(SampleOr0(before, "encore_schedule_seats_available", schedule), 40);
  EXPECT_EQ(SampleOr0(before, "encore_schedule_seats_held", schedule), 0);

  const auto entered = client->Call(MakeEnterQueue(kSchedule, 1, 11));
  ASSERT_TRUE(entered.ok() && entered->code == ResultCode::kOk);
  const SeatIndex seats[] = {5, 6, 7};
  const auto held = client->Call(MakeHoldSeats(kSchedule, 1, entered->reply.token, seats, 12));
  ASSERT_TRUE(held.ok() && held->code == ResultCode::kOk);

  const std::string after = ScrapeUntil([&](const std::string& body) {
    return SampleOr0(body, "encore_schedule_seats_held", schedule) == 3;
  });
  EXPECT_EQ(SampleOr0(after, "encore_schedule_seats_available", schedule), 37);
  EXPECT_EQ(SampleOr0(after, "encore_schedule_seats_held", schedule), 3);
  EXPECT_EQ(SampleOr0(after, "encore_schedule_seats_sold", schedule), 0);
  EXPECT_EQ(SampleOr0(after, "encore_schedule_queue_active", schedule), 1);
  const std::string shard =
      std::to_string(ShardOfSchedule(kSchedule, stack_->engine().shard_count()));
  EXPECT_EQ(SampleOr0(after, "encore_holds_live", {{"shard", shard}}), 1);
}

double MemoryBytes(const std::string& text, const std::string& shard, const std::string& part) {
  return SampleOr0(text, "encore_memory_bytes", {{"part", part}, {"shard", shard}});
}

TEST_F(MetricsTest, MemoryGaugesReportEachPartPerShard) {
  auto admin = Connect(/*admin=*/true);
  auto client = Connect(/*admin=*/false);
  ASSERT_NE(admin, nullptr);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(admin->Call(MakeCreateConcert(kConcert, "Memory", 1))->code, ResultCode::kOk);
  ASSERT_EQ(admin->Call(MakeCreateSchedule(OnSaleNowConfig(kSchedule, 40), 2))->code,
            ResultCode::kOk);
  const std::string schedule_shard =
      std::to_string(ShardOfSchedule(kSchedule, stack_->engine().shard_count()));
  const std::string before = ScrapeUntil(
      [&](const std::string& body) { return MemoryBytes(body, schedule_shard, "seats") > 0; });
  // Every part has a gauge on every shard from the start.
  for (uint32_t shard = 0; shard < stack_->engine().shard_count(); ++shard) {
    for (const char* part :
         {"seats", "holds", "accounts", "ledgers", "queues", "request_results"}) {
      EXPECT_TRUE(
          Sample(before, "encore_memory_bytes", {{"part", part}, {"shard", std::to_string(shard)}})
              .has_value())
          << part << " on shard " << shard;
    }
  }
  // 40 seats of 8 bytes each, at least.
  EXPECT_GE(MemoryBytes(before, schedule_shard, "seats"), 40 * 8);

  constexpr UserId kUser = 77;
  const std::string user_shard = std::to_string(ShardOfUser(kUser, stack_->engine().shard_count()));
  const double ledgers_before = MemoryBytes(before, user_shard, "ledgers");
  const double accounts_before = MemoryBytes(before, user_shard, "accounts");
  ASSERT_EQ(client->Call(MakeCharge(kUser, 1'000, 21))->code, ResultCode::kOk);
  ASSERT_EQ(client->Call(MakeEnterQueue(kSchedule, kUser, 22))->code, ResultCode::kOk);
  const std::string after = ScrapeUntil([&](const std::string& body) {
    return MemoryBytes(body, user_shard, "ledgers") > ledgers_before &&
           MemoryBytes(body, schedule_shard, "queues") > 0;
  });
  EXPECT_GT(MemoryBytes(after, user_shard, "ledgers"), ledgers_before);
  EXPECT_GE(MemoryBytes(after, user_shard, "accounts"), accounts_before);
  EXPECT_GT(MemoryBytes(after, schedule_shard, "queues"), 0);
  EXPECT_GT(MemoryBytes(after, user_shard, "request_results"), 0);
}

// A journal that is durable at once until told to fail, then fails for good.
class FailingJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t>) override {
    if (failed_.load()) return;
    durable_[shard].store(first_lsn + count - 1);
  }
  uint64_t DurableLsn(uint32_t shard) const override { return durable_[shard].load(); }
  void WaitDurable(uint32_t, uint64_t, std::chrono::milliseconds) override {}
  absl::Status status() const override {
    return failed_.load() ? absl::DataLossError("injected: no space left on device")
                          : absl::OkStatus();
  }
  void Fail() { failed_.store(true); }

 private:
  std::atomic<bool> failed_{false};
  std::array<std::atomic<uint64_t>, 2> durable_{};
};

TEST(MetricsHealthTest, TheAcknowledgingGaugeDropsToZeroWhenTheJournalFails) {
  FailingJournal journal;
  LoopbackServer stack(&journal, /*shards=*/2);
  net::MetricsOptions metrics_options;
  metrics_options.listen = "127.0.0.1:0";
  metrics_options.tick_ms = 50;
  auto exporter = net::MetricsExporter::Start(metrics_options, &stack.engine(), nullptr);
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  const auto gauge_after_ticks = [&] {
    const uint64_t tick = (*exporter)->ticks();
    (*exporter)->AwaitTickAfter((*exporter)->AwaitTickAfter(tick, kTickWait), kTickWait);
    return Sample(Scrape((*exporter)->port()), "encore_engine_acknowledging", {});
  };
  EXPECT_EQ(gauge_after_ticks(), 1.0);

  auto producer = stack.engine().NewProducer();
  ASSERT_TRUE(producer.ok()) << producer.status();
  EXPECT_EQ((*producer)->Call(MakeCharge(/*user=*/42, 100, 1)).code, ResultCode::kOk);
  journal.Fail();
  EXPECT_EQ((*producer)->Call(MakeCharge(/*user=*/42, 100, 2)).code, ResultCode::kUnavailable);
  EXPECT_FALSE(stack.engine().status().ok());
  EXPECT_EQ(gauge_after_ticks(), 0.0);
  (*exporter)->Stop();
}

TEST(MetricsOptionsTest, BadOptionsAreRefusedAndABusyPortIsUnavailable) {
  net::MetricsOptions options;
  options.listen = "127.0.0.1";
  EXPECT_EQ(net::ValidateMetricsOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options.listen = "127.0.0.1:0";
  options.tick_ms = 1;
  EXPECT_EQ(net::ValidateMetricsOptions(options).code(), absl::StatusCode::kInvalidArgument);

  auto engine = std::move(*Engine::Open(EngineOptions{}));
  options.tick_ms = 1000;
  auto first = net::MetricsExporter::Start(options, engine.get(), nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  options.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = net::MetricsExporter::Start(options, engine.get(), nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  (*first)->Stop();
  engine->Close();
}

}  // namespace
}  // namespace encore::testing
