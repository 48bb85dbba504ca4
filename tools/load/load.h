// The core of encore-load: two scenarios against a running server, what the
// tool saw acknowledged, and the end-of-run check of the server's state
// against it.
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
//
// Every id (concert, schedules, users) is derived from a run id, drawn from
// --seed and the time, so runs against one server do not collide.
//
// Thread safety: Run* and CheckServerState run on the calling thread and
// start their own; callers need no locking.
#ifndef ENCORE_TOOLS_LOAD_LOAD_H_
#define ENCORE_TOOLS_LOAD_LOAD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ack_log.h"
#include "encore/net/client.h"
#include "encore/types.h"
#include "histogram.h"

namespace encore::load {

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
  std::string scenario = "throughput";  // "flash-sale" or "throughput".
  std::string host = "127.0.0.1";
  uint16_t port = 7400;
  uint16_t admin_port = 7401;
  uint32_t connections = 4;  // 1 .. 256.
  uint32_t depth = 256;      // Requests in flight per connection; 1 .. 65536.
  // throughput: run this long (0: until count). flash-sale: give up after this long.
  double duration_s = 10;
  uint64_t count = 0;  // throughput: stop after this many requests (0: no limit).
  double rate = 0;     // throughput: open loop at this many requests/s (0: closed loop).
  uint64_t seed = 0;   // 0: from the clock. Drives the run id and every choice.
  // flash-sale.
  uint32_t users = 1000;
  // flash-sale: the schedule's seats. throughput: seats of each connection's
  // schedule (default 200,000); hold-only: of each connection, in schedules of
  // at most kSeatsPerScheduleMax (default: enough for kHoldOnlyRateAssumed
  // holds/s over the run, capped at kHoldOnlySeatsPerConnectionMax).
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

// The operations the tool sends, for the report.
enum class Op : uint8_t {
  kCharge,
  kEnter,
  kStatus,
  kHold,
  kRelease,
  kPay,
  kLeave,
  kSeatMap,
  kCount
};
const char* OpName(Op op);

struct OpSummary {
  uint64_t ok = 0;
  uint64_t refused = 0;  // A business refusal (SEAT_UNAVAILABLE, TOKEN_NOT_ACTIVE, ...).
  uint64_t errors = 0;   // Transport, capacity or argument errors (1xx, 2xx, no reply).
  LatencyHistogram latency_us;
  uint64_t total() const { return ok + refused + errors; }
};

struct SecondSample {
  double at_s = 0;
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t p99_us = 0;
};

// What the tool saw acknowledged: what the server's state must equal.
struct Expectations {
  ConcertId concert = 0;
  std::map<ScheduleId, uint64_t> seats_paid;  // Every schedule the run touched.
  std::map<UserId, Points> balances;          // Charges - payments, per user.
  // Users with an outcome the tool could not learn (no reply to a mutating
  // request): their balance is not checked, and seat counts only reported.
  std::map<UserId, bool> uncertain;
};

struct FlashSaleFigures {
  uint32_t users = 0;
  uint32_t seats = 0;
  double sell_out_ms = -1;  // From the queue opening to the last seat paid; -1: not sold out.
  double last_sale_ms = -1;
  uint64_t admitted = 0;
  uint64_t admitted_in_order = 0;  // See load.cc: FairnessOf.
  double in_order_share = 0;
  uint64_t paid_users = 0;
  uint64_t seats_paid = 0;
  uint64_t abandoned = 0;
  uint64_t late_refused = 0;
  uint64_t late_paid = 0;
  uint64_t sold_out_left = 0;  // Left the queue once everything was sold.
  uint64_t unfinished = 0;     // Still going when the time ran out.
};

struct LoadReport {
  std::string scenario;
  std::string mix;  // throughput only.
  uint64_t run_id = 0;
  uint64_t seed = 0;
  double elapsed_s = 0;  // The timed run: what rates are per.
  double setup_s = 0;    // hold-only, pay-only: the untimed set-up before it.
  std::map<Op, OpSummary> operations;
  std::vector<SecondSample> timeline;
  Expectations expected;
  FlashSaleFigures flash;
  std::vector<std::string> breaches;  // Filled by CheckServerState.
  // Open loop: requests due while every user of their connection was busy
  // (skipped, so the offered rate was not reached).
  uint64_t open_loop_skipped = 0;
  std::string chart_note;
  // The server went away mid-run (the connection dropped, or it answered
  // UNAVAILABLE): the end-of-run check is not possible; `verify` is, once the
  // server is back.
  bool server_lost = false;
  std::string server_lost_reason;
  bool ack_log_failed = false;  // A line of --ack-log could not be written.
};

// Validates the options; InvalidArgument naming the bad one.
absl::Status ValidateLoadOptions(const LoadOptions& options);

// Unavailable when the server cannot be reached or the setup is refused.
absl::StatusOr<LoadReport> RunFlashSale(const LoadOptions& options, std::ostream& progress);
absl::StatusOr<LoadReport> RunThroughput(const LoadOptions& options, std::ostream& progress);

// Compares the server's state with `expected`: for every schedule, seats
// sold (ListSchedules) and SOLD seats in the admin seat map == seats paid;
// for every certain user, Balance == charges - payments. One line per breach,
// naming the schedule or user; empty when all hold. A server that cannot be
// read is a breach too, unless `lost` is given: then a server that cannot be
// reached, or whose connection drops during the check, sets *lost instead
// (its reads prove nothing: the server went away, as in a run), and the
// lines are only those of reads that were answered before.
std::vector<std::string> CheckServerState(const LoadOptions& options, const Expectations& expected,
                                          bool* lost = nullptr);

// A connection to the admin listener (options.host, options.admin_port).
absl::StatusOr<std::unique_ptr<net::Client>> ConnectAdmin(const LoadOptions& options,
                                                          const std::string& client_name);

// The result file and the summary table.
std::string ReportJson(const LoadOptions& options, const LoadReport& report);
void PrintSummary(const LoadReport& report, std::ostream& out);
// Writes a PNG of requests/s and p99 per second with gnuplot; a note saying
// why not (e.g. gnuplot is missing) instead of failing.
std::string WriteChart(const LoadReport& report, const std::string& png_path);

// encore-load's main: 0 all invariants held, 2 usage or connection error,
// 3 a breach of the invariants, 4 the server went away mid-run (the report is
// printed; the check is left to `encore-load verify --ack-log FILE`).
int Main(int argc, char** argv);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_LOAD_H_
