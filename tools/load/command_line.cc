// The command line (see command_line.h).
#include "command_line.h"

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "exit_codes.h"
#include "flags.h"

namespace encore::load {
namespace {

constexpr char kDescription[] =
    "encore-load: drives a running Encore server (a flash sale, or a throughput mix), "
    "reports rates and latency percentiles, and checks the server's state against what "
    "it saw acknowledged.\n"
    "  encore-load <flash-sale|throughput> [options]\n"
    "  encore-load verify --ack-log FILE [--host H] [--admin-port P]";

constexpr char kFooter[] =
    R"(verify: checks a server against every run recorded in --ack-log FILE: every acked
  charge and payment is in the ledger, paid seats are SOLD, sold == paid, balances ==
  charges - payments.
throughput --mix:
  mixed      hold, release, pay, charge, status
  holds      hold and release cycles only
  pays       whole purchases: charge, enter, hold, pay, then a new user
  hold-only  every request one HOLD_SEATS of one seat (a Redis SET NX PX); set-up
             (untimed): each connection's users enter its schedules of --seats seats
             in all (default: enough for 2M holds/s for the run); once all are held,
             holds are refused SEAT_UNAVAILABLE
  pay-only   every request one PAY of a one-seat hold (a Redis payment script);
             set-up (untimed): a user per payment charges, enters and holds; --count
             payments in all (default 1000000)
  hold-only and pay-only: --hold-ttl-ms defaults to 300000, and rates and latencies
  are of the timed requests only.

Exit code: 0 the server's state matched what the tool saw, 2 usage or connection
error, 3 a breach (printed), 4 the server went away mid-run or during the check
(connection lost or UNAVAILABLE answers: the report is printed, the check skipped;
run verify later).)";

// Which options the command line gave: their defaults hang on the scenario.
struct Given {
  bool duration = false;
  bool count = false;
  bool seats = false;
  bool hold_ttl = false;
};

// The defaults that hang on the scenario and the mix.
absl::Status ApplyScenarioDefaults(const Given& given, LoadOptions* options) {
  if (options->scenario == "throughput" && !given.seats) options->seats = kThroughputSeatsDefault;
  if (options->scenario == "flash-sale" && !given.duration) {
    options->duration_s = kFlashSaleDurationDefaultS;
  }
  if (options->scenario == "throughput" && options->count != 0 && !given.duration) {
    options->duration_s = 0;
  }
  if (options->scenario == "throughput" && IsSingleOperationMix(options->mix)) {
    if (!given.hold_ttl) options->hold_ttl_ms = kSingleOperationHoldTtlMs;
    if (options->mix == "pay-only" && given.seats) {
      return absl::InvalidArgumentError(
          "--seats does not apply to --mix pay-only (a seat per payment: give --count)");
    }
    if (options->mix == "pay-only" && !given.count) options->count = kPayOnlyCountDefault;
    if (options->mix == "hold-only" && !given.seats) {
      options->seats = HoldOnlySeatsDefault(*options);
    }
  }
  return ValidateLoadOptions(*options);
}

}  // namespace

CommandLine ParseCommandLine(int argc, const char* const* argv, std::ostream& out,
                             std::ostream& err) {
  LoadOptions o;
  CLI::App app(kDescription, "encore-load");
  tools::SetUpApp(app);
  app.footer(kFooter);
  app.add_option("scenario", o.scenario, "flash-sale, throughput or verify")
      ->required()
      ->check(CLI::IsMember({"flash-sale", "throughput", "verify"}));
  app.add_option("--host", o.host, "server address")->capture_default_str();
  tools::AddNumber(app, "--port", &o.port, "client port");
  tools::AddNumber(app, "--admin-port", &o.admin_port, "admin port: setup and the final check");
  tools::AddNumber(app, "--connections", &o.connections, "connections (1 .. 256)");
  tools::AddNumber(app, "--depth", &o.depth, "requests in flight per connection (1 .. 65536)");
  CLI::Option* duration = app.add_option(
      "--duration-s", o.duration_s,
      "throughput: run time (default 10; 0 with --count: until the count); flash-sale: "
      "give up after (default 120)");
  CLI::Option* count =
      tools::AddNumber(app, "--count", &o.count, "throughput: stop after N requests (0: no limit)");
  app.add_option("--rate", o.rate, "throughput: open loop at R requests/s (0: closed loop)");
  tools::AddNumber(app, "--seed", &o.seed, "seed of the run's choices and ids (0: the clock)");
  app.add_option("--json", o.json_path, "write the result as JSON to FILE");
  app.add_option("--chart", o.chart_path, "requests/s and p99 per second to FILE.png (gnuplot)");
  app.add_option("--ack-log", o.ack_log_path,
                 "append a line per acknowledged charge, hold and payment (and per user with "
                 "a request left unanswered), flushed as it comes; verify reads it");
  bool quiet = false;
  app.add_flag("--quiet", quiet, "no progress line each second");
  tools::AddNumber(app, "--users", &o.users, "flash-sale: users");
  CLI::Option* seats = tools::AddNumber(
      app, "--seats", &o.seats,
      "flash-sale: the schedule's seats (default 100); throughput: seats of each connection's "
      "schedule (default 200000)");
  tools::AddNumber(app, "--price", &o.price, "a seat's price");
  tools::AddNumber(app, "--active-max", &o.active_max,
                   "flash-sale: ACTIVE users at once (0: no limit)");
  CLI::Option* hold_ttl =
      tools::AddNumber(app, "--hold-ttl-ms", &o.hold_ttl_ms,
                       "a hold's time to live (default 2000; hold-only, pay-only: 300000)");
  tools::AddNumber(app, "--abandon-percent", &o.abandon_percent,
                   "flash-sale: fans who walk away from their hold");
  tools::AddNumber(app, "--late-percent", &o.late_percent,
                   "flash-sale: fans who pay after it expired");
  tools::AddNumber(app, "--poll-ms", &o.poll_ms, "flash-sale: a waiting fan polls this often");
  app.add_option("--mix", o.mix, "throughput: the operations (below)")
      ->capture_default_str()
      ->check(CLI::IsMember({"mixed", "holds", "pays", "hold-only", "pay-only"}));

  CommandLine line;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return line;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return line;
  } catch (const CLI::CallForVersion& version) {
    out << version.what() << "\n";
    return line;
  } catch (const CLI::ParseError& error) {
    err << "encore-load: " << error.what() << "\nRun encore-load --help for the options.\n";
    line.exit_code = kExitUsage;
    return line;
  }
  o.progress = !quiet;
  const Given given{duration->count() > 0, count->count() > 0, seats->count() > 0,
                    hold_ttl->count() > 0};
  if (absl::Status valid = ApplyScenarioDefaults(given, &o); !valid.ok()) {
    err << "encore-load: " << valid.message() << "\nRun encore-load --help for the options.\n";
    line.exit_code = kExitUsage;
    return line;
  }
  line.options = o;
  return line;
}

}  // namespace encore::load
