// What every scenario's run shares (see run.h).
#include "run.h"

#include <time.h>
#include <unistd.h>

#include <utility>

#include "encore/commands.h"
#include "encore/net/protocol.h"
#include "encore/result_code.h"
#include "run_ids.h"
#include "server_check.h"

namespace encore::load {
namespace {

using net::DecodedResponse;

absl::StatusOr<std::vector<std::unique_ptr<Lane>>> ConnectClients(const LoadOptions& options) {
  std::vector<std::unique_ptr<Lane>> lanes;
  for (uint32_t i = 0; i < options.connections; ++i) {
    net::ClientOptions client_options;
    client_options.host = options.host;
    client_options.port = options.port;
    client_options.client_name = "encore-load";
    client_options.in_flight_max = options.depth;
    absl::StatusOr<std::unique_ptr<net::Client>> client = net::Client::Connect(client_options);
    if (!client.ok()) return client.status();
    lanes.push_back(std::make_unique<Lane>(std::move(*client)));
  }
  return lanes;
}

absl::Status Expect(absl::StatusOr<DecodedResponse> response, const std::string& what) {
  if (!response.ok()) return response.status();
  if (response->code != ResultCode::kOk) {
    return absl::FailedPreconditionError(
        what + " refused: " + std::string(ResultCodeName(response->code)) +
        (response->message.empty() ? "" : " " + response->message));
  }
  return absl::OkStatus();
}

}  // namespace

int64_t WallMs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

absl::Status CreateCatalog(const LoadOptions& options, ConcertId concert,
                           const std::vector<ScheduleId>& schedules, uint32_t seats,
                           uint32_t per_user, const AdmissionPolicy& policy,
                           int64_t active_ttl_ms) {
  absl::StatusOr<std::unique_ptr<net::Client>> admin = ConnectAdmin(options, "encore-load-admin");
  if (!admin.ok()) return admin.status();
  // Admin commands share one key space (user 0): keys of this run's own.
  RequestKey key = concert << 20 | 1;
  const std::string title = "encore-load " + std::to_string(concert);
  if (absl::Status s =
          Expect((*admin)->Call(MakeCreateConcert(concert, title, key++)), "create-concert");
      !s.ok()) {
    return s;
  }
  for (ScheduleId schedule : schedules) {
    ScheduleConfig config;
    config.concert = concert;
    config.schedule = schedule;
    config.sale_opens_at_ms = WallMs() - 60'000;  // Tolerates a little clock skew.
    config.sale_closes_at_ms = WallMs() + 6 * 3'600'000;
    config.performance_at_ms = config.sale_closes_at_ms;
    config.hold_ttl_ms = options.hold_ttl_ms;
    config.active_ttl_ms = active_ttl_ms;
    config.seat_count = seats;
    config.seats_per_user_max = per_user;
    config.policy = policy;
    config.tier_count = 1;
    config.tiers[0] = PriceTier{0, 0, options.price};
    if (absl::Status s = Expect((*admin)->Call(MakeCreateSchedule(config, key++)),
                                "create-schedule " + std::to_string(schedule));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void WaitIdle(std::vector<std::unique_ptr<Lane>>& lanes) {
  for (auto& lane : lanes) lane->WaitCallbacks(kRepliesWaitMax);
}

void FinishReport(std::vector<std::unique_ptr<Lane>>& lanes, Monitor& monitor,
                  Clock::time_point start, LoadReport* report) {
  monitor.Stop();
  report->elapsed_s = SecondsSince(start);
  report->timeline = monitor.timeline();
  for (auto& lane : lanes) {
    lane->MergeInto(&report->operations);
    std::lock_guard<std::mutex> lock(lane->mutex);
    for (auto& [schedule, seats] : lane->expected.seats_paid) {
      report->expected.seats_paid[schedule] += seats;
    }
    for (auto& [user, balance] : lane->expected.balances)
      report->expected.balances[user] += balance;
    for (auto& [user, flag] : lane->expected.uncertain) report->expected.uncertain[user] = flag;
    if (!report->server_lost && (!lane->client().connected() || lane->unavailable > 0)) {
      report->server_lost = true;
      report->server_lost_reason = !lane->client().connected()
                                       ? "the connection to the server was lost"
                                       : "the server answered UNAVAILABLE (" +
                                             std::to_string(lane->unavailable) +
                                             " times: " + lane->unavailable_message + ")";
    }
    if (lane->ack_log != nullptr && !lane->ack_log->ok()) report->ack_log_failed = true;
  }
}

absl::StatusOr<std::unique_ptr<AckLog>> StartAckLog(const LoadOptions& options, uint64_t run_id,
                                                    const std::vector<ScheduleId>& schedules) {
  if (options.ack_log_path.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<AckLog>> ack_log = AckLog::Open(options.ack_log_path);
  if (!ack_log.ok()) return ack_log.status();
  (*ack_log)->Run(run_id, /*concert=*/run_id, schedules);
  return ack_log;
}

absl::StatusOr<std::vector<std::unique_ptr<Lane>>> ConnectLanes(const LoadOptions& options,
                                                                AckLog* ack_log, uint64_t run_id) {
  absl::StatusOr<std::vector<std::unique_ptr<Lane>>> lanes = ConnectClients(options);
  if (!lanes.ok()) return lanes.status();
  for (auto& lane : *lanes) {
    lane->ack_log = ack_log;
    lane->run_id = run_id;
  }
  return lanes;
}

uint64_t RunIdOf(const LoadOptions& options) {
  const uint64_t seed = options.seed != 0 ? options.seed : static_cast<uint64_t>(WallMs());
  const uint64_t mixed =
      SplitMix(seed ^ static_cast<uint64_t>(WallMs()) ^ (static_cast<uint64_t>(::getpid()) << 40));
  return (mixed & 0x7fffffffull) | 1;  // 31 bits, non-zero.
}

}  // namespace encore::load
