// The ids of an encore-load run: every concert, schedule and user id derives
// from the run id, so runs against one server do not collide.
#ifndef ENCORE_TOOLS_LOAD_RUN_IDS_H_
#define ENCORE_TOOLS_LOAD_RUN_IDS_H_

#include <cstdint>

#include "encore/types.h"

namespace encore::load {

inline uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The run id is 31 bits: schedule `index` (< 2^16) and user `index` (< 2^32)
// of a run are unique across runs.
inline ScheduleId ScheduleIdOf(uint64_t run_id, uint32_t index) {
  return run_id << 16 | (index + 1);
}
inline UserId UserIdOf(uint64_t run_id, uint64_t index) { return run_id << 32 | (index + 1); }

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_RUN_IDS_H_
