// CompletionSlot: a completion on its way from a shard back to its producer.
//
// Thread safety: a value; copied through a Ring.
#ifndef ENCORE_RUNTIME_COMPLETION_SLOT_H_
#define ENCORE_RUNTIME_COMPLETION_SLOT_H_

#include "encore/engine.h"

namespace encore::internal {

struct CompletionSlot {
  Completion completion;
  bool silent;  // The answer to a broadcast's copy: counted, not handed out.
};

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_COMPLETION_SLOT_H_
