// The chart, drawn by gnuplot from a temporary directory (see chart.h).
#include "chart.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace encore::load {

std::string WriteChart(const LoadReport& report, const std::string& png_path) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    return "gnuplot is not installed (tools/setup-deps.sh installs gnuplot-nox): no chart";
  }
  char dir_template[] = "/tmp/encore-load-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return "cannot make a temporary directory: no chart";
  const std::string dir = dir_template;
  {
    std::ofstream data(dir + "/timeline.dat");
    for (const SecondSample& s : report.timeline) {
      data << Fixed(s.at_s, 3) << " " << s.requests << " " << s.p99_us / 1000.0 << "\n";
    }
  }
  {
    std::ofstream script(dir + "/chart.gp");
    script << "set terminal pngcairo size 1000,500 noenhanced\n"
           << "set output '" << png_path << "'\n"
           << "set title 'encore-load " << report.scenario << " (run " << report.run_id << ")'\n"
           << "set xlabel 'seconds'\nset ylabel 'requests/s'\nset y2label 'p99 (ms)'\n"
           << "set ytics nomirror\nset y2tics\nset grid\nset key top left\nset yrange [0:*]\n"
           << "set y2range [0:*]\n"
           << "plot '" << dir << "/timeline.dat' using 1:2 with lines lw 2 title 'requests/s', "
           << "'' using 1:3 axes x1y2 with lines lw 2 title 'p99 ms'\n";
  }
  const std::string command = "gnuplot '" + dir + "/chart.gp' > '" + dir + "/gnuplot.log' 2>&1";
  const int status = std::system(command.c_str());
  std::string note = status == 0 ? "" : "gnuplot failed (see " + dir + "/gnuplot.log): no chart";
  if (status == 0) std::filesystem::remove_all(dir);
  return note;
}

}  // namespace encore::load
