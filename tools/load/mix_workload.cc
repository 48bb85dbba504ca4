// The throughput mixes (see mix_workload.h).
#include "mix_workload.h"

#include <span>

#include "encore/commands.h"
#include "encore/result_code.h"
#include "run_ids.h"

namespace encore::load {

MixWorkload::MixWorkload(const LoadOptions& options, Lane* lane, ScheduleId schedule, uint64_t seed,
                         uint64_t first_user, uint32_t users)
    : options_(options),
      lane_(*lane),
      schedule_(schedule),
      random_(seed),
      next_user_index_(first_user),
      holds_only_(options.mix == "holds"),
      pays_only_(options.mix == "pays") {
  shoppers_.resize(users);
  for (Shopper& shopper : shoppers_) shopper.user = UserIdOf(lane_.run_id, next_user_index_++);
}

const Command& MixWorkload::Next(uint32_t slot, Op* op) {
  command_ = Choose(shoppers_[slot], op);
  return command_;
}

void MixWorkload::OnReply(uint32_t slot, Op op, RequestKey key, const ReplyFields& r) {
  Shopper& s = shoppers_[slot];
  const bool ok = r.code == ResultCode::kOk;
  if (Classify(r.code) == Outcome::kError && op != Op::kStatus) MarkUncertain(lane_, s.user);
  switch (op) {
    case Op::kCharge:
      if (ok) {
        if (lane_.ack_log != nullptr) lane_.ack_log->Charge(lane_.run_id, s.user, key, s.charging);
        lane_.expected.balances[s.user] += s.charging;
        s.charged = true;
      }
      break;
    case Op::kEnter:
      if (ok) {
        s.token = r.token;
        s.entered = true;
      }
      break;
    case Op::kHold:
      if (ok) {
        if (lane_.ack_log != nullptr) {
          lane_.ack_log->Hold(lane_.run_id, schedule_, s.user, key, r.hold,
                              std::span<const SeatIndex>(&s.held_seat, 1));
        }
        s.hold = r.hold;
        s.hold_proof = r.hold_proof;
      } else {
        free_seats_.push_back(s.held_seat);
      }
      break;
    case Op::kRelease:
      if (ok || r.code == ResultCode::kHoldExpired || r.code == ResultCode::kHoldReleased) {
        free_seats_.push_back(s.held_seat);
      }
      s.hold = 0;
      break;
    case Op::kPay:
      LogPay(lane_, schedule_, s.user, key, s.hold, r.code, r.amount);
      if (ok) {
        lane_.expected.balances[s.user] -= r.amount;
        lane_.expected.seats_paid[schedule_] += 1;
        s.paid = true;
      } else if (r.code == ResultCode::kHoldExpired) {
        free_seats_.push_back(s.held_seat);
      }
      s.hold = 0;
      break;
    default:
      break;
  }
  // A shopper who has paid is DONE in the queue: a new user takes over.
  if (s.paid) {
    s = Shopper{};
    s.user = UserIdOf(lane_.run_id, next_user_index_++);
  }
}

inline Command MixWorkload::Choose(Shopper& s, Op* op) {
  const RequestKey key = ++key_;
  if (!s.charged) {
    s.charging = options_.price * 100;
    *op = Op::kCharge;
    return MakeCharge(s.user, s.charging, key);
  }
  if (!s.entered) {
    *op = Op::kEnter;
    return MakeEnterQueue(schedule_, s.user, key);
  }
  // "holds" and "pays" do not roll: a shopper holds, then releases
  // ("holds") or pays ("pays", and a new user takes the shopper's place).
  const uint32_t roll = holds_only_ || pays_only_ ? 0 : static_cast<uint32_t>(random_() % 100);
  if (s.hold != 0) {
    if (roll < 60 && !pays_only_) {
      *op = Op::kRelease;
      return MakeReleaseHoldWithProof(schedule_, s.user, s.hold, s.hold_proof, key);
    }
    *op = Op::kPay;
    return MakePay(schedule_, s.user, s.token, s.hold, key);
  }
  if (roll < 50 && (!free_seats_.empty() || next_seat_ < options_.seats)) {
    SeatIndex seat;
    if (!free_seats_.empty()) {
      seat = free_seats_.back();
      free_seats_.pop_back();
    } else {
      seat = next_seat_++;
    }
    s.held_seat = seat;
    *op = Op::kHold;
    return MakeHoldSeats(schedule_, s.user, s.token, std::span<const SeatIndex>(&seat, 1), key);
  }
  if (roll < 75) {
    s.charging = options_.price;
    *op = Op::kCharge;
    return MakeCharge(s.user, s.charging, key);
  }
  *op = Op::kStatus;
  return MakeQueueStatus(schedule_, s.user, s.token);
}

}  // namespace encore::load
