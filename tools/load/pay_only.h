// --mix pay-only: every timed request is one PAY of a hold placed during an
// untimed set-up, as every request of the Redis payment benchmark (EVALSHA of
// the payment script) is one payment of an already-held seat.
//
// Paying ends a user's turn (the engine marks the token DONE, and a DONE
// token can neither hold nor pay again), so each user pays once: a lane has
// one user per payment, each holding one one-seat hold. Untimed set-up, per
// lane: its schedules (PlanSeats of the lane's payments), no admission limit;
// every user charged the price of one seat, entered (ACTIVE at once), and
// holding seat order(i) (its own HOLD_SEATS). Timed: hold i is paid by the
// i-th request, pipelined; the run ends when every hold is paid, --count
// payments are made in all, or --duration-s is over. The end-of-run check:
// seats sold == seats paid, per schedule; balance == charge - payments, per
// user.
//
// Thread safety: the workload runs under its lane's mutex (Workload).
#ifndef ENCORE_TOOLS_LOAD_PAY_ONLY_H_
#define ENCORE_TOOLS_LOAD_PAY_ONLY_H_

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

// What one lane of a pay-only run pays: set up, then read by the workload.
struct PayOnlyLane : SingleOperationLane {
  uint64_t payments = 0;           // Users, holds and payments of the lane.
  Points charge = 0;               // Each user's charge: one seat's price.
  std::vector<QueueToken> tokens;  // By user.
  std::vector<HoldId> holds;       // By user.
  ScheduleId ScheduleOf(uint64_t index) const { return schedules[index / plan.seats_per_schedule]; }
};

// Charges, enters and holds for every user of every lane, the lanes at once,
// `window` requests in flight each; records the charges in the lanes'
// expectations. REQUIRES: the schedules exist; lanes[i] goes with setups[i].
absl::Status SetUpPayOnly(std::vector<std::unique_ptr<Lane>>& lanes,
                          std::vector<PayOnlyLane>& setups, uint32_t window, uint64_t seed);

class PayOnlyWorkload final : public Workload {
 public:
  PayOnlyWorkload(Lane* lane, const PayOnlyLane* setup, uint32_t slots);

  // A PAY whose user, schedule, token and hold change from request to request.
  const Command& Next(uint32_t slot, Op* op) override;

  void OnReply(uint32_t slot, Op, RequestKey key, const ReplyFields& r) override;

  // The payments into the lane's expectations (kept in vectors until now: a
  // map update per payment would cost more than the rest of its handling).
  void Finish() override;

 private:
  Lane& lane_;
  const PayOnlyLane& setup_;
  Command command_;                   // A PAY, patched for each request.
  uint64_t next_ = 0;                 // The next user to pay.
  std::vector<uint64_t> slot_user_;   // The user of each slot's payment in flight.
  std::vector<Points> paid_;          // By user: what their payment took.
  std::vector<uint64_t> seats_paid_;  // By schedule of the lane.
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_PAY_ONLY_H_
