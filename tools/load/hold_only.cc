// --mix hold-only: its set-up, cursor and workload (see hold_only.h).
#include "hold_only.h"

#include <algorithm>
#include <mutex>
#include <span>
#include <string>

#include "encore/commands.h"
#include "encore/result_code.h"
#include "setup_pipeline.h"

namespace encore::load {
namespace {

// Users whose balance (0: nobody charges them) the end-of-run check reads,
// per lane: spread over the lane's users.
constexpr uint32_t kHoldOnlyBalancesCheckedPerLane = 1024;
// Request keys of the timed holds start here, above the set-up's.
constexpr RequestKey kTimedKeyBase = RequestKey{1} << 32;

}  // namespace

absl::Status SetUpHoldOnly(std::vector<std::unique_ptr<Lane>>& lanes,
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

HoldOnlyCursor::HoldOnlyCursor(const SeatPlan& plan, uint32_t users, uint64_t seed)
    : plan_(plan), users_(users), order_(plan.seats_per_schedule, seed) {
  at_.seat = order_(0);
}

HoldOnlyCursor::Target HoldOnlyCursor::TargetOf(uint64_t k) const {
  const uint64_t in_schedule = k % plan_.seats_per_schedule;
  return Target{static_cast<uint32_t>(k / plan_.seats_per_schedule % plan_.schedules),
                static_cast<uint32_t>(in_schedule % users_), order_(in_schedule)};
}

HoldOnlyWorkload::HoldOnlyWorkload(Lane* lane, const HoldOnlyLane* setup, uint32_t slots,
                                   uint64_t seed)
    : lane_(*lane), setup_(*setup), cursor_(setup->plan, setup->users, seed), slot_target_(slots) {
  const SeatIndex seat = 0;
  command_ = MakeHoldSeats(0, 0, QueueToken{}, std::span<const SeatIndex>(&seat, 1), 0);
}

const Command& HoldOnlyWorkload::Next(uint32_t slot, Op* op) {
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

void HoldOnlyWorkload::OnReply(uint32_t slot, Op, RequestKey key, const ReplyFields& r) {
  const HoldOnlyCursor::Target& target = slot_target_[slot];
  const UserId user = setup_.UserAt(target.user, lane_.run_id);
  if (Classify(r.code) == Outcome::kError) MarkUncertain(lane_, user);
  if (r.code == ResultCode::kOk && lane_.ack_log != nullptr) {
    lane_.ack_log->Hold(lane_.run_id, setup_.schedules[target.schedule], user, key, r.hold,
                        std::span<const SeatIndex>(&target.seat, 1));
  }
}

}  // namespace encore::load
