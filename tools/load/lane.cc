// A lane's requests with callbacks, and its figures (see lane.h).
#include "lane.h"

#include <utility>

namespace encore::load {

void Lane::Issue(Op op, const Command& command, Then then, Clock::time_point intended) {
  const Clock::time_point start = intended == Clock::time_point{} ? Clock::now() : intended;
  completions_.Add();
  client_->Send(command, [this, op, start, then = std::move(then)](const net::DecodedResponse& r) {
    Record(op, r.code, r.message, start);
    then(r);
    completions_.Done();
  });
}
void Lane::IssueSeatMap(ScheduleId schedule, UserId user, const QueueToken& token, Then then) {
  const Clock::time_point start = Clock::now();
  completions_.Add();
  client_->SendSeatMap(schedule, user, token,
                       [this, start, then = std::move(then)](const net::DecodedResponse& r) {
                         Record(Op::kSeatMap, r.code, r.message, start);
                         then(r);
                         completions_.Done();
                       });
}

void Lane::WaitCallbacks(std::chrono::milliseconds timeout) {
  if (!completions_.Wait(timeout)) client_->Close();
}

void Lane::TakeSecond(LatencyHistogram* latency, uint64_t* requests, uint64_t* errors) {
  std::lock_guard<std::mutex> lock(mutex);
  latency->Merge(second_latency_);
  *requests += second_requests_;
  *errors += second_errors_;
  second_latency_.Reset();
  second_requests_ = second_errors_ = 0;
}

void Lane::MergeInto(std::map<Op, OpSummary>* operations) {
  std::lock_guard<std::mutex> lock(mutex);
  for (size_t i = 0; i < operations_.size(); ++i) {
    const OpSummary& summary = operations_[i];
    if (summary.total() == 0) continue;
    OpSummary& total = (*operations)[static_cast<Op>(i)];
    total.ok += summary.ok;
    total.refused += summary.refused;
    total.errors += summary.errors;
    total.latency_us.Merge(summary.latency_us);
  }
}

void Lane::Record(Op op, ResultCode code, const std::string& message, Clock::time_point start) {
  const uint64_t latency_us = MicrosBetween(start, Clock::now());
  std::lock_guard<std::mutex> lock(mutex);
  RecordLocked(op, code, message, latency_us);
}

}  // namespace encore::load
