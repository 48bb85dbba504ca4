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
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "encore/command.h"
#include "encore/types.h"
#include "lane.h"
#include "seat_plan.h"
#include "workload.h"

namespace encore::load {

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
absl::Status SetUpHoldOnly(std::vector<std::unique_ptr<Lane>>& lanes,
                           std::vector<HoldOnlyLane>& setups, uint32_t window);

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

  HoldOnlyCursor(const SeatPlan& plan, uint32_t users, uint64_t seed);

  // Request k's target, by the formula (for tests).
  Target TargetOf(uint64_t k) const;

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
  HoldOnlyWorkload(Lane* lane, const HoldOnlyLane* setup, uint32_t slots, uint64_t seed);

  // A one-seat HOLD_SEATS whose target and key change from request to request.
  const Command& Next(uint32_t slot, Op* op) override;

  void OnReply(uint32_t slot, Op, RequestKey key, const ReplyFields& r) override;

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
