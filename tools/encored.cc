// encored: the Encore server.
//
//   encored [--data-dir DIR] [--durability none|async|sync] [--shards N]
//           [--io-threads N] [--listen HOST:PORT] [--admin-listen HOST:PORT]
//           [--api-key KEY] [--admin-key KEY] [--connections-max N]
//           [--idle-timeout-ms N] [--hello-timeout-ms N] [--frame-timeout-ms N]
//           [--hello-failures-max N] [--hello-lockout-ms N]
//           [--snapshot-every-events N]
//           [--snapshot-log-ratio N] [--snapshot-write-mb-per-s N]
//           [--idempotency-window N] [--queue-waiting-max N]
//           [--queue-entries-max N] [--accounts-max N] [--ledger-entries-max N]
//           [--huge-pages on|off]
//           [--metrics-listen HOST:PORT|off] [--config FILE]
//
// The config file holds `key = value` lines with the flags' names without
// dashes (`durability = async`); `#` starts a comment. Flags override it.
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
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "encore/engine.h"
#include "encore/net/metrics.h"
#include "encore/net/server.h"
#include "encore/rocksdb_journal.h"
#include "huge_pages.h"

namespace encore {
namespace {

constexpr const char* kUsage =
    "usage: encored [flags]\n"
    "  --data-dir DIR               data directory (default ./var)\n"
    "  --durability none|async|sync journal durability (default sync)\n"
    "  --shards N                   engine shards (default 1)\n"
    "  --io-threads N               network I/O threads (default 2)\n"
    "  --listen HOST:PORT           client listener (default 127.0.0.1:7400)\n"
    "  --admin-listen HOST:PORT     admin listener (default 127.0.0.1:7401)\n"
    "  --api-key KEY                key clients must send in Hello, at least 16 bytes\n"
    "                               (default none)\n"
    "  --admin-key KEY              key for admin requests on the client port, at least 16\n"
    "                               bytes and not the API key (default none)\n"
    "  --hello-failures-max N       failed Hellos from one address before it is refused\n"
    "                               (default 10)\n"
    "  --hello-lockout-ms N         ...for N ms after its last failure (default 60000)\n"
    "  --connections-max N          open connections (default 10000)\n"
    "  --idle-timeout-ms N          close silent connections after N ms, 0 never (default 60000)\n"
    "  --hello-timeout-ms N         close a connection without a Hello after N ms, 0 never\n"
    "                               (default 5000)\n"
    "  --frame-timeout-ms N         close a connection whose frame is not complete N ms after\n"
    "                               its first byte, 0 never (default 10000)\n"
    "  --snapshot-every-events N    shard snapshot period in events, 0 never (default 1048576)\n"
    "  --snapshot-log-ratio N       ...once the log since the last one is N times its size,\n"
    "                               0 events alone (default 1)\n"
    "  --snapshot-write-mb-per-s N  write snapshot files at most N MiB/s, so the log's fsyncs\n"
    "                               do not wait behind them; 0 unpaced (default 256)\n"
    "  --idempotency-window N       request results each shard keeps for repeats, about\n"
    "                               90 bytes each; 1..67108864 (default 262144)\n"
    "  --queue-waiting-max N        WAITING users per schedule; past it ENTER_QUEUE answers\n"
    "                               QUEUE_FULL (default 10000000)\n"
    "  --queue-entries-max N        queue entries a schedule makes over its life, past it\n"
    "                               QUEUE_FULL (default and most 100000000)\n"
    "  --accounts-max N             accounts per shard; past it a CHARGE opening one more\n"
    "                               answers ACCOUNTS_FULL; 1..1073741824 (default 10000000)\n"
    "  --ledger-entries-max N       ledger entries kept per account, the oldest forgotten\n"
    "                               past it; 1..1048576 (default 1000)\n"
    "  --huge-pages on|off          the heap on transparent huge pages where the kernel has\n"
    "                               them on madvise (glibc.malloc.hugetlb=1) (default on)\n"
    "  --metrics-listen HOST:PORT   Prometheus /metrics listener, or off (default 127.0.0.1:9464)\n"
    "  --config FILE                `key = value` lines, same names without dashes\n"
    "  --help                       this text\n";

// The settings by flag name (without dashes), as given.
using Settings = std::map<std::string, std::string>;

const char* const kKnownKeys[] = {"data-dir",
                                  "durability",
                                  "shards",
                                  "io-threads",
                                  "listen",
                                  "admin-listen",
                                  "api-key",
                                  "admin-key",
                                  "connections-max",
                                  "idle-timeout-ms",
                                  "hello-timeout-ms",
                                  "frame-timeout-ms",
                                  "hello-failures-max",
                                  "hello-lockout-ms",
                                  "snapshot-every-events",
                                  "snapshot-log-ratio",
                                  "snapshot-write-mb-per-s",
                                  "idempotency-window",
                                  "queue-waiting-max",
                                  "queue-entries-max",
                                  "accounts-max",
                                  "ledger-entries-max",
                                  "huge-pages",
                                  "metrics-listen",
                                  "config"};

bool Known(const std::string& key) {
  for (const char* known : kKnownKeys) {
    if (key == known) return true;
  }
  return false;
}

std::string Trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// Flags into `settings`; "" on success, else the error. Sets *help.
std::string ParseFlags(int argc, char** argv, Settings* settings, bool* help) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      *help = true;
      return "";
    }
    if (flag.rfind("--", 0) != 0) return "unexpected argument \"" + flag + "\"";
    std::string key = flag.substr(2);
    std::string value;
    const size_t equals = key.find('=');
    if (equals != std::string::npos) {
      value = key.substr(equals + 1);
      key = key.substr(0, equals);
    } else {
      if (i + 1 >= argc) return "flag --" + key + " needs a value";
      value = argv[++i];
    }
    if (!Known(key)) return "unknown flag --" + key;
    (*settings)[key] = value;
  }
  return "";
}

// The config file's settings, under those already given (flags win).
std::string ReadConfig(const std::string& path, Settings* settings) {
  std::ifstream file(path);
  if (!file) return "cannot read config file " + path;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = Trim(line);
    if (line.empty()) continue;
    const size_t equals = line.find('=');
    const std::string where = path + ":" + std::to_string(number);
    if (equals == std::string::npos) return where + ": expected `key = value`";
    const std::string key = Trim(line.substr(0, equals));
    if (!Known(key) || key == "config") return where + ": unknown key \"" + key + "\"";
    settings->emplace(key, Trim(line.substr(equals + 1)));
  }
  return "";
}

template <typename Number>
std::string ParseNumber(const Settings& settings, const std::string& key, Number* out) {
  const auto found = settings.find(key);
  if (found == settings.end()) return "";
  const std::string& text = found->second;
  const auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), *out);
  if (code != std::errc() || end != text.data() + text.size()) {
    return "--" + key + ": \"" + text + "\" is not a valid number";
  }
  return "";
}

struct Config {
  std::string data_dir = "./var";
  std::string durability_name = "sync";
  Durability durability = Durability::kSync;
  EngineOptions engine;
  uint32_t snapshot_write_mb_per_s = 256;
  net::ServerOptions server;
  bool metrics_enabled = true;
  net::MetricsOptions metrics;
  bool huge_pages = true;
  std::string huge_pages_note;  // Why the heap is not (made) on huge pages by us.
};

std::string BuildConfig(const Settings& settings, Config* config) {
  auto text = [&](const char* key, std::string* out) {
    const auto found = settings.find(key);
    if (found != settings.end()) *out = found->second;
  };
  text("data-dir", &config->data_dir);
  text("durability", &config->durability_name);
  text("listen", &config->server.client_listen);
  text("admin-listen", &config->server.admin_listen);
  text("api-key", &config->server.api_key);
  text("admin-key", &config->server.admin_key);
  text("metrics-listen", &config->metrics.listen);
  config->metrics_enabled = config->metrics.listen != "off";
  std::string huge_pages = "on";
  text("huge-pages", &huge_pages);
  if (huge_pages != "on" && huge_pages != "off") {
    return "--huge-pages must be on or off, got \"" + huge_pages + "\"";
  }
  config->huge_pages = huge_pages == "on";
  if (config->durability_name == "none") {
    config->durability = Durability::kNone;
  } else if (config->durability_name == "async") {
    config->durability = Durability::kAsync;
  } else if (config->durability_name == "sync") {
    config->durability = Durability::kSync;
  } else {
    return "--durability must be none, async or sync, got \"" + config->durability_name + "\"";
  }
  for (const std::string& error :
       {ParseNumber(settings, "shards", &config->engine.shards),
        ParseNumber(settings, "io-threads", &config->server.io_threads),
        ParseNumber(settings, "connections-max", &config->server.connections_max),
        ParseNumber(settings, "idle-timeout-ms", &config->server.idle_timeout_ms),
        ParseNumber(settings, "hello-timeout-ms", &config->server.hello_timeout_ms),
        ParseNumber(settings, "frame-timeout-ms", &config->server.frame_timeout_ms),
        ParseNumber(settings, "hello-failures-max", &config->server.hello_failures_max),
        ParseNumber(settings, "hello-lockout-ms", &config->server.hello_lockout_ms),
        ParseNumber(settings, "snapshot-every-events", &config->engine.snapshot_every_events),
        ParseNumber(settings, "snapshot-log-ratio", &config->engine.snapshot_log_ratio),
        ParseNumber(settings, "snapshot-write-mb-per-s", &config->snapshot_write_mb_per_s),
        ParseNumber(settings, "idempotency-window", &config->engine.request_results_max),
        ParseNumber(settings, "queue-waiting-max", &config->engine.limits.queue_waiting_max),
        ParseNumber(settings, "queue-entries-max", &config->engine.limits.queue_entries_max),
        ParseNumber(settings, "accounts-max", &config->engine.limits.accounts_max),
        ParseNumber(settings, "ledger-entries-max", &config->engine.limits.ledger_entries_max)}) {
    if (!error.empty()) return error;
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
  Settings settings;
  bool help = false;
  std::string error = ParseFlags(argc, argv, &settings, &help);
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (error.empty() && settings.count("config") != 0) {
    error = ReadConfig(settings.at("config"), &settings);
  }
  Config config;
  if (error.empty()) error = BuildConfig(settings, &config);
  if (!error.empty()) {
    std::fprintf(stderr, "encored: %s\n%s", error.c_str(), kUsage);
    return 1;
  }
  // Before anything large is allocated; returns only if it did not start again.
  if (config.huge_pages) config.huge_pages_note = tools::ReexecWithHugePages(argv);
  return Run(config);
}

}  // namespace
}  // namespace encore

int main(int argc, char** argv) { return encore::Main(argc, argv); }
