// MetricsExporter: a tick thread that turns the engine's, the server's and
// the journal's counters into prometheus-cpp metrics (see metrics.h).
//
// prometheus-cpp throws (a listener that cannot bind, a bad name); every call
// into it that can is made on Start or on the tick thread, inside a catch that
// turns it into a Status or drops that tick, so no exception leaves here.
#include "encore/net/metrics.h"

#include <pthread.h>

#include <array>
#include <charconv>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "encore/core.h"
#include "encore/result_code.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace encore::net {

namespace internal {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// The `part` label of encore_memory_bytes, in the order MemoryBytes() reads
// them from CoreStats.
constexpr uint32_t kMemoryParts = 6;
constexpr std::array<const char*, kMemoryParts> kMemoryPartNames = {
    "seats", "holds", "accounts", "ledgers", "queues", "request_results"};

std::array<uint64_t, kMemoryParts> MemoryBytes(const CoreStats& stats) {
  return {stats.seat_state_bytes,   stats.hold_state_bytes,  stats.account_state_bytes,
          stats.ledger_state_bytes, stats.queue_state_bytes, stats.request_result_bytes};
}

// The `type` label of an engine command type; empty for a value that is none.
std::string_view CommandTypeLabel(uint32_t value) {
  const RequestType type = RequestTypeOf(static_cast<CommandType>(value));
  return type == RequestType::kOther ? std::string_view() : RequestTypeName(type);
}

// The result code of a ResultCodeSlot (engine.h).
constexpr ResultCode CodeOfSlot(uint32_t slot) {
  return static_cast<ResultCode>(slot / 16 * 100 + slot % 16);
}
#define ENCORE_X(enumerator, value, name, wire_name)                         \
  static_assert(ResultCodeSlot(ResultCode::enumerator) < kResultCodeSlots && \
                CodeOfSlot(ResultCodeSlot(ResultCode::enumerator)) == ResultCode::enumerator);
ENCORE_RESULT_CODES(ENCORE_X)
#undef ENCORE_X
#define ENCORE_X(enumerator, value, name) static_assert(value < kCommandTypeSlots);
ENCORE_COMMAND_TYPES(ENCORE_X)
#undef ENCORE_X

void AddDelta(Counter* counter, uint64_t now, uint64_t before) {
  if (now > before) counter->Increment(static_cast<double>(now - before));
}

double Seconds(uint64_t nanoseconds) { return static_cast<double>(nanoseconds) * 1e-9; }

template <typename Builder>
auto& Register(Builder builder, const char* name, const char* help,
               prometheus::Registry& registry) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

class MetricsState {
 public:
  MetricsState(const MetricsOptions& options, Engine* engine, Server* server,
               JournalFiguresSource journal)
      : options_(options), engine_(engine), server_(server), journal_(std::move(journal)) {}
  ~MetricsState() { Stop(); }

  // Binds and creates the families; throws what prometheus-cpp throws.
  void Build();
  void StartThread() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "encore-metrics");
      Run();
    });
  }
  void Stop();

  uint16_t port() const { return port_; }
  uint64_t ticks() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return ticks_;
  }
  uint64_t AwaitTickAfter(uint64_t tick, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    ticked_.wait_for(lock, timeout, [&] { return ticks_ > tick || stopping_; });
    return ticks_;
  }

 private:
  struct ShardMetrics {
    std::array<Counter*, kCommandTypeSlots> commands{};
    std::array<Counter*, kResultCodeSlots> results{};  // Made on first use.
    Counter* batches = nullptr;
    Counter* batch_commands = nullptr;
    Counter* events = nullptr;
    Counter* peer_messages = nullptr;
    Counter* snapshots = nullptr;
    Gauge* ring_backlog = nullptr;
    Gauge* last_lsn = nullptr;
    Gauge* durable_lsn = nullptr;
    Gauge* snapshot_stall_seconds = nullptr;
    Gauge* snapshot_bytes = nullptr;
    Gauge* recovered_events = nullptr;
    Gauge* recovery_seconds = nullptr;
    Gauge* holds_live = nullptr;
    Gauge* accounts = nullptr;
    Gauge* schedules = nullptr;
    // encore_memory_bytes, in kMemoryPartNames' order.
    std::array<Gauge*, kMemoryParts> memory{};
    ShardStats previous;
  };
  struct ScheduleMetrics {
    Gauge* available = nullptr;
    Gauge* held = nullptr;
    Gauge* sold = nullptr;
    Gauge* waiting = nullptr;
    Gauge* active = nullptr;
  };

  void Run();
  void Tick();
  void PublishShard(uint32_t shard);
  void PublishCore(uint32_t shard);
  void PublishServer();
  void PublishJournal();

  const MetricsOptions options_;
  Engine* const engine_;
  Server* const server_;
  const JournalFiguresSource journal_;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t port_ = 0;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  mutable std::condition_variable ticked_;
  bool stopping_ = false;  // Guarded by mutex_.
  uint64_t ticks_ = 0;     // Guarded by mutex_.

  // Everything below: the tick thread only (and Build, before it starts).
  Family<Counter>* commands_ = nullptr;
  Family<Counter>* results_ = nullptr;
  Family<Gauge>* seats_available_ = nullptr;
  Family<Gauge>* seats_held_ = nullptr;
  Family<Gauge>* seats_sold_ = nullptr;
  Family<Gauge>* queue_waiting_ = nullptr;
  Family<Gauge>* queue_active_ = nullptr;
  Family<Histogram>* request_duration_ = nullptr;
  std::vector<ShardMetrics> shards_;
  std::unordered_map<ScheduleId, ScheduleMetrics> schedules_;
  Gauge* schedules_unexported_ = nullptr;
  uint64_t unexported_ = 0;                   // Summed over the shards during a tick.
  std::vector<ScheduleInfo> schedule_infos_;  // Reused by every tick.
  std::vector<ScheduleId> schedule_ids_;

  // Server.
  Gauge* connections_open_ = nullptr;
  Counter* connections_accepted_ = nullptr;
  Counter* connections_refused_ = nullptr;
  Counter* connections_idle_closed_ = nullptr;
  Counter* connections_protocol_closed_ = nullptr;
  Counter* connections_hello_timeout_closed_ = nullptr;
  Counter* connections_frame_timeout_closed_ = nullptr;
  Counter* connections_auth_failed_closed_ = nullptr;
  Counter* connections_auth_locked_closed_ = nullptr;
  Counter* commands_deferred_ = nullptr;
  Counter* requests_ = nullptr;
  Server::Stats server_previous_;
  std::array<Histogram*, kRequestTypes> durations_{};  // Made on first use.
  RequestLatencies latencies_previous_{};
  Histogram::BucketBoundaries latency_bounds_;

  // Journal.
  Counter* journal_groups_ = nullptr;
  Counter* journal_batches_ = nullptr;
  Counter* journal_events_ = nullptr;
  Counter* journal_bytes_ = nullptr;
  Counter* journal_write_seconds_ = nullptr;
  Gauge* journal_commit_mean_seconds_ = nullptr;
  Gauge* acknowledging_ = nullptr;
  JournalFigures journal_previous_;
};

void MetricsState::Build() {
  registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Registry& registry = *registry_;
  commands_ = &Register(prometheus::BuildCounter(), "encore_commands_total",
                        "Engine commands applied, by shard and command type.", registry);
  results_ = &Register(prometheus::BuildCounter(), "encore_results_total",
                       "Engine command results, by shard and result code.", registry);
  auto& batches = Register(prometheus::BuildCounter(), "encore_batches_total",
                           "Batches a shard applied.", registry);
  auto& batch_commands = Register(prometheus::BuildCounter(), "encore_batch_commands_total",
                                  "Commands in those batches.", registry);
  auto& events = Register(prometheus::BuildCounter(), "encore_events_total",
                          "Events a shard produced (and journaled).", registry);
  auto& peer = Register(prometheus::BuildCounter(), "encore_peer_messages_total",
                        "Inter-shard payment messages a shard handled.", registry);
  auto& snapshots = Register(prometheus::BuildCounter(), "encore_snapshots_total",
                             "Snapshots a shard took.", registry);
  auto& backlog = Register(prometheus::BuildGauge(), "encore_ring_backlog",
                           "Requests waiting in a shard's rings at its last batch.", registry);
  auto& last_lsn = Register(prometheus::BuildGauge(), "encore_last_lsn",
                            "A shard's last log sequence number.", registry);
  auto& durable_lsn = Register(prometheus::BuildGauge(), "encore_durable_lsn",
                               "A shard's last durable log sequence number.", registry);
  auto& stall = Register(prometheus::BuildGauge(), "encore_snapshot_last_stall_seconds",
                         "How long the last snapshot stopped the shard.", registry);
  auto& snapshot_bytes = Register(prometheus::BuildGauge(), "encore_snapshot_last_bytes",
                                  "Size of the shard's last snapshot.", registry);
  auto& recovered = Register(prometheus::BuildGauge(), "encore_recovered_events",
                             "Events replayed at open, after the snapshot.", registry);
  auto& recovery = Register(prometheus::BuildGauge(), "encore_recovery_seconds",
                            "How long the shard's recovery at open took.", registry);
  auto& holds = Register(prometheus::BuildGauge(), "encore_holds_live",
                         "Holds not yet paid, released or expired.", registry);
  auto& accounts = Register(prometheus::BuildGauge(), "encore_accounts",
                            "User accounts on the shard.", registry);
  auto& schedules =
      Register(prometheus::BuildGauge(), "encore_schedules", "Schedules the shard owns.", registry);
  auto& memory = Register(prometheus::BuildGauge(), "encore_memory_bytes",
                          "Bytes the shard's state holds, by part (from container capacities; "
                          "allocator overhead not counted).",
                          registry);
  seats_available_ = &Register(prometheus::BuildGauge(), "encore_schedule_seats_available",
                               "Seats neither held nor sold.", registry);
  seats_held_ = &Register(prometheus::BuildGauge(), "encore_schedule_seats_held",
                          "Seats in live holds.", registry);
  seats_sold_ =
      &Register(prometheus::BuildGauge(), "encore_schedule_seats_sold", "Seats sold.", registry);
  queue_waiting_ = &Register(prometheus::BuildGauge(), "encore_schedule_queue_waiting",
                             "Users WAITING in the schedule's admission queue.", registry);
  queue_active_ = &Register(prometheus::BuildGauge(), "encore_schedule_queue_active",
                            "Users ACTIVE (admitted) in the schedule's queue.", registry);
  acknowledging_ =
      &Register(prometheus::BuildGauge(), "encore_engine_acknowledging",
                "1 while the engine acknowledges commands; 0 once its journal failed (every "
                "command is then answered UNAVAILABLE until a restart).",
                registry)
           .Add({});
  schedules_unexported_ =
      &Register(prometheus::BuildGauge(), "encore_schedules_unexported",
                "Schedules past kMetricsSchedulesMax, without their own gauges.", registry)
           .Add({});

  for (uint32_t shard = 0; shard < engine_->shard_count(); ++shard) {
    const prometheus::Labels labels{{"shard", std::to_string(shard)}};
    ShardMetrics metrics;
    for (uint32_t type = 0; type < kCommandTypeSlots; ++type) {
      const std::string_view name = CommandTypeLabel(type);
      if (name.empty()) continue;
      metrics.commands[type] =
          &commands_->Add({{"shard", std::to_string(shard)}, {"type", std::string(name)}});
    }
    metrics.batches = &batches.Add(labels);
    metrics.batch_commands = &batch_commands.Add(labels);
    metrics.events = &events.Add(labels);
    metrics.peer_messages = &peer.Add(labels);
    metrics.snapshots = &snapshots.Add(labels);
    metrics.ring_backlog = &backlog.Add(labels);
    metrics.last_lsn = &last_lsn.Add(labels);
    metrics.durable_lsn = &durable_lsn.Add(labels);
    metrics.snapshot_stall_seconds = &stall.Add(labels);
    metrics.snapshot_bytes = &snapshot_bytes.Add(labels);
    metrics.recovered_events = &recovered.Add(labels);
    metrics.recovery_seconds = &recovery.Add(labels);
    metrics.holds_live = &holds.Add(labels);
    metrics.accounts = &accounts.Add(labels);
    metrics.schedules = &schedules.Add(labels);
    for (uint32_t part = 0; part < kMemoryParts; ++part) {
      metrics.memory[part] =
          &memory.Add({{"shard", std::to_string(shard)}, {"part", kMemoryPartNames[part]}});
    }
    shards_.push_back(metrics);
  }

  if (server_ != nullptr) {
    connections_open_ = &Register(prometheus::BuildGauge(), "encore_server_connections_open",
                                  "Open client and admin connections.", registry)
                             .Add({});
    auto& connections = Register(prometheus::BuildCounter(), "encore_server_connections_total",
                                 "Connections by what became of them at the server.", registry);
    connections_accepted_ = &connections.Add({{"outcome", "accepted"}});
    connections_refused_ = &connections.Add({{"outcome", "refused"}});
    connections_idle_closed_ = &connections.Add({{"outcome", "idle_closed"}});
    connections_protocol_closed_ = &connections.Add({{"outcome", "protocol_closed"}});
    connections_hello_timeout_closed_ = &connections.Add({{"outcome", "hello_timeout_closed"}});
    connections_frame_timeout_closed_ = &connections.Add({{"outcome", "frame_timeout_closed"}});
    connections_auth_failed_closed_ = &connections.Add({{"outcome", "auth_failed_closed"}});
    connections_auth_locked_closed_ = &connections.Add({{"outcome", "auth_locked_closed"}});
    commands_deferred_ =
        &Register(prometheus::BuildCounter(), "encore_server_commands_deferred_total",
                  "Commands held until their shard's ring had room (instead of BUSY).", registry)
             .Add({});
    requests_ = &Register(prometheus::BuildCounter(), "encore_server_requests_total",
                          "Request frames the server took.", registry)
                     .Add({});
    request_duration_ =
        &Register(prometheus::BuildHistogram(), "encore_request_duration_seconds",
                  "Request read to reply queued for writing, by request type.", registry);
    for (uint32_t bucket = 0; bucket + 1 < kLatencyBuckets; ++bucket) {
      latency_bounds_.push_back(1e-6 * static_cast<double>(uint64_t{1} << bucket));
    }
  }

  if (journal_) {
    journal_groups_ = &Register(prometheus::BuildCounter(), "encore_journal_groups_total",
                                "Journal group commits (appends to the log).", registry)
                           .Add({});
    journal_batches_ = &Register(prometheus::BuildCounter(), "encore_journal_batches_total",
                                 "Shard batches written.", registry)
                            .Add({});
    journal_events_ = &Register(prometheus::BuildCounter(), "encore_journal_events_total",
                                "Events written.", registry)
                           .Add({});
    journal_bytes_ = &Register(prometheus::BuildCounter(), "encore_journal_bytes_total",
                               "Record bytes written (without keys and headers).", registry)
                          .Add({});
    journal_write_seconds_ =
        &Register(prometheus::BuildCounter(), "encore_journal_write_seconds_total",
                  "Time appending groups to the log, sync included.", registry)
             .Add({});
    journal_commit_mean_seconds_ =
        &Register(prometheus::BuildGauge(), "encore_journal_commit_mean_seconds",
                  "Mean group commit time over the last tick that wrote one.", registry)
             .Add({});
  }

  exposer_ = std::make_unique<prometheus::Exposer>(options_.listen, /*num_threads=*/2);
  exposer_->RegisterCollectable(registry_);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
}

void MetricsState::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  ticked_.notify_all();
  if (thread_.joinable()) thread_.join();
  exposer_.reset();
}

void MetricsState::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    Tick();
    lock.lock();
    ++ticks_;
    ticked_.notify_all();
    wake_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms), [this] { return stopping_; });
  }
}

void MetricsState::Tick() {
  try {
    acknowledging_->Set(engine_->status().ok() ? 1 : 0);
    unexported_ = 0;
    for (uint32_t shard = 0; shard < shards_.size(); ++shard) {
      PublishShard(shard);
      PublishCore(shard);
    }
    schedules_unexported_->Set(static_cast<double>(unexported_));
    if (server_ != nullptr) PublishServer();
    if (journal_) PublishJournal();
  } catch (const std::exception&) {
    // Only allocation can fail here; the next tick tries again, and the
    // counters catch up then since they publish differences.
  }
}

void MetricsState::PublishShard(uint32_t shard) {
  ShardMetrics& metrics = shards_[shard];
  const ShardStats now = engine_->shard_stats(shard);
  const ShardStats& before = metrics.previous;
  for (uint32_t type = 0; type < kCommandTypeSlots; ++type) {
    if (metrics.commands[type] != nullptr) {
      AddDelta(metrics.commands[type], now.commands[type], before.commands[type]);
    }
  }
  for (uint32_t slot = 0; slot < kResultCodeSlots; ++slot) {
    if (now.results[slot] == before.results[slot]) continue;
    if (metrics.results[slot] == nullptr) {
      metrics.results[slot] =
          &results_->Add({{"shard", std::to_string(shard)},
                          {"code", std::string(ResultCodeName(CodeOfSlot(slot)))}});
    }
    AddDelta(metrics.results[slot], now.results[slot], before.results[slot]);
  }
  AddDelta(metrics.batches, now.batches, before.batches);
  AddDelta(metrics.batch_commands, now.batch_commands, before.batch_commands);
  AddDelta(metrics.events, now.events, before.events);
  AddDelta(metrics.peer_messages, now.peer_messages, before.peer_messages);
  AddDelta(metrics.snapshots, now.snapshots, before.snapshots);
  metrics.ring_backlog->Set(static_cast<double>(now.ring_backlog));
  metrics.last_lsn->Set(static_cast<double>(now.last_lsn));
  metrics.durable_lsn->Set(static_cast<double>(now.durable_lsn));
  metrics.snapshot_stall_seconds->Set(static_cast<double>(now.last_snapshot_stall_us) * 1e-6);
  metrics.snapshot_bytes->Set(static_cast<double>(now.last_snapshot_bytes));
  metrics.recovered_events->Set(static_cast<double>(now.recovered_events));
  metrics.recovery_seconds->Set(static_cast<double>(now.recovery_us) * 1e-6);
  metrics.previous = now;
}

void MetricsState::PublishCore(uint32_t shard) {
  CoreStats stats;
  schedule_infos_.clear();
  // On the shard's thread: copy the figures out, publish after.
  engine_->Inspect(shard, [this, &stats](const Core& core) {
    stats = core.Stats();
    core.ScheduleIds(&schedule_ids_);
    for (const ScheduleId id : schedule_ids_) {
      ScheduleInfo info;
      if (core.GetSchedule(id, &info) == ResultCode::kOk) schedule_infos_.push_back(info);
    }
  });
  ShardMetrics& metrics = shards_[shard];
  metrics.holds_live->Set(static_cast<double>(stats.holds_live));
  metrics.accounts->Set(static_cast<double>(stats.accounts));
  metrics.schedules->Set(static_cast<double>(stats.schedules));
  const std::array<uint64_t, kMemoryParts> bytes = MemoryBytes(stats);
  for (uint32_t part = 0; part < kMemoryParts; ++part) {
    metrics.memory[part]->Set(static_cast<double>(bytes[part]));
  }
  uint64_t unexported = 0;  // Added to unexported_ once, at the end.
  for (const ScheduleInfo& info : schedule_infos_) {
    auto found = schedules_.find(info.config.schedule);
    if (found == schedules_.end()) {
      if (schedules_.size() >= kMetricsSchedulesMax) {
        ++unexported;
        continue;
      }
      const prometheus::Labels labels{{"schedule", std::to_string(info.config.schedule)}};
      found =
          schedules_
              .emplace(info.config.schedule,
                       ScheduleMetrics{&seats_available_->Add(labels), &seats_held_->Add(labels),
                                       &seats_sold_->Add(labels), &queue_waiting_->Add(labels),
                                       &queue_active_->Add(labels)})
              .first;
    }
    const ScheduleMetrics& gauges = found->second;
    gauges.available->Set(info.seats_available);
    gauges.held->Set(info.seats_held);
    gauges.sold->Set(info.seats_sold);
    gauges.waiting->Set(static_cast<double>(info.queue_waiting));
    gauges.active->Set(static_cast<double>(info.queue_active));
  }
  unexported_ += unexported;
}

void MetricsState::PublishServer() {
  const Server::Stats now = server_->stats();
  const Server::Stats& before = server_previous_;
  connections_open_->Set(static_cast<double>(now.connections_open));
  AddDelta(connections_accepted_, now.connections_accepted, before.connections_accepted);
  AddDelta(connections_refused_, now.connections_refused, before.connections_refused);
  AddDelta(connections_idle_closed_, now.connections_idle_closed, before.connections_idle_closed);
  AddDelta(connections_protocol_closed_, now.connections_protocol_closed,
           before.connections_protocol_closed);
  AddDelta(connections_hello_timeout_closed_, now.connections_hello_timeout_closed,
           before.connections_hello_timeout_closed);
  AddDelta(connections_frame_timeout_closed_, now.connections_frame_timeout_closed,
           before.connections_frame_timeout_closed);
  AddDelta(connections_auth_failed_closed_, now.connections_auth_failed_closed,
           before.connections_auth_failed_closed);
  AddDelta(connections_auth_locked_closed_, now.connections_auth_locked_closed,
           before.connections_auth_locked_closed);
  AddDelta(commands_deferred_, now.commands_deferred, before.commands_deferred);
  AddDelta(requests_, now.requests, before.requests);
  server_previous_ = now;

  const RequestLatencies latencies = server_->request_latencies();
  std::vector<double> increments(kLatencyBuckets);
  for (uint32_t type = 0; type < kRequestTypes; ++type) {
    const RequestLatency& current = latencies[type];
    const RequestLatency& previous = latencies_previous_[type];
    if (current.count == previous.count) continue;
    for (uint32_t bucket = 0; bucket < kLatencyBuckets; ++bucket) {
      increments[bucket] =
          static_cast<double>(current.bucket_counts[bucket] - previous.bucket_counts[bucket]);
    }
    if (durations_[type] == nullptr) {
      durations_[type] = &request_duration_->Add(
          {{"type", std::string(RequestTypeName(static_cast<RequestType>(type)))}},
          latency_bounds_);
    }
    durations_[type]->ObserveMultiple(increments, Seconds(current.sum_ns - previous.sum_ns));
  }
  latencies_previous_ = latencies;
}

void MetricsState::PublishJournal() {
  const JournalFigures now = journal_();
  const JournalFigures& before = journal_previous_;
  AddDelta(journal_groups_, now.groups_written, before.groups_written);
  AddDelta(journal_batches_, now.batches_written, before.batches_written);
  AddDelta(journal_events_, now.events_written, before.events_written);
  AddDelta(journal_bytes_, now.bytes_written, before.bytes_written);
  if (now.write_ns_total > before.write_ns_total) {
    journal_write_seconds_->Increment(Seconds(now.write_ns_total - before.write_ns_total));
  }
  if (now.groups_written > before.groups_written) {
    journal_commit_mean_seconds_->Set(
        Seconds(now.write_ns_total - before.write_ns_total) /
        static_cast<double>(now.groups_written - before.groups_written));
  }
  journal_previous_ = now;
}

}  // namespace internal

absl::Status ValidateMetricsOptions(const MetricsOptions& options) {
  const std::string& listen = options.listen;
  const size_t colon = listen.rfind(':');
  uint32_t port = 0;
  const char* last = listen.data() + listen.size();
  const bool port_ok =
      colon != std::string::npos && colon != 0 && colon + 1 < listen.size() && [&] {
        const auto [end, code] = std::from_chars(listen.data() + colon + 1, last, port);
        return code == std::errc() && end == last && port <= 65535;
      }();
  if (!port_ok) {
    return absl::InvalidArgumentError("MetricsOptions.listen: expected host:port, got \"" + listen +
                                      "\"");
  }
  if (options.tick_ms < kMetricsTickMsMin || options.tick_ms > kMetricsTickMsMax) {
    return absl::InvalidArgumentError(
        "MetricsOptions.tick_ms must be " + std::to_string(kMetricsTickMsMin) + " .. " +
        std::to_string(kMetricsTickMsMax) + ", got " + std::to_string(options.tick_ms));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    const MetricsOptions& options, Engine* engine, Server* server, JournalFiguresSource journal) {
  if (engine == nullptr)
    return absl::InvalidArgumentError("MetricsExporter::Start: engine is null");
  absl::Status status = ValidateMetricsOptions(options);
  if (!status.ok()) return status;
  auto state =
      std::make_unique<internal::MetricsState>(options, engine, server, std::move(journal));
  try {
    state->Build();
  } catch (const std::exception& error) {
    return absl::UnavailableError("cannot serve metrics on " + options.listen + ": " +
                                  error.what());
  }
  state->StartThread();
  return std::unique_ptr<MetricsExporter>(new MetricsExporter(std::move(state)));
}

MetricsExporter::MetricsExporter(std::unique_ptr<internal::MetricsState> state)
    : state_(std::move(state)) {}
MetricsExporter::~MetricsExporter() { Stop(); }
void MetricsExporter::Stop() { state_->Stop(); }
uint16_t MetricsExporter::port() const { return state_->port(); }
uint64_t MetricsExporter::ticks() const { return state_->ticks(); }
uint64_t MetricsExporter::AwaitTickAfter(uint64_t tick, std::chrono::milliseconds timeout) const {
  return state_->AwaitTickAfter(tick, timeout);
}

}  // namespace encore::net
