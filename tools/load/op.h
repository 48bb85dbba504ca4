// Op and OpSummary: the operations encore-load sends, and what it measured of
// each (outcomes and a latency histogram).
#ifndef ENCORE_TOOLS_LOAD_OP_H_
#define ENCORE_TOOLS_LOAD_OP_H_

#include <cstdint>

#include "histogram.h"

namespace encore::load {

enum class Op : uint8_t {
  kCharge,
  kEnter,
  kStatus,
  kHold,
  kRelease,
  kPay,
  kLeave,
  kSeatMap,
  kCount
};
// The operation's name in the report ("charge", "enter", ...).
const char* OpName(Op op);

struct OpSummary {
  uint64_t ok = 0;
  uint64_t refused = 0;  // A business refusal (SEAT_UNAVAILABLE, TOKEN_NOT_ACTIVE, ...).
  uint64_t errors = 0;   // Transport, capacity or argument errors (1xx, 2xx, no reply).
  LatencyHistogram latency_us;
  uint64_t total() const { return ok + refused + errors; }
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_OP_H_
