// The JSON result of an encore-load run (--json FILE): one object with the
// run's settings, every operation's counts and latency percentiles, the
// total, the timeline, the flash sale's figures and the check's outcome.
// bench/compare-redis.sh reads it.
#ifndef ENCORE_TOOLS_LOAD_JSON_REPORT_H_
#define ENCORE_TOOLS_LOAD_JSON_REPORT_H_

#include <string>

#include "options.h"
#include "report.h"

namespace encore::load {

// The file's text: one line, ending in a newline.
std::string ReportJson(const LoadOptions& options, const LoadReport& report);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_JSON_REPORT_H_
