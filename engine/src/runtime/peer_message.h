// PeerMessage: one step of a payment's saga, from one shard to another: the
// debit of the payer's balance (to the payer's shard), or its outcome (back
// to the schedule's shard).
//
// Thread safety: a value; copied through a Ring.
#ifndef ENCORE_RUNTIME_PEER_MESSAGE_H_
#define ENCORE_RUNTIME_PEER_MESSAGE_H_

#include <cstdint>

#include "encore/core.h"

namespace encore::internal {

struct PeerMessage {
  enum class Kind : uint8_t { kDebit = 1, kOutcome = 2 };
  Kind kind;
  DebitRequest debit;    // kDebit.
  DebitOutcome outcome;  // kOutcome.
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_PEER_MESSAGE_H_
