// RunCommand: what encore-load does with a parsed command line: a scenario
// (flash_sale.h, throughput.h), then the check of the server's state
// (server_check.h), the summary, the chart and the JSON result; or `verify`
// (ack_log_verify.h).
//
// Thread safety: runs on the calling thread, and starts its own.
#ifndef ENCORE_TOOLS_LOAD_RUN_COMMAND_H_
#define ENCORE_TOOLS_LOAD_RUN_COMMAND_H_

#include <ostream>

#include "options.h"

namespace encore::load {

// The report goes to `out`, progress and errors to `err`. Returns the exit
// code (exit_codes.h). REQUIRES: ValidateLoadOptions(options) is OK.
int RunCommand(const LoadOptions& options, std::ostream& out, std::ostream& err);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_RUN_COMMAND_H_
