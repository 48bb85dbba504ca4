// The throughput scenario (see throughput.h).
//
// Each connection is a Lane driven by a TimedLane (timed_lane.h): replies
// are handled on the client's reader thread, a batch under one lock, and the
// next request of a slot is sent from there (closed loop), so the client
// coalesces a whole batch of them into one write.
#include "throughput.h"

#include <atomic>
#include <chrono>
#include <iomanip>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hold_only.h"
#include "lane.h"
#include "mix_workload.h"
#include "monitor.h"
#include "pay_only.h"
#include "run.h"
#include "run_ids.h"
#include "seat_plan.h"
#include "timed_lane.h"
#include "workload.h"

namespace encore::load {
namespace {

// The per-user seat limit of a throughput schedule (a user holds one seat at
// a time, and pays once: a paid token is DONE).
constexpr uint32_t kSeatsPerUserMax = 8;
static_assert(kSeatsPerUserMax <= kHoldSeatsMax);
// Users of one lane of a throughput run: UserIdOf(run, lane << 24 | index).
constexpr uint64_t kUsersPerLaneMax = uint64_t{1} << 24;

// Lane `index`'s share of --count (0: none given): the first
// count % connections lanes take one more.
uint64_t ShareOfLane(const LoadOptions& options, uint32_t index) {
  return options.count / options.connections + (index < options.count % options.connections);
}
// pay-only: the most payments of one lane.
uint64_t PayOnlyPaymentsPerLane(const LoadOptions& options) {
  return (options.count + options.connections - 1) / options.connections;
}

// The schedules of each lane: one of --seats seats for the mixes; as many as
// the seats (hold-only) or payments (pay-only) of the lane take.
SeatPlan ThroughputSeatPlan(const LoadOptions& options) {
  if (options.mix == "hold-only") return PlanSeats(options.seats);
  if (options.mix == "pay-only") return PlanSeats(PayOnlyPaymentsPerLane(options));
  return SeatPlan{1, options.seats};
}

// The untimed set-up of the single-operation mixes, and the timed lanes'
// workloads. `schedules`: lane-major, plan.schedules per lane.
class ThroughputWorkloads {
 public:
  ThroughputWorkloads(const LoadOptions& options, const SeatPlan& plan,
                      const std::vector<ScheduleId>& schedules)
      : options_(options), plan_(plan), schedules_(schedules) {}

  absl::Status SetUp(std::vector<std::unique_ptr<Lane>>& lanes, std::ostream& progress) {
    const uint32_t lanes_count = static_cast<uint32_t>(lanes.size());
    if (options_.mix == "hold-only") {
      hold_only_.resize(lanes_count);
      for (uint32_t i = 0; i < lanes_count; ++i) {
        HoldOnlyLane& lane = hold_only_[i];
        Place(i, &lane);
        lane.users = HoldOnlyUsers(plan_, kSeatsPerUserMax);
      }
      if (options_.progress) {
        progress << "set-up (untimed): per connection " << plan_.schedules << " schedule(s) of "
                 << plan_.seats_per_schedule << " seats, " << hold_only_[0].users
                 << " users entering each\n"
                 << std::flush;
      }
      return SetUpHoldOnly(lanes, hold_only_, options_.depth);
    }
    if (options_.mix == "pay-only") {
      pay_only_.resize(lanes_count);
      for (uint32_t i = 0; i < lanes_count; ++i) {
        PayOnlyLane& lane = pay_only_[i];
        Place(i, &lane);
        lane.payments = ShareOfLane(options_, i);
        lane.charge = options_.price;
      }
      if (options_.progress) {
        progress << "set-up (untimed): per connection " << pay_only_[0].payments
                 << " users charging, entering and holding a seat each, in " << plan_.schedules
                 << " schedule(s)\n"
                 << std::flush;
      }
      return SetUpPayOnly(lanes, pay_only_, options_.depth, options_.seed);
    }
    return absl::OkStatus();
  }

  // The workload of lane `index`. REQUIRES: SetUp returned OK.
  std::unique_ptr<Workload> Make(uint32_t index, Lane* lane) const {
    if (options_.mix == "hold-only") {
      return std::make_unique<HoldOnlyWorkload>(lane, &hold_only_[index], options_.depth,
                                                SplitMix(options_.seed ^ (index + 1) * 0x51ull));
    }
    if (options_.mix == "pay-only") {
      return std::make_unique<PayOnlyWorkload>(lane, &pay_only_[index], options_.depth);
    }
    return std::make_unique<MixWorkload>(options_, lane, schedules_[index],
                                         SplitMix(options_.seed ^ (index + 1) * 0x51ull),
                                         uint64_t{index} * kUsersPerLaneMax, options_.depth);
  }

 private:
  // Lane `index`'s seats, its schedules (its run of schedules_) and users.
  void Place(uint32_t index, SingleOperationLane* lane) const {
    const auto first = schedules_.begin() + static_cast<ptrdiff_t>(index) * plan_.schedules;
    lane->plan = plan_;
    lane->schedules.assign(first, first + plan_.schedules);
    lane->first_user = uint64_t{index} * kUsersPerLaneMax;
  }

  const LoadOptions& options_;
  const SeatPlan plan_;
  const std::vector<ScheduleId>& schedules_;
  std::vector<HoldOnlyLane> hold_only_;
  std::vector<PayOnlyLane> pay_only_;
};

}  // namespace

absl::StatusOr<LoadReport> RunThroughput(const LoadOptions& options, std::ostream& progress) {
  if (absl::Status valid = ValidateLoadOptions(options); !valid.ok()) return valid;
  LoadReport report;
  report.scenario = "throughput";
  report.mix = options.mix;
  report.run_id = RunIdOf(options);
  report.seed = options.seed;
  report.expected.concert = report.run_id;
  const SeatPlan plan = ThroughputSeatPlan(options);
  std::vector<ScheduleId> schedules;
  for (uint32_t i = 0; i < options.connections * plan.schedules; ++i) {
    schedules.push_back(ScheduleIdOf(report.run_id, i));
    report.expected.seats_paid[schedules.back()] = 0;
  }
  if (absl::Status s = CreateCatalog(options, report.run_id, schedules, plan.seats_per_schedule,
                                     kSeatsPerUserMax, AdmissionPolicy{}, kActiveTtlMaxMs);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<AckLog>> ack_log = StartAckLog(options, report.run_id, schedules);
  if (!ack_log.ok()) return ack_log.status();
  absl::StatusOr<std::vector<std::unique_ptr<Lane>>> lanes =
      ConnectLanes(options, ack_log->get(), report.run_id);
  if (!lanes.ok()) return lanes.status();
  // Set-up: untimed, and not in the figures (no lane records it).
  const Clock::time_point setup_start = Clock::now();
  ThroughputWorkloads workloads(options, plan, schedules);
  if (absl::Status s = workloads.SetUp(*lanes, progress); !s.ok()) return s;
  report.setup_s = IsSingleOperationMix(options.mix) ? SecondsSince(setup_start) : 0;
  if (options.progress && report.setup_s > 0) {
    progress << "set-up done in " << std::fixed << std::setprecision(2) << report.setup_s
             << " s; timed run starts\n"
             << std::defaultfloat << std::flush;
  }

  // --count: of all lanes together for the mixes; the single-operation mixes
  // split it, a share per lane (lane i: ShareOfLane), so that what a run does
  // does not hang on which lane was fastest (and pay-only has a hold set up
  // for each request of its lane's share).
  const bool shares = IsSingleOperationMix(options.mix);
  std::vector<std::atomic<uint64_t>> issued(shares ? options.connections : 1);
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop_at =
      options.duration_s > 0
          ? start + std::chrono::microseconds(static_cast<int64_t>(options.duration_s * 1e6))
          : Clock::time_point::max();
  std::vector<std::unique_ptr<Workload>> lane_workloads;
  std::vector<std::unique_ptr<TimedLane>> drivers;
  for (uint32_t i = 0; i < options.connections; ++i) {
    Lane* lane = (*lanes)[i].get();
    lane_workloads.push_back(workloads.Make(i, lane));
    const uint64_t count_max = shares ? ShareOfLane(options, i) : options.count;
    drivers.push_back(std::make_unique<TimedLane>(lane, lane_workloads.back().get(), options.depth,
                                                  &issued[shares ? i : 0], count_max, stop_at));
  }
  Monitor monitor(&*lanes, options.progress, progress);
  if (options.rate > 0) {
    std::vector<std::thread> pacers;
    pacers.reserve(drivers.size());
    for (auto& driver : drivers) {
      pacers.emplace_back(
          [&, d = driver.get()] { d->RunOpen(options.rate / options.connections); });
    }
    for (auto& pacer : pacers) pacer.join();
    for (auto& driver : drivers) report.open_loop_skipped += driver->late();
  } else {
    for (auto& driver : drivers) driver->StartClosed();
    // Until every request sent has been handled and no more will be (the
    // time or the count is up, or a pay-only lane paid every hold). The
    // completions, unlike in_flight(), never come out even while a reply
    // that will send the next request is being handled.
    while (Clock::now() < stop_at) {
      bool any = false;
      for (auto& lane : *lanes) any = any || !lane->completions().Idle();
      if (!any) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  WaitIdle(*lanes);
  for (uint32_t i = 0; i < options.connections; ++i) {
    std::lock_guard<std::mutex> lock((*lanes)[i]->mutex);
    lane_workloads[i]->Finish();
  }
  FinishReport(*lanes, monitor, start, &report);
  return report;
}

}  // namespace encore::load
