// The JSON result (see json_report.h). Written by hand, not with a JSON
// library: the numbers keep their fixed decimals ("per_s":1234.5), which
// bench/compare-redis.sh and the tests read as they are.
#include "json_report.h"

#include <algorithm>
#include <sstream>

namespace encore::load {
namespace {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string ReportJson(const LoadOptions& options, const LoadReport& report) {
  std::ostringstream out;
  out << "{\"scenario\":" << JsonString(report.scenario);
  if (!report.mix.empty()) out << ",\"mix\":" << JsonString(report.mix);
  out << ",\"run_id\":" << report.run_id << ",\"seed\":" << report.seed
      << ",\"host\":" << JsonString(options.host) << ",\"port\":" << options.port
      << ",\"connections\":" << options.connections << ",\"depth\":" << options.depth
      << ",\"rate\":" << Fixed(options.rate, 1) << ",\"elapsed_s\":" << Fixed(report.elapsed_s, 3)
      << ",\"setup_s\":" << Fixed(report.setup_s, 3);
  uint64_t total = 0;
  LatencyHistogram all;
  out << ",\"operations\":{";
  bool first = true;
  for (const auto& [op, s] : report.operations) {
    total += s.total();
    all.Merge(s.latency_us);
    out << (first ? "" : ",") << JsonString(OpName(op)) << ":{\"count\":" << s.total()
        << ",\"ok\":" << s.ok << ",\"refused\":" << s.refused << ",\"errors\":" << s.errors
        << ",\"per_s\":" << Fixed(s.total() / std::max(report.elapsed_s, 1e-9), 1)
        << ",\"p50_us\":" << s.latency_us.Percentile(50)
        << ",\"p90_us\":" << s.latency_us.Percentile(90)
        << ",\"p99_us\":" << s.latency_us.Percentile(99)
        << ",\"p999_us\":" << s.latency_us.Percentile(99.9) << ",\"max_us\":" << s.latency_us.max()
        << "}";
    first = false;
  }
  out << "},\"total\":{\"count\":" << total
      << ",\"per_s\":" << Fixed(total / std::max(report.elapsed_s, 1e-9), 1)
      << ",\"p50_us\":" << all.Percentile(50) << ",\"p90_us\":" << all.Percentile(90)
      << ",\"p99_us\":" << all.Percentile(99) << ",\"p999_us\":" << all.Percentile(99.9)
      << ",\"max_us\":" << all.max() << "}";
  out << ",\"timeline\":[";
  for (size_t i = 0; i < report.timeline.size(); ++i) {
    const SecondSample& s = report.timeline[i];
    out << (i == 0 ? "" : ",") << "{\"at_s\":" << Fixed(s.at_s, 3) << ",\"requests\":" << s.requests
        << ",\"errors\":" << s.errors << ",\"p99_us\":" << s.p99_us << "}";
  }
  out << "]";
  if (report.scenario == "flash-sale") {
    const FlashSaleFigures& f = report.flash;
    out << ",\"flash_sale\":{\"users\":" << f.users << ",\"seats\":" << f.seats
        << ",\"sell_out_ms\":" << Fixed(f.sell_out_ms, 1)
        << ",\"last_sale_ms\":" << Fixed(f.last_sale_ms, 1) << ",\"admitted\":" << f.admitted
        << ",\"admitted_in_order\":" << f.admitted_in_order
        << ",\"in_order_share\":" << Fixed(f.in_order_share, 4)
        << ",\"paid_users\":" << f.paid_users << ",\"seats_paid\":" << f.seats_paid
        << ",\"abandoned\":" << f.abandoned << ",\"late_paid\":" << f.late_paid
        << ",\"late_refused\":" << f.late_refused << ",\"sold_out_left\":" << f.sold_out_left
        << ",\"unfinished\":" << f.unfinished << "}";
  }
  out << ",\"open_loop_skipped\":" << report.open_loop_skipped;
  out << ",\"check\":{\"ok\":" << (report.breaches.empty() ? "true" : "false")
      << ",\"users_checked\":" << report.expected.balances.size() - report.expected.uncertain.size()
      << ",\"users_uncertain\":" << report.expected.uncertain.size() << ",\"breaches\":[";
  for (size_t i = 0; i < report.breaches.size(); ++i) {
    out << (i == 0 ? "" : ",") << JsonString(report.breaches[i]);
  }
  out << "]}}\n";
  return out.str();
}

}  // namespace encore::load
