// encore-load: the bundled load tool (flash-sale and throughput scenarios,
// live progress, latency percentiles, a JSON result, a PNG chart, and a check
// of the server's state at the end). The work is in tools/load/.
//
//   encore-load <flash-sale|throughput> [options]   (--help lists them)
//   encore-load verify --ack-log FILE [--host H] [--admin-port P]
#include <iostream>

#include "load/command_line.h"
#include "load/run_command.h"

int main(int argc, char** argv) {
  const encore::load::CommandLine line =
      encore::load::ParseCommandLine(argc, argv, std::cout, std::cerr);
  if (!line.options.has_value()) return line.exit_code;
  return encore::load::RunCommand(*line.options, std::cout, std::cerr);
}
