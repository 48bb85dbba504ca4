// Monitor: samples every lane once a second (requests, errors, p99 of that
// second) into the run's timeline, and prints a progress line for each.
//
// Thread safety: samples on a thread of its own; the lanes' figures are read
// under their mutexes. Construct and Stop on one thread.
#ifndef ENCORE_TOOLS_LOAD_MONITOR_H_
#define ENCORE_TOOLS_LOAD_MONITOR_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "lane.h"
#include "report.h"

namespace encore::load {

class Monitor {
 public:
  Monitor(std::vector<std::unique_ptr<Lane>>* lanes, bool print, std::ostream& out,
          std::function<std::string()> extra = nullptr);
  ~Monitor() { Stop(); }

  // Ends the sampling (the destructor does too).
  void Stop();
  // A sample per second so far. REQUIRES: Stop() returned.
  const std::vector<SecondSample>& timeline() const { return timeline_; }

 private:
  void Loop();
  void Sample();

  std::vector<std::unique_ptr<Lane>>* lanes_;
  bool print_;
  std::ostream& out_;
  std::function<std::string()> extra_;
  Clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<SecondSample> timeline_;
  std::thread thread_;
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_MONITOR_H_
