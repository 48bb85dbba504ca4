// Touch: load a byte of the cache line at `address` now, for the shard's batch
// prefetch (Core::Prefetch, run over a whole batch before it is applied).
//
// On the 2-core KVM machine of docs/PERFORMANCE.md, __builtin_prefetch of
// random lines in tables of tens to hundreds of megabytes did not bring them
// in: perf found the same loads missing when the command was applied (the
// seat-limit check alone was 30 to 40% of the shard's time under a hold
// load). Plain loads issued back to back for a whole batch overlap in the
// out-of-order core and do land: hold-only +10 to 20% (PERFORMANCE.md). The
// read is volatile so that the compiler keeps it.
#ifndef ENCORE_INTERNAL_TOUCH_H_
#define ENCORE_INTERNAL_TOUCH_H_

#include <cstdint>

namespace encore::internal {

inline void Touch(const void* address) { (void)*static_cast<const volatile uint8_t*>(address); }

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_TOUCH_H_
