// What encore-load does with its options (see run_command.h).
#include "run_command.h"

#include <cstdint>
#include <fstream>
#include <string>

#include "absl/status/statusor.h"
#include "ack_log_verify.h"
#include "chart.h"
#include "exit_codes.h"
#include "flash_sale.h"
#include "json_report.h"
#include "report.h"
#include "run.h"
#include "server_check.h"
#include "throughput.h"

namespace encore::load {
namespace {

int RunVerify(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  err << "encore-load verify " << options.ack_log_path << " against " << options.host << ":"
      << options.admin_port << "\n";
  absl::StatusOr<VerifyReport> report = VerifyAckLog(options, options.ack_log_path);
  if (!report.ok()) {
    err << "encore-load: " << report.status().message() << "\n";
    return kExitUsage;
  }
  PrintVerifyReport(*report, out);
  return report->breaches.empty() ? kExitOk : kExitBreach;
}

}  // namespace

int RunCommand(const LoadOptions& given, std::ostream& out, std::ostream& err) {
  if (given.scenario == "verify") return RunVerify(given, out, err);
  LoadOptions options = given;
  if (options.seed == 0) options.seed = static_cast<uint64_t>(WallMs());
  err << "encore-load " << options.scenario << " against " << options.host << ":" << options.port
      << " (admin " << options.admin_port << "), seed " << options.seed << "\n";
  absl::StatusOr<LoadReport> report =
      options.scenario == "flash-sale" ? RunFlashSale(options, err) : RunThroughput(options, err);
  if (!report.ok()) {
    err << "encore-load: " << report.status().message() << "\n";
    return kExitUsage;
  }
  if (!report->server_lost) {
    bool lost = false;
    report->breaches = CheckServerState(options, report->expected, &lost);
    // Breaches read before the connection dropped still count.
    if (lost && report->breaches.empty()) {
      report->server_lost = true;
      report->server_lost_reason = "the connection to the server was lost during the check";
    }
  }
  PrintSummary(*report, out);
  if (!options.chart_path.empty()) {
    report->chart_note = WriteChart(*report, options.chart_path);
    out << (report->chart_note.empty() ? "chart: " + options.chart_path
                                       : "chart: " + report->chart_note)
        << "\n";
  }
  if (!options.json_path.empty()) {
    std::ofstream json(options.json_path);
    json << ReportJson(options, *report);
    if (!json) err << "encore-load: cannot write " << options.json_path << "\n";
  }
  if (report->ack_log_failed) {
    err << "encore-load: cannot write the ack log " << options.ack_log_path << "\n";
    return kExitUsage;
  }
  if (report->server_lost) {
    out << "server lost mid-run: " << report->server_lost_reason << "; the check is skipped"
        << (options.ack_log_path.empty() ? ""
                                         : " (run `encore-load verify --ack-log " +
                                               options.ack_log_path + "` once the server is back)")
        << "\n";
    return kExitServerLost;
  }
  return report->breaches.empty() ? kExitOk : kExitBreach;
}

}  // namespace encore::load
