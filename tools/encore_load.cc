// encore-load: the bundled load tool (flash-sale and throughput scenarios,
// live progress, latency percentiles, a JSON result, a PNG chart, and a check
// of the server's state at the end). The work is in tools/load/.
//
//   encore-load <flash-sale|throughput> [options]   (--help lists them)
#include "load/load.h"

int main(int argc, char** argv) { return encore::load::Main(argc, argv); }
