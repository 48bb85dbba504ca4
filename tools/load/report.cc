// The summary table and the names of the operations (see report.h, op.h).
#include "report.h"

#include <algorithm>
#include <cstdio>

namespace encore::load {
namespace {

// Breach lines printed; the rest are counted.
constexpr size_t kBreachLinesMax = 20;

}  // namespace

const char* OpName(Op op) {
  static constexpr const char* kNames[] = {"charge",  "enter", "status", "hold",
                                           "release", "pay",   "leave",  "seatmap"};
  return op < Op::kCount ? kNames[static_cast<int>(op)] : "?";
}

std::string Fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

void PrintSummary(const LoadReport& report, std::ostream& out) {
  char line[256];
  out << "\n"
      << report.scenario << (report.mix.empty() ? "" : " --mix " + report.mix) << " run "
      << report.run_id << ": " << Fixed(report.elapsed_s, 2) << " s";
  if (report.setup_s > 0) {
    out << " timed (rates and latencies are of it), after an untimed set-up of "
        << Fixed(report.setup_s, 2) << " s";
  }
  out << "\n";
  std::snprintf(line, sizeof(line), "%-8s %10s %10s %8s %7s %11s %9s %9s %9s %9s %9s\n", "op",
                "count", "ok", "refused", "errors", "per s", "p50 ms", "p90 ms", "p99 ms",
                "p99.9 ms", "max ms");
  out << line;
  LatencyHistogram all;
  OpSummary total;
  auto row = [&](const char* name, const OpSummary& s, const LatencyHistogram& h) {
    std::snprintf(
        line, sizeof(line), "%-8s %10llu %10llu %8llu %7llu %11.0f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
        name, static_cast<unsigned long long>(s.total()), static_cast<unsigned long long>(s.ok),
        static_cast<unsigned long long>(s.refused), static_cast<unsigned long long>(s.errors),
        s.total() / std::max(report.elapsed_s, 1e-9), h.Percentile(50) / 1e3,
        h.Percentile(90) / 1e3, h.Percentile(99) / 1e3, h.Percentile(99.9) / 1e3, h.max() / 1e3);
    out << line;
  };
  for (const auto& [op, s] : report.operations) {
    row(OpName(op), s, s.latency_us);
    all.Merge(s.latency_us);
    total.ok += s.ok;
    total.refused += s.refused;
    total.errors += s.errors;
  }
  row("total", total, all);
  if (report.scenario == "flash-sale") {
    const FlashSaleFigures& f = report.flash;
    out << "\nusers " << f.users << ", seats " << f.seats << ": "
        << (f.sell_out_ms >= 0 ? "sold out in " + Fixed(f.sell_out_ms, 0) + " ms"
                               : "not sold out (last sale at " + Fixed(f.last_sale_ms, 0) + " ms)")
        << "\nadmitted " << f.admitted << ", in entry order " << f.admitted_in_order << " ("
        << Fixed(f.in_order_share * 100, 2) << "%)"
        << "\npaid " << f.paid_users << " users / " << f.seats_paid << " seats; abandoned "
        << f.abandoned << "; late payers refused " << f.late_refused << ", accepted " << f.late_paid
        << "; left with no seat free " << f.sold_out_left << "; unfinished " << f.unfinished
        << "\n";
  }
  if (report.open_loop_skipped > 0) {
    out << "open loop: " << report.open_loop_skipped
        << " requests skipped (every user of their connection was busy): raise --depth\n";
  }
  if (report.server_lost) {
    out << "\ncheck: skipped, the server went away mid-run (" << report.server_lost_reason << ")\n";
    return;
  }
  out << "\ncheck: " << report.expected.seats_paid.size() << " schedules, "
      << report.expected.balances.size() - report.expected.uncertain.size() << " balances checked ("
      << report.expected.uncertain.size()
      << " uncertain, skipped): " << (report.breaches.empty() ? "all invariants hold" : "BREACH")
      << "\n";
  for (size_t i = 0; i < report.breaches.size() && i < kBreachLinesMax; ++i) {
    out << "  " << report.breaches[i] << "\n";
  }
  if (report.breaches.size() > kBreachLinesMax) {
    out << "  ... and " << report.breaches.size() - kBreachLinesMax << " more\n";
  }
}

}  // namespace encore::load
