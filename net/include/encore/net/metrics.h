// MetricsExporter: the engine's, the server's and the journal's figures as
// Prometheus metrics, served over HTTP (prometheus-cpp's Exposer) at
// http://<listen>/metrics. docs/operations.md lists every metric.
//
// One control-plane thread wakes every tick_ms, reads the counters the hot
// paths already keep (Engine::shard_stats, Server::stats and
// request_latencies, the journal figures callback), reads each shard's core
// through Engine::Inspect for the per-schedule gauges, and publishes: counters
// grow by the difference since the last tick, gauges are set. Every
// prometheus object is created by the exporter (families at Start, labelled
// children the first time they are needed) and cached, and only the tick
// thread changes them, so nothing on a request path takes a lock or looks a
// metric up. Between ticks the thread sleeps on a condition variable.
//
// Thread safety: Start, Stop and the destructor from one thread; port(),
// ticks() and AwaitTickAfter() from any thread.
#ifndef ENCORE_NET_METRICS_H_
#define ENCORE_NET_METRICS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/engine.h"
#include "encore/net/server.h"

namespace encore::net {

namespace internal {
class MetricsState;
}

inline constexpr uint32_t kMetricsTickMsMin = 10;
inline constexpr uint32_t kMetricsTickMsMax = 60'000;
// Schedules given their own gauges; past it a schedule is left out (its
// shard's totals still count it) and encore_schedules_unexported says how many.
inline constexpr uint32_t kMetricsSchedulesMax = 10'000;

struct MetricsOptions {
  // "host:port" ("[v6]:port" for IPv6) of the HTTP listener; port 0 picks a
  // free port (see port()). Default "127.0.0.1:9464".
  std::string listen = "127.0.0.1:9464";
  // How often the figures are read and published. Default 1000;
  // kMetricsTickMsMin .. kMetricsTickMsMax.
  uint32_t tick_ms = 1000;
};

// The journal's counters since it opened (RocksDbJournalStats, passed as
// plain numbers so that encore_net does not depend on the persistence layer).
struct JournalFigures {
  uint64_t groups_written = 0;
  uint64_t batches_written = 0;
  uint64_t events_written = 0;
  uint64_t bytes_written = 0;
  uint64_t write_ns_total = 0;
};
// Called on the tick thread; must be thread-safe and cheap.
using JournalFiguresSource = std::function<JournalFigures()>;

class MetricsExporter {
 public:
  // Validates the options, binds the HTTP listener (Unavailable naming the
  // address when it cannot) and starts the tick thread, whose first tick runs
  // at once. `server` and `journal` may be null/empty: their metrics are then
  // left out. REQUIRES: engine (and server) outlive the exporter, and the
  // engine is not closed before Stop().
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(
      const MetricsOptions& options, Engine* engine, Server* server,
      JournalFiguresSource journal = nullptr);

  // Stop()s if still running.
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  // Joins the tick thread and closes the HTTP listener. Idempotent.
  void Stop();

  // The bound HTTP port (the real one when the options asked for port 0).
  uint16_t port() const;

  // Ticks published so far.
  uint64_t ticks() const;
  // Waits until more than `tick` ticks are published, or `timeout`; returns
  // ticks(). For tests and tools that need a fresh reading.
  uint64_t AwaitTickAfter(uint64_t tick, std::chrono::milliseconds timeout) const;

 private:
  explicit MetricsExporter(std::unique_ptr<internal::MetricsState> state);
  std::unique_ptr<internal::MetricsState> state_;
};

// Checks every field; InvalidArgument naming the first bad one.
[[nodiscard]] absl::Status ValidateMetricsOptions(const MetricsOptions& options);

}  // namespace encore::net

#endif  // ENCORE_NET_METRICS_H_
