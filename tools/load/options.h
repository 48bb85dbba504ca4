// LoadOptions: what an encore-load run is asked to do, with the defaults and
// limits of every option, and their check.
//
//   flash-sale: one schedule, N users charge, all enter the queue at once,
//     poll until admitted, hold 1..2 seats (retrying a few times), pay; a
//     share abandon their hold and a share pay after it expired.
//   throughput: a fixed mix of hold, release, pay, charge and status over C
//     connections, closed loop (depth requests in flight per connection) or
//     open loop at a target rate, for a duration or a count. Or one
//     operation alone, like a Redis benchmark of one command: every timed
//     request a hold (hold-only) or a payment of a hold placed in an untimed
//     set-up (pay-only).
//   verify: checks a server against an ack log (ack_log_verify.h).
#ifndef ENCORE_TOOLS_LOAD_OPTIONS_H_
#define ENCORE_TOOLS_LOAD_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "encore/types.h"

namespace encore::load {

inline constexpr uint32_t kConnectionsMax = 256;
inline constexpr uint32_t kDepthMax = 65'536;
// throughput: the seats of each connection's schedule unless --seats says otherwise.
inline constexpr uint32_t kThroughputSeatsDefault = 200'000;
// flash-sale: gives up after this long unless --duration-s says otherwise.
inline constexpr double kFlashSaleDurationDefaultS = 120;
// hold-only and pay-only: holds live this long unless --hold-ttl-ms says
// otherwise (Redis's PX 300000), so none expires during a run.
inline constexpr int64_t kSingleOperationHoldTtlMs = 300'000;
// hold-only's default seats are enough for this many holds a second over the
// run (--duration-s, or --count), split over the connections.
inline constexpr uint64_t kHoldOnlyRateAssumed = 2'000'000;
inline constexpr uint32_t kHoldOnlySeatsPerConnectionMax = 16'000'000;
// pay-only's payments when --count is not given (all connections together).
inline constexpr uint64_t kPayOnlyCountDefault = 1'000'000;
// pay-only has a user per payment: at most this many per connection.
inline constexpr uint64_t kPayOnlyPaymentsPerConnectionMax = 4'000'000;

struct LoadOptions {
  std::string scenario = "throughput";  // "flash-sale", "throughput" or "verify".
  std::string host = "127.0.0.1";
  uint16_t port = 7400;
  uint16_t admin_port = 7401;
  uint32_t connections = 4;  // 1 .. kConnectionsMax.
  uint32_t depth = 256;      // Requests in flight per connection; 1 .. kDepthMax.
  // throughput: run this long (0: until count). flash-sale: give up after this long.
  double duration_s = 10;
  uint64_t count = 0;  // throughput: stop after this many requests (0: no limit).
  double rate = 0;     // throughput: open loop at this many requests/s (0: closed loop).
  uint64_t seed = 0;   // 0: from the clock. Drives the run id and every choice.
  // flash-sale.
  uint32_t users = 1000;
  // flash-sale: the schedule's seats. throughput: seats of each connection's
  // schedule (default kThroughputSeatsDefault); hold-only: of each connection,
  // in schedules of at most kSeatsPerScheduleMax (default: enough for
  // kHoldOnlyRateAssumed holds/s over the run, capped at
  // kHoldOnlySeatsPerConnectionMax).
  uint32_t seats = 100;
  Points price = 1000;
  uint32_t active_max = 100;   // Admission policy: ACTIVE users at once (0: no limit).
  int64_t hold_ttl_ms = 2000;  // hold-only, pay-only: kSingleOperationHoldTtlMs by default.
  uint32_t abandon_percent = 10;
  uint32_t late_percent = 5;
  int64_t poll_ms = 100;  // A WAITING user polls (heartbeats) this often.
  // throughput: "mixed" (hold, release, pay, charge, status), "holds"
  // (hold and release cycles only: seat operations, as a Redis SET NX PX
  // and DEL would be), "pays" (whole purchases: charge, enter, hold, pay,
  // then a new user in the shopper's place), "hold-only" (every request one
  // HOLD_SEATS of one seat: hold_only.h) or "pay-only" (every request one PAY
  // of a hold placed in an untimed set-up, --count payments in all (default
  // kPayOnlyCountDefault): pay_only.h).
  std::string mix = "mixed";
  std::string json_path;
  std::string chart_path;
  // Appends a line per acknowledged state-changing reply (ack_log.h); "": none.
  // `verify` reads it.
  std::string ack_log_path;
  bool progress = true;  // A line a second on the progress stream.
};

// hold-only and pay-only: one operation alone, after an untimed set-up.
bool IsSingleOperationMix(const std::string& mix);

// Validates the options; InvalidArgument naming the bad one.
absl::Status ValidateLoadOptions(const LoadOptions& options);

// hold-only's seats per connection when --seats is not given: enough for
// kHoldOnlyRateAssumed holds a second over the run (or for --count holds),
// so that holds keep succeeding to the end.
uint32_t HoldOnlySeatsDefault(const LoadOptions& options);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_OPTIONS_H_
