// Lane: one connection of encore-load, and what the tool measured and saw
// acknowledged on it.
//
// Requests go out two ways. Issue() sends one with a callback (the flash
// sale: few requests, each with its own follow-up); it counts and records the
// reply itself. A TimedLane (timed_lane.h) sends with Client::SendTo and
// records a whole batch of replies under one lock with RecordLocked, counting
// its requests in the lane's completions in batches.
//
// Thread safety: `mutex` guards the lane's figures and expectations; the
// REQUIRES comments say which members need it.
#ifndef ENCORE_TOOLS_LOAD_LANE_H_
#define ENCORE_TOOLS_LOAD_LANE_H_

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ack_log.h"
#include "completions.h"
#include "encore/command.h"
#include "encore/net/client.h"
#include "encore/result_code.h"
#include "expectations.h"
#include "histogram.h"
#include "op.h"

namespace encore::load {

using Clock = std::chrono::steady_clock;

// Errors are the failures of the request itself; refusals are business data.
enum class Outcome { kOk, kRefused, kError };
inline Outcome Classify(ResultCode code) {
  if (code == ResultCode::kOk) return Outcome::kOk;
  return static_cast<int>(code) < 300 ? Outcome::kError : Outcome::kRefused;
}

// Whole microseconds from `from` to `to`; 0 if `to` is earlier.
inline uint64_t MicrosBetween(Clock::time_point from, Clock::time_point to) {
  return static_cast<uint64_t>(std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::microseconds>(to - from).count()));
}

// Seconds from `start` to now.
inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class Lane {
 public:
  explicit Lane(std::unique_ptr<net::Client> client) : client_(std::move(client)) {}

  using Then = std::function<void(const net::DecodedResponse&)>;

  // Sends `command`, records its latency (from `intended`, which an open loop
  // sets to when the request was due) and outcome, then runs `then`.
  void Issue(Op op, const Command& command, Then then, Clock::time_point intended = {});
  void IssueSeatMap(ScheduleId schedule, UserId user, const QueueToken& token, Then then);
  // Waits until every reply's callback has run (requests a callback sends
  // included); past `timeout` closes the connection, which fails (and so
  // runs) the rest.
  void WaitCallbacks(std::chrono::milliseconds timeout);
  // The count WaitCallbacks waits on, for requests sent without Issue.
  Completions& completions() { return completions_; }

  // Records one reply: its outcome, and its latency in the run's and this
  // second's histograms. REQUIRES: mutex held.
  void RecordLocked(Op op, ResultCode code, const std::string& message, uint64_t latency_us) {
    if (code == ResultCode::kUnavailable && unavailable++ == 0) unavailable_message = message;
    OpSummary& summary = operations_[static_cast<size_t>(op)];
    const Outcome outcome = Classify(code);
    if (outcome == Outcome::kOk) ++summary.ok;
    if (outcome == Outcome::kRefused) ++summary.refused;
    if (outcome == Outcome::kError) ++summary.errors;
    summary.latency_us.Record(latency_us);
    second_latency_.Record(latency_us);
    ++second_requests_;
    if (outcome == Outcome::kError) ++second_errors_;
  }

  // Adds this second's figures to the sums, and clears them.
  void TakeSecond(LatencyHistogram* latency, uint64_t* requests, uint64_t* errors);
  // Adds the figures of every operation sent at all.
  void MergeInto(std::map<Op, OpSummary>* operations);

  net::Client& client() { return *client_; }
  // Guards the lane's users and what the lane has measured.
  std::mutex mutex;
  Expectations expected;  // Under mutex.
  // Set before the first request; the log is shared by the lanes (its own lock).
  AckLog* ack_log = nullptr;
  uint64_t run_id = 0;
  // Replies UNAVAILABLE (the server stopping, its journal failed, or the
  // connection lost), and the first one's message. Under mutex.
  uint64_t unavailable = 0;
  std::string unavailable_message;

 private:
  void Record(Op op, ResultCode code, const std::string& message, Clock::time_point start);

  // Before the client: it is destroyed after the client has joined its
  // reader thread, which may still be returning from a Done().
  Completions completions_;
  std::unique_ptr<net::Client> client_;
  // By Op; under mutex.
  std::array<OpSummary, static_cast<size_t>(Op::kCount)> operations_;
  LatencyHistogram second_latency_;
  uint64_t second_requests_ = 0;
  uint64_t second_errors_ = 0;
};

// A mutating request whose effect the tool cannot know. REQUIRES: lane.mutex held.
inline void MarkUncertain(Lane& lane, UserId user) {
  if (lane.ack_log != nullptr && lane.expected.uncertain.count(user) == 0) {
    lane.ack_log->Uncertain(lane.run_id, user);
  }
  lane.expected.uncertain[user] = true;
}

// Records a mutating request's effect on the expectations. REQUIRES: lane.mutex held.
inline void NoteUncertain(Lane& lane, UserId user, ResultCode code) {
  if (Classify(code) == Outcome::kError) MarkUncertain(lane, user);
}

// Logs a payment's answer: OK or a refusal the tool was given. A payment in
// progress or already paid (a repeat) is in doubt instead. `amount`: the
// reply's. REQUIRES: lane.mutex held.
inline void LogPay(Lane& lane, ScheduleId schedule, UserId user, RequestKey key, HoldId hold,
                   ResultCode code, Points amount) {
  if (code == ResultCode::kPaymentInProgress || code == ResultCode::kAlreadyPaid) {
    MarkUncertain(lane, user);
    return;
  }
  if (lane.ack_log == nullptr || Classify(code) == Outcome::kError) return;
  lane.ack_log->Pay(lane.run_id, schedule, user, key, hold, code,
                    code == ResultCode::kOk ? amount : 0);
}

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_LANE_H_
