// LoadReport: what one encore-load run measured and saw, and the summary
// table printed at its end. The JSON result is json_report.h; the chart,
// chart.h.
#ifndef ENCORE_TOOLS_LOAD_REPORT_H_
#define ENCORE_TOOLS_LOAD_REPORT_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "expectations.h"
#include "op.h"

namespace encore::load {

struct SecondSample {
  double at_s = 0;
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t p99_us = 0;
};

struct FlashSaleFigures {
  uint32_t users = 0;
  uint32_t seats = 0;
  double sell_out_ms = -1;  // From the queue opening to the last seat paid; -1: not sold out.
  double last_sale_ms = -1;
  uint64_t admitted = 0;
  uint64_t admitted_in_order = 0;  // See flash_sale.cc: FairnessOf.
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

// The summary table, the flash sale's figures and the check's outcome.
void PrintSummary(const LoadReport& report, std::ostream& out);

// `value` with `digits` decimals ("%.*f"): the number format of the reports.
std::string Fixed(double value, int digits);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_REPORT_H_
