// SeatPlan and SeatPermutation: how the single-operation mixes (hold-only,
// pay-only) lay out a lane's seats.
//
// A lane may need more seats than one schedule has (kSeatsPerScheduleMax):
// it gets as many schedules as that takes, of equal size. Seats are taken in
// a seeded pseudo-random order, as a Redis benchmark's random keys would be,
// not front to back.
#ifndef ENCORE_TOOLS_LOAD_SEAT_PLAN_H_
#define ENCORE_TOOLS_LOAD_SEAT_PLAN_H_

#include <cstdint>
#include <vector>

#include "encore/types.h"
#include "run_ids.h"

namespace encore::load {

struct SeatPlan {
  uint32_t schedules = 1;           // Per lane.
  uint32_t seats_per_schedule = 1;  // 1 .. kSeatsPerScheduleMax.
  uint64_t seats() const { return uint64_t{schedules} * seats_per_schedule; }
};

// At least `seats` seats (>= 1), in as few schedules as can hold them.
SeatPlan PlanSeats(uint64_t seats);

// What a lane of either single-operation mix is given before its set-up: its
// seats, its schedules and where its users start.
struct SingleOperationLane {
  SeatPlan plan;
  std::vector<ScheduleId> schedules;  // plan.schedules of them.
  uint64_t first_user = 0;            // UserIdOf index of the lane's first user.
  UserId UserAt(uint64_t index, uint64_t run_id) const {
    return UserIdOf(run_id, first_user + index);
  }
};

// i -> (offset + i * stride) mod n: a permutation of 0 .. n-1, since the
// stride is coprime to n; both drawn from the seed.
class SeatPermutation {
 public:
  SeatPermutation(uint32_t n, uint64_t seed);
  // The i-th seat; i may be any number (taken mod n).
  SeatIndex operator()(uint64_t i) const {
    return static_cast<SeatIndex>((offset_ + (i % n_) * stride_) % n_);
  }
  // The (i + 1)-th seat from the i-th, with no division.
  SeatIndex After(SeatIndex seat) const {
    const uint64_t next = seat + step_;
    return static_cast<SeatIndex>(next >= n_ ? next - n_ : next);
  }

 private:
  uint64_t n_;
  uint64_t offset_ = 0;
  uint64_t stride_ = 1;
  uint64_t step_ = stride_ % n_;  // stride_ may reach n_ + 1 (the gcd loop).
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_SEAT_PLAN_H_
