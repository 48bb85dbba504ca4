// Workload: what a TimedLane (timed_lane.h) sends, one request per slot at
// a time, and what it does with the replies. The mixes are mix_workload.h,
// hold_only.h and pay_only.h.
//
// Thread safety: every member runs under the lane's mutex.
#ifndef ENCORE_TOOLS_LOAD_WORKLOAD_H_
#define ENCORE_TOOLS_LOAD_WORKLOAD_H_

#include <cstdint>

#include "encore/command.h"
#include "encore/result_code.h"
#include "encore/types.h"
#include "op.h"

namespace encore::load {

// What a workload learns of a reply.
struct ReplyFields {
  ResultCode code = ResultCode::kOk;
  HoldId hold = 0;
  HoldProof hold_proof = 0;
  QueueToken token;
  Points amount = 0;
};

// The requests of a timed run. Every member runs under the lane's mutex.
class Workload {
 public:
  virtual ~Workload() = default;
  // The next request of `slot` (its key in request_key), and in *op which
  // operation it is; *op = Op::kCount when the workload has nothing more to
  // send (on any slot). The command is the workload's own, valid until the
  // next call (so under the lane's mutex: copy it to use it after unlocking):
  // a single-operation workload patches the few fields that change
  // in one it keeps, since clearing a 400-byte Command per request was most of
  // the time hold-only spent choosing its requests (perf).
  virtual const Command& Next(uint32_t slot, Op* op) = 0;
  // The reply to the request `slot` sent last (`op`, `key`).
  virtual void OnReply(uint32_t slot, Op op, RequestKey key, const ReplyFields& reply) = 0;
  // Once every reply is in: adds what the workload kept aside to the lane's
  // expectations.
  virtual void Finish() {}
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_WORKLOAD_H_
