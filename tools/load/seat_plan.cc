// Seat plans and the seat order (see seat_plan.h).
#include "seat_plan.h"

#include <numeric>

namespace encore::load {

SeatPlan PlanSeats(uint64_t seats) {
  const uint64_t wanted = seats == 0 ? 1 : seats;
  SeatPlan plan;
  plan.schedules =
      static_cast<uint32_t>((wanted + kSeatsPerScheduleMax - 1) / kSeatsPerScheduleMax);
  plan.seats_per_schedule = static_cast<uint32_t>((wanted + plan.schedules - 1) / plan.schedules);
  return plan;
}

SeatPermutation::SeatPermutation(uint32_t n, uint64_t seed) : n_(n == 0 ? 1 : n) {
  offset_ = SplitMix(seed) % n_;
  stride_ = SplitMix(seed ^ 0x5eed) % n_ | 1;
  while (std::gcd(stride_, n_) != 1) ++stride_;
  step_ = stride_ % n_;
}

}  // namespace encore::load
