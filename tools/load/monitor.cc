// The once-a-second sampling of the lanes (see monitor.h).
#include "monitor.h"

#include <cstdio>
#include <utility>

namespace encore::load {

Monitor::Monitor(std::vector<std::unique_ptr<Lane>>* lanes, bool print, std::ostream& out,
                 std::function<std::string()> extra)
    : lanes_(lanes), print_(print), out_(out), extra_(std::move(extra)) {
  start_ = Clock::now();
  thread_ = std::thread([this] { Loop(); });
}

void Monitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Monitor::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  Clock::time_point next = start_;
  while (true) {
    next += std::chrono::seconds(1);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    Sample();
  }
}

void Monitor::Sample() {
  LatencyHistogram latency;
  SecondSample sample;
  sample.at_s = SecondsSince(start_);
  for (auto& lane : *lanes_) lane->TakeSecond(&latency, &sample.requests, &sample.errors);
  sample.p99_us = latency.Percentile(99);
  timeline_.push_back(sample);
  if (!print_) return;
  char line[160];
  std::snprintf(line, sizeof(line), "[%5.1fs] %10.0f req/s  errors %-6llu p99 %8.2f ms",
                sample.at_s, static_cast<double>(sample.requests),
                static_cast<unsigned long long>(sample.errors), sample.p99_us / 1000.0);
  out_ << line << (extra_ ? "  " + extra_() : "") << "\n" << std::flush;
}

}  // namespace encore::load
