// --mix hold-only: every timed request is one HOLD_SEATS of one seat, as
// every request of `redis-benchmark SET seat:__rand_int__ u NX PX 300000` is
// one hold attempt.
//
// Untimed set-up, per lane: its schedules (PlanSeats of --seats), on sale,
// no admission limit, kSeatsPerUserMax seats per user; users enough that
// seats / users <= that limit, each entered (ENTER_QUEUE, so ACTIVE at once)
// into every schedule of the lane. Timed: request k holds seat order(k mod n)
// of schedule (k / n) mod S for user (k mod n) mod users, so no user passes
// the limit; once every seat of the lane is held, further holds are refused
// SEAT_UNAVAILABLE, counted as refusals, as a failing SET NX would be. No
// seat is sold and no balance changes: the end-of-run check says so.
//
// Thread safety: the workload runs under its lane's mutex (Workload).
#ifndef ENCORE_TOOLS_LOAD_HOLD_ONLY_H_
#define ENCORE_TOOLS_LOAD_HOLD_ONLY_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "encore/commands.h"
#include "encore/result_code.h"
#include "lane.h"
#include "run_ids.h"
#include "seat_plan.h"
#include "setup_pipeline.h"
#include "timed_lane.h"

namespace encore::load {

// Users whose balance (0: nobody charges them) the end-of-run check reads,
// per lane: spread over the lane's users.
inline constexpr uint32_t kHoldOnlyBalancesCheckedPerLane = 1024;
// Request keys of the timed holds start here, above the set-up's.
inline constexpr RequestKey kTimedKeyBase = RequestKey{1} << 32;

// What one lane of a hold-only run holds: set up, then read by the workload.
struct HoldOnlyLane : SingleOperationLane {
  uint32_t users = 0;              // Per schedule; the same users in each.
  std::vector<QueueToken> tokens;  // [schedule * users + user].
};

// Users a lane needs so that none holds more than `per_user` seats.
inline uint32_t HoldOnlyUsers(const SeatPlan& plan, uint32_t per_user) {
  return (plan.seats_per_schedule + per_user - 1) / per_user;
}

// Enters every user of every lane into each of its lane's schedules, the
// lanes at once, `window` requests in flight each. REQUIRES: the schedules
// exist; lanes[i] goes with setups[i].
inline absl::Status SetUpHoldOnly(std::vector<std::unique_ptr<Lane>>& lanes,
                                  std::vector<HoldOnlyLane>& setups, uint32_t window) {
  std::vector<std::unique_ptr<SetupPipeline>> pipelines;
  for (size_t i = 0; i < lanes.size(); ++i) {
    HoldOnlyLane& setup = setups[i];
    const uint64_t run_id = lanes[i]->run_id;
    const uint64_t entries = uint64_t{setup.users} * setup.plan.schedules;
    setup.tokens.assign(entries, QueueToken{});
    pipelines.push_back(std::make_unique<SetupPipeline>(
        &lanes[i]->client(), entries, SetupPipeline::WindowFor(lanes[i]->client(), window),
        [&setup, run_id](uint64_t index) {
          const uint64_t schedule = index / setup.users;
          const uint32_t user = static_cast<uint32_t>(index % setup.users);
          return MakeEnterQueue(setup.schedules[schedule], setup.UserAt(user, run_id),
                                /*key=*/schedule + 1);
        },
        [&setup](uint64_t index, const net::DecodedResponse& r) {
          if (r.code != ResultCode::kOk || r.reply.queue_state != QueueState::kActive) {
            return absl::FailedPreconditionError(
                "set-up: ENTER_QUEUE answered " + std::string(ResultCodeName(r.code)) +
                (r.code == ResultCode::kOk ? " (not ACTIVE)" : "") +
                (r.message.empty() ? "" : ": " + r.message));
          }
          setup.tokens[index] = r.reply.token;
          return absl::OkStatus();
        }));
  }
  for (auto& pipeline : pipelines) pipeline->Start();
  absl::Status status;
  for (auto& pipeline : pipelines) status.Update(pipeline->Wait());
  if (!status.ok()) return status;
  // Nobody is charged and nothing is paid: a sample of the users must have
  // balance 0 at the end.
  for (size_t i = 0; i < lanes.size(); ++i) {
    const HoldOnlyLane& setup = setups[i];
    std::lock_guard<std::mutex> lock(lanes[i]->mutex);
    for (ScheduleId schedule : setup.schedules) lanes[i]->expected.seats_paid[schedule] = 0;
    const uint32_t sampled = std::min(setup.users, kHoldOnlyBalancesCheckedPerLane);
    for (uint32_t k = 0; k < sampled; ++k) {
      const uint32_t user = static_cast<uint32_t>(uint64_t{setup.users} * k / sampled);
      lanes[i]->expected.balances[setup.UserAt(user, lanes[i]->run_id)] = 0;
    }
  }
  return absl::OkStatus();
}

// Request k's schedule, seat and user (see the top of this file), walked in
// order with no division: the workload's per-request cost is the tool's CPU
// taken from a server on the same machine.
class HoldOnlyCursor {
 public:
  struct Target {
    uint32_t schedule = 0;  // Index in the lane's schedules.
    uint32_t user = 0;      // Index in the lane's users.
    SeatIndex seat = 0;
  };

  HoldOnlyCursor(const SeatPlan& plan, uint32_t users, uint64_t seed)
      : plan_(plan), users_(users), order_(plan.seats_per_schedule, seed) {
    at_.seat = order_(0);
  }

  // Request k's target, by the formula (for tests).
  Target TargetOf(uint64_t k) const {
    const uint64_t in_schedule = k % plan_.seats_per_schedule;
    return Target{static_cast<uint32_t>(k / plan_.seats_per_schedule % plan_.schedules),
                  static_cast<uint32_t>(in_schedule % users_), order_(in_schedule)};
  }

  // The next request's target; the first call gives request 0's.
  Target Next() {
    const Target target = at_;
    if (++in_schedule_ == plan_.seats_per_schedule) {
      in_schedule_ = 0;
      at_.user = 0;
      at_.seat = order_(0);
      if (++at_.schedule == plan_.schedules) at_.schedule = 0;
    } else {
      if (++at_.user == users_) at_.user = 0;
      at_.seat = order_.After(at_.seat);
    }
    return target;
  }

 private:
  const SeatPlan plan_;
  const uint32_t users_;
  const SeatPermutation order_;
  Target at_;                 // The next request's.
  uint32_t in_schedule_ = 0;  // Its place in its schedule's walk.
};

class HoldOnlyWorkload final : public Workload {
 public:
  HoldOnlyWorkload(Lane* lane, const HoldOnlyLane* setup, uint32_t slots, uint64_t seed)
      : lane_(*lane),
        setup_(*setup),
        cursor_(setup->plan, setup->users, seed),
        slot_target_(slots) {
    const SeatIndex seat = 0;
    command_ = MakeHoldSeats(0, 0, QueueToken{}, std::span<const SeatIndex>(&seat, 1), 0);
  }

  // A one-seat HOLD_SEATS whose target and key change from request to request.
  const Command& Next(uint32_t slot, Op* op) override {
    const HoldOnlyCursor::Target target = cursor_.Next();
    slot_target_[slot] = target;
    *op = Op::kHold;
    command_.schedule = setup_.schedules[target.schedule];
    command_.user = setup_.UserAt(target.user, lane_.run_id);
    command_.token = setup_.tokens[uint64_t{target.schedule} * setup_.users + target.user];
    command_.seats[0] = target.seat;
    command_.request_key = kTimedKeyBase + next_++;
    return command_;
  }

  void OnReply(uint32_t slot, Op, RequestKey key, const ReplyFields& r) override {
    const HoldOnlyCursor::Target& target = slot_target_[slot];
    const UserId user = setup_.UserAt(target.user, lane_.run_id);
    if (Classify(r.code) == Outcome::kError) MarkUncertain(lane_, user);
    if (r.code == ResultCode::kOk && lane_.ack_log != nullptr) {
      lane_.ack_log->Hold(lane_.run_id, setup_.schedules[target.schedule], user, key, r.hold,
                          std::span<const SeatIndex>(&target.seat, 1));
    }
  }

 private:
  Lane& lane_;
  const HoldOnlyLane& setup_;
  HoldOnlyCursor cursor_;
  Command command_;
  uint64_t next_ = 0;                                // The next request's k.
  std::vector<HoldOnlyCursor::Target> slot_target_;  // Of each slot's request in flight.
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_HOLD_ONLY_H_
