// The flash-sale scenario: one schedule, --users fans charge, all enter the
// queue at once, poll until admitted, hold 1..2 seats (retrying a few times,
// then reading the seat map), and pay; --abandon-percent of them walk away
// from their hold and --late-percent pay after it expired.
//
// Thread safety: runs on the calling thread, and starts its own.
#ifndef ENCORE_TOOLS_LOAD_FLASH_SALE_H_
#define ENCORE_TOOLS_LOAD_FLASH_SALE_H_

#include <ostream>

#include "absl/status/statusor.h"
#include "options.h"
#include "report.h"

namespace encore::load {

// The run's report (its check not yet made: server_check.h). Unavailable
// when the server cannot be reached or the setup is refused.
absl::StatusOr<LoadReport> RunFlashSale(const LoadOptions& options, std::ostream& progress);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_FLASH_SALE_H_
