// encored: the Encore server.
//
//   encored [flags]      (encored --help lists them: AddFlags below)
//
// Each flag can also be set in a config file (--config FILE; config_file.h):
// `key = value` lines with the flags' names without dashes
// (`durability = async`); `#` starts a comment. Flags override it. Flags or a
// config file it refuses: a message naming the flag, exit 1, nothing opened.
// With --huge-pages on (the default) it first starts itself again with
// glibc's malloc asking for transparent huge pages (huge_pages.h).
// Opens the journal in the data dir (created if missing), recovers
// the engine, serves, and on SIGINT or SIGTERM stops cleanly: the server
// answers what is in flight, the engine finishes, the journal is synced.
// Prometheus metrics are served at http://<metrics-listen>/metrics
// (docs/operations.md).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "config_file.h"
#include "encore/engine.h"
#include "encore/net/metrics.h"
#include "encore/net/server.h"
#include "encore/rocksdb_journal.h"
#include "flags.h"
#include "huge_pages.h"

namespace encore {
namespace {

// Exit code when the flags or the config file are refused (nothing was opened).
constexpr int kExitRefused = 1;

struct Config {
  std::string data_dir = "./var";
  std::string durability_name = "sync";
  Durability durability = Durability::kSync;
  EngineOptions engine;
  uint32_t snapshot_write_mb_per_s = 256;
  net::ServerOptions server;
  bool metrics_enabled = true;
  net::MetricsOptions metrics;
  std::string huge_pages_name = "on";
  bool huge_pages = true;
  std::string huge_pages_note;  // Why the heap is not (made) on huge pages by us.
};

// Every flag of encored, with its help, bound to `config` (whose values are
// the defaults). The config file's keys are these names without the dashes.
void AddFlags(CLI::App& app, Config* config) {
  EngineOptions& engine = config->engine;
  CoreLimits& limits = engine.limits;
  net::ServerOptions& server = config->server;
  app.add_option("--data-dir", config->data_dir, "data directory")
      ->type_name("DIR")
      ->capture_default_str();
  app.add_option("--durability", config->durability_name, "journal durability: none, async or sync")
      ->type_name("MODE")
      ->capture_default_str();
  tools::AddNumber(app, "--shards", &engine.shards, "engine shards");
  tools::AddNumber(app, "--io-threads", &server.io_threads, "network I/O threads");
  app.add_option("--listen", server.client_listen, "client listener")
      ->type_name("HOST:PORT")
      ->capture_default_str();
  app.add_option("--admin-listen", server.admin_listen, "admin listener")
      ->type_name("HOST:PORT")
      ->capture_default_str();
  app.add_option("--api-key", server.api_key,
                 "key clients must send in Hello, at least 16 bytes (default none)")
      ->type_name("KEY");
  app.add_option("--admin-key", server.admin_key,
                 "key for admin requests on the client port, at least 16 bytes and not the API "
                 "key (default none)")
      ->type_name("KEY");
  tools::AddNumber(app, "--hello-failures-max", &server.hello_failures_max,
                   "failed Hellos from one address before it is refused");
  tools::AddNumber(app, "--hello-lockout-ms", &server.hello_lockout_ms,
                   "...for N ms after its last failure");
  tools::AddNumber(app, "--connections-max", &server.connections_max, "open connections");
  tools::AddNumber(app, "--idle-timeout-ms", &server.idle_timeout_ms,
                   "close silent connections after N ms, 0 never");
  tools::AddNumber(app, "--hello-timeout-ms", &server.hello_timeout_ms,
                   "close a connection without a Hello after N ms, 0 never");
  tools::AddNumber(app, "--frame-timeout-ms", &server.frame_timeout_ms,
                   "close a connection whose frame is not complete N ms after its first byte, "
                   "0 never");
  tools::AddNumber(app, "--snapshot-every-events", &engine.snapshot_every_events,
                   "shard snapshot period in events, 0 never");
  tools::AddNumber(app, "--snapshot-log-ratio", &engine.snapshot_log_ratio,
                   "...once the log since the last one is N times its size, 0 events alone");
  tools::AddNumber(app, "--snapshot-write-mb-per-s", &config->snapshot_write_mb_per_s,
                   "write snapshot files at most N MiB/s, so the log's fsyncs do not wait "
                   "behind them; 0 unpaced");
  tools::AddNumber(app, "--idempotency-window", &engine.request_results_max,
                   "request results each shard keeps for repeats, about 90 bytes each; 1.." +
                       std::to_string(CoreOptions::kRequestResultsMaxLimit));
  tools::AddNumber(app, "--queue-waiting-max", &limits.queue_waiting_max,
                   "WAITING users per schedule; past it ENTER_QUEUE answers QUEUE_FULL");
  tools::AddNumber(app, "--queue-entries-max", &limits.queue_entries_max,
                   "queue entries a schedule makes over its life, past it QUEUE_FULL (the "
                   "default is also the most)");
  tools::AddNumber(app, "--accounts-max", &limits.accounts_max,
                   "accounts per shard; past it a CHARGE opening one more answers "
                   "ACCOUNTS_FULL; 1.." +
                       std::to_string(CoreLimits::kAccountsMaxLimit));
  tools::AddNumber(app, "--ledger-entries-max", &limits.ledger_entries_max,
                   "ledger entries kept per account, the oldest forgotten past it; 1.." +
                       std::to_string(CoreLimits::kLedgerEntriesMaxLimit));
  app.add_option("--huge-pages", config->huge_pages_name,
                 "the heap on transparent huge pages where the kernel has them on madvise "
                 "(glibc.malloc.hugetlb=1): on or off")
      ->type_name("on|off")
      ->capture_default_str();
  app.add_option("--metrics-listen", config->metrics.listen, "Prometheus /metrics listener, or off")
      ->type_name("HOST:PORT")
      ->capture_default_str();
  app.set_config("--config", "", "`key = value` lines, the flags' names without dashes; flags win")
      ->type_name("FILE");
  app.config_formatter(std::make_shared<tools::KeyValueConfig>(&app));
}

// Checks the flags together and derives what follows from them; "" when
// they make a server, else what is wrong.
std::string BuildConfig(Config* config) {
  config->metrics_enabled = config->metrics.listen != "off";
  if (config->huge_pages_name != "on" && config->huge_pages_name != "off") {
    return "--huge-pages must be on or off, got \"" + config->huge_pages_name + "\"";
  }
  config->huge_pages = config->huge_pages_name == "on";
  if (config->durability_name == "none") {
    config->durability = Durability::kNone;
  } else if (config->durability_name == "async") {
    config->durability = Durability::kAsync;
  } else if (config->durability_name == "sync") {
    config->durability = Durability::kSync;
  } else {
    return "--durability must be none, async or sync, got \"" + config->durability_name + "\"";
  }
  if (config->engine.shards < 1 || config->engine.shards > kShardsMax) {
    return "--shards must be 1 .. " + std::to_string(kShardsMax);
  }
  if (config->engine.request_results_max < 1 ||
      config->engine.request_results_max > CoreOptions::kRequestResultsMaxLimit) {
    return "--idempotency-window must be 1 .. " +
           std::to_string(CoreOptions::kRequestResultsMaxLimit);
  }
  struct LimitFlag {
    const char* name;
    uint32_t value;
    uint32_t max;
  };
  const CoreLimits& limits = config->engine.limits;
  for (const LimitFlag& flag :
       {LimitFlag{"queue-waiting-max", limits.queue_waiting_max, kQueueEntriesMax},
        LimitFlag{"queue-entries-max", limits.queue_entries_max, kQueueEntriesMax},
        LimitFlag{"accounts-max", limits.accounts_max, CoreLimits::kAccountsMaxLimit},
        LimitFlag{"ledger-entries-max", limits.ledger_entries_max,
                  CoreLimits::kLedgerEntriesMaxLimit}}) {
    if (flag.value < 1 || flag.value > flag.max) {
      return std::string("--") + flag.name + " must be 1 .. " + std::to_string(flag.max);
    }
  }
  // One engine producer per I/O thread.
  config->engine.producers_max =
      std::min<uint32_t>(kProducersMax, std::max<uint32_t>(8, config->server.io_threads));
  for (const auto& [flag, key] : {std::pair{"--api-key", &config->server.api_key},
                                  std::pair{"--admin-key", &config->server.admin_key}}) {
    if (!key->empty() && key->size() < net::kKeyBytesMin) {
      return std::string(flag) + " must be at least " + std::to_string(net::kKeyBytesMin) +
             " bytes (a random key, e.g. `openssl rand -hex 16`), got " +
             std::to_string(key->size());
    }
  }
  if (!config->server.api_key.empty() && config->server.api_key == config->server.admin_key) {
    return "--api-key and --admin-key must differ: the same key would make every client an "
           "admin";
  }
  const absl::Status valid = net::ValidateServerOptions(config->server);
  if (!valid.ok()) return std::string(valid.message());
  if (config->metrics_enabled) {
    const absl::Status metrics_valid = net::ValidateMetricsOptions(config->metrics);
    if (!metrics_valid.ok()) return "--metrics-listen: " + std::string(metrics_valid.message());
  }
  return "";
}

// Blocks SIGINT and SIGTERM in this thread and every thread started after,
// so they are taken only by WaitForStopSignal().
void BlockStopSignals(sigset_t* signals) {
  sigemptyset(signals);
  sigaddset(signals, SIGINT);
  sigaddset(signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, signals, nullptr);
}

// How often the main thread looks at the journal while it waits for a signal.
constexpr int64_t kHealthCheckMs = 200;

// Waits for SIGINT or SIGTERM; every kHealthCheckMs runs `check`.
int WaitForStopSignal(const sigset_t& signals, const std::function<void()>& check) {
  const timespec period{0, kHealthCheckMs * 1'000'000};
  while (true) {
    const int signal_number = sigtimedwait(&signals, nullptr, &period);
    if (signal_number > 0) return signal_number;
    check();
  }
}

// Once the journal fails (a full disk, an I/O error), the engine answers
// every request UNAVAILABLE: nothing more is acknowledged, and what was
// acknowledged is on disk. The in-memory state may hold effects of the
// commands that failed, so the engine does not resume in place: a restart
// (once there is space again) recovers from the journal. Said once, on stderr.
void ReportJournalFailure(const std::string& data_dir, const Engine& engine,
                          const RocksDbJournal& journal, bool* reported) {
  if (*reported) return;
  absl::Status failure = journal.status();
  if (failure.ok()) failure = engine.status();
  if (failure.ok()) return;
  *reported = true;
  std::fprintf(stderr,
               "encored: JOURNAL FAILED in data dir %s: %s\n"
               "encored: every request is now answered UNAVAILABLE; everything acknowledged "
               "before is on disk. Free space (or fix the disk), then restart encored: it "
               "recovers from the journal.\n",
               data_dir.c_str(), failure.ToString().c_str());
  std::fflush(stderr);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "encored: %s\n", message.c_str());
  return 1;
}

int Run(const Config& config) {
  sigset_t signals;
  BlockStopSignals(&signals);
  // Past a file size limit (ulimit -f, systemd's LimitFSIZE) a write raises
  // SIGXFSZ, whose default action kills the process without a word. Ignored,
  // the write fails with EFBIG instead, and the journal's failure is handled
  // as any other: UNAVAILABLE, and a message naming it.
  signal(SIGXFSZ, SIG_IGN);

  RocksDbJournalOptions journal_options;
  journal_options.path = config.data_dir;
  journal_options.durability = config.durability;
  journal_options.snapshot_write_bytes_per_s = uint64_t{config.snapshot_write_mb_per_s} << 20;
  journal_options.shards_max = std::max<uint32_t>(journal_options.shards_max, config.engine.shards);
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(journal_options);
  if (!journal.ok()) return Fail("cannot open the journal: " + journal.status().ToString());

  EngineOptions engine_options = config.engine;
  engine_options.journal = journal->get();
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(engine_options);
  if (!engine.ok()) return Fail("cannot open the engine: " + engine.status().ToString());

  absl::StatusOr<std::unique_ptr<net::Server>> server =
      net::Server::Start(config.server, engine->get());
  if (!server.ok()) {
    (*engine)->Close();
    (void)(*journal)->Close();  // Already failing: the server error is the one to report.
    return Fail(server.status().ToString());
  }
  std::unique_ptr<net::MetricsExporter> metrics;
  if (config.metrics_enabled) {
    RocksDbJournal* const journal_ptr = journal->get();
    absl::StatusOr<std::unique_ptr<net::MetricsExporter>> started =
        net::MetricsExporter::Start(config.metrics, engine->get(), server->get(), [journal_ptr] {
          const RocksDbJournalStats stats = journal_ptr->stats();
          return net::JournalFigures{stats.groups_written, stats.batches_written,
                                     stats.events_written, stats.bytes_written,
                                     stats.write_ns_total};
        });
    if (!started.ok()) {
      (*server)->Stop();
      (*engine)->Close();
      (void)(*journal)->Close();  // Already failing: the metrics error is the one to report.
      return Fail(started.status().ToString());
    }
    metrics = std::move(*started);
  }
  const std::string client_host =
      config.server.client_listen.substr(0, config.server.client_listen.rfind(':'));
  const std::string admin_host =
      config.server.admin_listen.substr(0, config.server.admin_listen.rfind(':'));
  std::printf("encored listening on %s:%u (admin %s:%u), data dir %s, durability %s\n",
              client_host.c_str(), (*server)->client_port(), admin_host.c_str(),
              (*server)->admin_port(), config.data_dir.c_str(), config.durability_name.c_str());
  if (metrics != nullptr) {
    const std::string metrics_host =
        config.metrics.listen.substr(0, config.metrics.listen.rfind(':'));
    std::printf("encored metrics on http://%s:%u/metrics\n", metrics_host.c_str(), metrics->port());
  }
  if (!config.huge_pages) {
    std::printf("encored heap: --huge-pages off\n");
  } else if (tools::MallocHugePagesTunableSet()) {
    std::printf("encored heap: GLIBC_TUNABLES=%s\n", std::getenv("GLIBC_TUNABLES"));
  } else {
    std::printf("encored heap: 4 KiB pages (%s)\n", config.huge_pages_note.c_str());
  }
  std::fflush(stdout);

  bool failure_reported = false;
  const int signal_number = WaitForStopSignal(signals, [&] {
    ReportJournalFailure(config.data_dir, **engine, **journal, &failure_reported);
  });
  std::fprintf(stderr, "encored: %s, stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  // The exporter reads the server and the engine: it stops first.
  if (metrics != nullptr) metrics->Stop();
  (*server)->Stop();
  (*engine)->Close();
  const absl::Status engine_status = (*engine)->status();
  const absl::Status journal_status = (*journal)->Close();
  if (!engine_status.ok()) return Fail("the engine stopped with: " + engine_status.ToString());
  if (!journal_status.ok()) return Fail("closing the journal: " + journal_status.ToString());
  return 0;
}

int Main(int argc, char** argv) {
  Config config;
  CLI::App app(
      "encored: the Encore server. Serves the engine over TCP, journals to the data dir, and\n"
      "stops cleanly on SIGINT or SIGTERM.",
      "encored");
  tools::SetUpApp(app);
  // As before CLI11: a flag given twice takes its last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  AddFlags(app, &config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return tools::ExitParse(app, error, kExitRefused);
  }
  const std::string error = BuildConfig(&config);
  if (!error.empty()) {
    std::fprintf(stderr, "encored: %s\nRun 'encored --help' for usage.\n", error.c_str());
    return kExitRefused;
  }
  // Before anything large is allocated; returns only if it did not start again.
  if (config.huge_pages) config.huge_pages_note = tools::ReexecWithHugePages(argv);
  return Run(config);
}

}  // namespace
}  // namespace encore

int main(int argc, char** argv) { return encore::Main(argc, argv); }
