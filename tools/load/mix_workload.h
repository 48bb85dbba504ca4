// MixWorkload: the throughput mixes of virtual users (a slot each), driven by
// a TimedLane.
//
//   mixed  each user charges and enters once, then rolls: hold (50%), charge
//          (25%) or status (25%) with no hold; release (60%) or pay (40%)
//          with one. A paid token is DONE: a new user takes over.
//   holds  hold and release cycles only: seat operations, as a Redis SET NX
//          PX and DEL would be.
//   pays   whole purchases: charge, enter, hold, pay, then a new user.
//
// Thread safety: runs under the lane's mutex (Workload).
#ifndef ENCORE_TOOLS_LOAD_MIX_WORKLOAD_H_
#define ENCORE_TOOLS_LOAD_MIX_WORKLOAD_H_

#include <cstdint>
#include <random>
#include <vector>

#include "encore/command.h"
#include "encore/types.h"
#include "lane.h"
#include "options.h"
#include "workload.h"

namespace encore::load {

class MixWorkload final : public Workload {
 public:
  // `first_user`: the index (UserIdOf) of the lane's first user; its users
  // take the indices from there on.
  MixWorkload(const LoadOptions& options, Lane* lane, ScheduleId schedule, uint64_t seed,
              uint64_t first_user, uint32_t users);

  const Command& Next(uint32_t slot, Op* op) override;

  void OnReply(uint32_t slot, Op op, RequestKey key, const ReplyFields& r) override;

 private:
  // One virtual user: at most one request in flight.
  struct Shopper {
    UserId user = 0;
    QueueToken token;
    bool charged = false;
    bool entered = false;
    HoldId hold = 0;
    HoldProof hold_proof = 0;  // Releases the hold even once the token expired.
    SeatIndex held_seat = 0;
    Points charging = 0;  // The amount of the charge in flight.
    bool paid = false;    // A paid token is DONE: a new user takes over.
  };

  Command Choose(Shopper& s, Op* op);

  const LoadOptions& options_;
  Lane& lane_;
  const ScheduleId schedule_;
  std::mt19937_64 random_;
  uint64_t next_user_index_;
  const bool holds_only_;
  const bool pays_only_;
  std::vector<Shopper> shoppers_;
  std::vector<SeatIndex> free_seats_;  // Released seats, to hold again.
  SeatIndex next_seat_ = 0;            // Seats from here on were never held.
  RequestKey key_ = 0;
  Command command_;  // The last one chosen (Next's result).
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_MIX_WORKLOAD_H_
