// The throughput scenario: a mix (options.h: --mix) over --connections
// connections, closed loop (--depth requests in flight per connection) or
// open loop at --rate, for --duration-s or --count. hold-only and pay-only
// first run an untimed set-up, kept out of the figures.
//
// Thread safety: runs on the calling thread, and starts its own.
#ifndef ENCORE_TOOLS_LOAD_THROUGHPUT_H_
#define ENCORE_TOOLS_LOAD_THROUGHPUT_H_

#include <ostream>

#include "absl/status/statusor.h"
#include "options.h"
#include "report.h"

namespace encore::load {

// The run's report (its check not yet made: server_check.h). Unavailable
// when the server cannot be reached or the setup is refused.
absl::StatusOr<LoadReport> RunThroughput(const LoadOptions& options, std::ostream& progress);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_THROUGHPUT_H_
