// Expectations: what encore-load saw acknowledged, which the server's state
// must equal (server_check.h compares them).
#ifndef ENCORE_TOOLS_LOAD_EXPECTATIONS_H_
#define ENCORE_TOOLS_LOAD_EXPECTATIONS_H_

#include <cstdint>
#include <map>

#include "encore/types.h"

namespace encore::load {

struct Expectations {
  ConcertId concert = 0;
  std::map<ScheduleId, uint64_t> seats_paid;  // Every schedule the run touched.
  std::map<UserId, Points> balances;          // Charges - payments, per user.
  // Users with an outcome the tool could not learn (no reply to a mutating
  // request): their balance is not checked, and seat counts only reported.
  std::map<UserId, bool> uncertain;
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_EXPECTATIONS_H_
