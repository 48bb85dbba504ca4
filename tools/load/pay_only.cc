// --mix pay-only: its set-up and workload (see pay_only.h).
#include "pay_only.h"

#include <mutex>
#include <span>
#include <string>

#include "encore/commands.h"
#include "encore/result_code.h"
#include "setup_pipeline.h"

namespace encore::load {
namespace {

// The request keys of one pay-only user's requests.
constexpr RequestKey kPayOnlyChargeKey = 1;
constexpr RequestKey kPayOnlyEnterKey = 2;
constexpr RequestKey kPayOnlyHoldKey = 3;
constexpr RequestKey kPayOnlyPayKey = 4;

absl::Status SetUpRefused(const char* what, const net::DecodedResponse& r) {
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

}  // namespace

absl::Status SetUpPayOnly(std::vector<std::unique_ptr<Lane>>& lanes,
                          std::vector<PayOnlyLane>& setups, uint32_t window, uint64_t seed) {
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

PayOnlyWorkload::PayOnlyWorkload(Lane* lane, const PayOnlyLane* setup, uint32_t slots)
    : lane_(*lane),
      setup_(*setup),
      slot_user_(slots),
      paid_(setup->payments, 0),
      seats_paid_(setup->plan.schedules, 0) {
  command_ = MakePay(0, 0, QueueToken{}, 0, kPayOnlyPayKey);
}

const Command& PayOnlyWorkload::Next(uint32_t slot, Op* op) {
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

void PayOnlyWorkload::OnReply(uint32_t slot, Op, RequestKey key, const ReplyFields& r) {
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

void PayOnlyWorkload::Finish() {
  for (uint64_t i = 0; i < paid_.size(); ++i) {
    if (paid_[i] != 0) lane_.expected.balances[setup_.UserAt(i, lane_.run_id)] -= paid_[i];
  }
  for (uint32_t s = 0; s < seats_paid_.size(); ++s) {
    lane_.expected.seats_paid[setup_.schedules[s]] += seats_paid_[s];
  }
}

}  // namespace encore::load
