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
#include <span>
#include <string>
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

// The request keys of one pay-only user's requests.
inline constexpr RequestKey kPayOnlyChargeKey = 1;
inline constexpr RequestKey kPayOnlyEnterKey = 2;
inline constexpr RequestKey kPayOnlyHoldKey = 3;
inline constexpr RequestKey kPayOnlyPayKey = 4;

// What one lane of a pay-only run pays: set up, then read by the workload.
struct PayOnlyLane : SingleOperationLane {
  uint64_t payments = 0;           // Users, holds and payments of the lane.
  Points charge = 0;               // Each user's charge: one seat's price.
  std::vector<QueueToken> tokens;  // By user.
  std::vector<HoldId> holds;       // By user.
  ScheduleId ScheduleOf(uint64_t index) const { return schedules[index / plan.seats_per_schedule]; }
};

namespace internal {

inline absl::Status SetUpRefused(const char* what, const net::DecodedResponse& r) {
  return absl::FailedPreconditionError(std::string("set-up: ") + what + " answered " +
                                       std::string(ResultCodeName(r.code)) +
                                       (r.message.empty() ? "" : ": " + r.message));
}

// Runs one step of the set-up (make/take per user) on every lane at once.
template <typename MakeOf, typename TakeOf>
absl::Status SetUpStep(std::vector<std::unique_ptr<Lane>>& lanes, std::vector<PayOnlyLane>& setups,
                       uint32_t window, MakeOf make_of, TakeOf take_of) {
  std::vector<std::unique_ptr<SetupPipeline>> pipelines;
  for (size_t i = 0; i < lanes.size(); ++i) {
    pipelines.push_back(std::make_unique<SetupPipeline>(
        &lanes[i]->client(), setups[i].payments,
        SetupPipeline::WindowFor(lanes[i]->client(), window), make_of(*lanes[i], setups[i]),
        take_of(*lanes[i], setups[i])));
  }
  for (auto& pipeline : pipelines) pipeline->Start();
  absl::Status status;
  for (auto& pipeline : pipelines) status.Update(pipeline->Wait());
  return status;
}

}  // namespace internal

// Charges, enters and holds for every user of every lane, the lanes at once,
// `window` requests in flight each; records the charges in the lanes'
// expectations. REQUIRES: the schedules exist; lanes[i] goes with setups[i].
inline absl::Status SetUpPayOnly(std::vector<std::unique_ptr<Lane>>& lanes,
                                 std::vector<PayOnlyLane>& setups, uint32_t window, uint64_t seed) {
  using internal::SetUpRefused;
  using internal::SetUpStep;
  using Reply = const net::DecodedResponse&;
  for (PayOnlyLane& setup : setups) {
    setup.tokens.assign(setup.payments, QueueToken{});
    setup.holds.assign(setup.payments, 0);
  }
  absl::Status status = SetUpStep(
      lanes, setups, window,
      [](Lane& lane, PayOnlyLane& setup) {
        return [&lane, &setup](uint64_t i) {
          return MakeCharge(setup.UserAt(i, lane.run_id), setup.charge, kPayOnlyChargeKey);
        };
      },
      [](Lane& lane, PayOnlyLane& setup) {
        return [&lane, &setup](uint64_t i, Reply r) {
          if (r.code != ResultCode::kOk) return SetUpRefused("CHARGE", r);
          if (lane.ack_log != nullptr) {
            lane.ack_log->Charge(lane.run_id, setup.UserAt(i, lane.run_id), kPayOnlyChargeKey,
                                 setup.charge);
          }
          return absl::OkStatus();
        };
      });
  if (!status.ok()) return status;
  for (size_t i = 0; i < lanes.size(); ++i) {
    std::lock_guard<std::mutex> lock(lanes[i]->mutex);
    for (uint64_t user = 0; user < setups[i].payments; ++user) {
      lanes[i]->expected.balances[setups[i].UserAt(user, lanes[i]->run_id)] = setups[i].charge;
    }
    for (ScheduleId schedule : setups[i].schedules) lanes[i]->expected.seats_paid[schedule] = 0;
  }
  status = SetUpStep(
      lanes, setups, window,
      [](Lane& lane, PayOnlyLane& setup) {
        return [&lane, &setup](uint64_t i) {
          return MakeEnterQueue(setup.ScheduleOf(i), setup.UserAt(i, lane.run_id),
                                kPayOnlyEnterKey);
        };
      },
      [](Lane&, PayOnlyLane& setup) {
        return [&setup](uint64_t i, Reply r) {
          if (r.code != ResultCode::kOk || r.reply.queue_state != QueueState::kActive) {
            return SetUpRefused("ENTER_QUEUE (or not ACTIVE)", r);
          }
          setup.tokens[i] = r.reply.token;
          return absl::OkStatus();
        };
      });
  if (!status.ok()) return status;
  return SetUpStep(
      lanes, setups, window,
      [seed](Lane& lane, PayOnlyLane& setup) {
        return [&lane, &setup,
                order = SeatPermutation(setup.plan.seats_per_schedule, seed)](uint64_t i) {
          const SeatIndex seat = order(i % setup.plan.seats_per_schedule);
          return MakeHoldSeats(setup.ScheduleOf(i), setup.UserAt(i, lane.run_id), setup.tokens[i],
                               std::span<const SeatIndex>(&seat, 1), kPayOnlyHoldKey);
        };
      },
      [seed](Lane& lane, PayOnlyLane& setup) {
        return [&lane, &setup, order = SeatPermutation(setup.plan.seats_per_schedule, seed)](
                   uint64_t i, Reply r) {
          if (r.code != ResultCode::kOk) return SetUpRefused("HOLD_SEATS", r);
          setup.holds[i] = r.reply.hold;
          if (lane.ack_log != nullptr) {
            const SeatIndex seat = order(i % setup.plan.seats_per_schedule);
            lane.ack_log->Hold(lane.run_id, setup.ScheduleOf(i), setup.UserAt(i, lane.run_id),
                               kPayOnlyHoldKey, r.reply.hold, std::span<const SeatIndex>(&seat, 1));
          }
          return absl::OkStatus();
        };
      });
}

class PayOnlyWorkload final : public Workload {
 public:
  PayOnlyWorkload(Lane* lane, const PayOnlyLane* setup, uint32_t slots)
      : lane_(*lane),
        setup_(*setup),
        slot_user_(slots),
        paid_(setup->payments, 0),
        seats_paid_(setup->plan.schedules, 0) {}

  // A PAY whose user, schedule, token and hold change from request to request.
  const Command& Next(uint32_t slot, Op* op) override {
    if (next_ >= setup_.payments) {
      *op = Op::kCount;
      return command_;
    }
    const uint64_t i = next_++;
    slot_user_[slot] = i;
    *op = Op::kPay;
    command_.schedule = setup_.ScheduleOf(i);
    command_.user = setup_.UserAt(i, lane_.run_id);
    command_.token = setup_.tokens[i];
    command_.hold = setup_.holds[i];
    return command_;
  }

  void OnReply(uint32_t slot, Op, RequestKey key, const ReplyFields& r) override {
    const uint64_t i = slot_user_[slot];
    if (r.code == ResultCode::kOk) {
      paid_[i] += r.amount;
      ++seats_paid_[i / setup_.plan.seats_per_schedule];
    } else if (Classify(r.code) == Outcome::kError) {
      MarkUncertain(lane_, setup_.UserAt(i, lane_.run_id));
    }
    // LogPay also marks a payment in doubt (in progress, already paid) uncertain.
    if (r.code != ResultCode::kOk || lane_.ack_log != nullptr) {
      LogPay(lane_, setup_.ScheduleOf(i), setup_.UserAt(i, lane_.run_id), key, setup_.holds[i],
             r.code, r.amount);
    }
  }

  // The payments into the lane's expectations (kept in vectors until now: a
  // map update per payment would cost more than the rest of its handling).
  void Finish() override {
    for (uint64_t i = 0; i < paid_.size(); ++i) {
      if (paid_[i] != 0) lane_.expected.balances[setup_.UserAt(i, lane_.run_id)] -= paid_[i];
    }
    for (uint32_t s = 0; s < seats_paid_.size(); ++s) {
      lane_.expected.seats_paid[setup_.schedules[s]] += seats_paid_[s];
    }
  }

 private:
  Lane& lane_;
  const PayOnlyLane& setup_;
  Command command_ = MakePay(0, 0, QueueToken{}, 0, kPayOnlyPayKey);
  uint64_t next_ = 0;                 // The next user to pay.
  std::vector<uint64_t> slot_user_;   // The user of each slot's payment in flight.
  std::vector<Points> paid_;          // By user: what their payment took.
  std::vector<uint64_t> seats_paid_;  // By schedule of the lane.
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_PAY_ONLY_H_
