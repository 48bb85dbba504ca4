// encore-load's command line, parsed with CLI11:
//
//   encore-load <flash-sale|throughput> [options]
//   encore-load verify --ack-log FILE [--host H] [--admin-port P]
//
// Options may come before or after the scenario, as `--name value` or
// `--name=value`. Defaults that hang on the scenario and the mix are filled
// in here (options.h says which), then the options are validated.
#ifndef ENCORE_TOOLS_LOAD_COMMAND_LINE_H_
#define ENCORE_TOOLS_LOAD_COMMAND_LINE_H_

#include <optional>
#include <ostream>

#include "options.h"

namespace encore::load {

struct CommandLine {
  // Set: run with these. Empty: exit at once with exit_code (exit_codes.h),
  // after --help or --version (printed on `out`) or a usage error (on `err`).
  std::optional<LoadOptions> options;
  int exit_code = 0;
};

CommandLine ParseCommandLine(int argc, const char* const* argv, std::ostream& out,
                             std::ostream& err);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_COMMAND_LINE_H_
