// The chart of an encore-load run (--chart FILE.png): requests/s and p99 per
// second, drawn by gnuplot.
#ifndef ENCORE_TOOLS_LOAD_CHART_H_
#define ENCORE_TOOLS_LOAD_CHART_H_

#include <string>

#include "report.h"

namespace encore::load {

// Writes the PNG at `png_path`; "" when it did, else a note saying why not
// (e.g. gnuplot is missing) instead of failing.
std::string WriteChart(const LoadReport& report, const std::string& png_path);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_CHART_H_
