// encore-cli: every Encore operation from a shell.
//
//   encore-cli [--host H] [--port P] [--admin] [--api-key K] [--json] <command> [args]
//
// `encore-cli --help` lists the commands, `encore-cli <command> --help` its
// arguments and flags (Specs(), Words(), CommandFlags() below).
// One result per run, as a readable line or block, or with --json as one JSON
// object with "code", "code_number" and the result's fields. Exit code: 0 when
// the result is OK, 1 for any other result code (a business refusal such as
// SEAT_UNAVAILABLE), 2 for a usage error or when the server cannot be reached.
// The arguments are checked before connecting.
#include <time.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/commands.h"
#include "encore/net/client.h"
#include "encore/net/protocol.h"
#include "encore/net/token_text.h"
#include "encore/result_code.h"
#include "flags.h"

namespace encore::cli {
namespace {

using net::DecodedResponse;
using net::RequestKind;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

constexpr int64_t kSaleDefaultMs = 3'600'000;
constexpr Points kPriceDefault = 10'000;
constexpr uint32_t kLedgerLimitDefault = 50;
constexpr size_t kSeatMapRowSeats = 50;

// --- Arguments ----------------------------------------------------------------------

// What the command line said, once CLI11 has parsed it.
struct Arguments {
  std::vector<std::string> words;            // The command and its arguments.
  std::map<std::string, std::string> flags;  // Name (no dashes) to value ("" for a switch).

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
};

template <typename Integer>
absl::StatusOr<Integer> ParseInteger(std::string_view what, std::string_view text) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(std::string(what) + " must be an integer in range; got '" +
                                      std::string(text) + "'");
  }
  return value;
}

// The words and flags a command was given, read with checks. The first
// failed read is kept; later reads return zero values.
class Reader {
 public:
  explicit Reader(const Arguments& arguments) : arguments_(arguments) {}

  template <typename Integer>
  Integer Word(size_t index, std::string_view what) {
    if (!status_.ok()) return Integer{};
    return Take(ParseInteger<Integer>(what, arguments_.words[index]));
  }
  template <typename Integer>
  Integer Flag(const std::string& name, Integer fallback) {
    auto it = arguments_.flags.find(name);
    if (!status_.ok() || it == arguments_.flags.end()) return fallback;
    return Take(ParseInteger<Integer>("--" + name, it->second));
  }
  QueueToken Token(size_t index) {
    if (!status_.ok()) return QueueToken{};
    return Take(net::ParseToken(arguments_.words[index]));
  }
  HoldProof HoldProofAt(size_t index) {
    if (!status_.ok()) return 0;
    return Take(net::ParseHoldProof(arguments_.words[index]));
  }
  void Fail(const std::string& message) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(message);
  }
  const absl::Status& status() const { return status_; }

 private:
  template <typename T>
  T Take(absl::StatusOr<T> value) {
    if (value.ok()) return *value;
    status_ = value.status();
    return T{};
  }

  const Arguments& arguments_;
  absl::Status status_;
};

// --- Plans: what to send, decided before connecting ---------------------------------

struct Plan {
  std::string name;
  RequestKind kind = RequestKind::kCommand;
  Command command;
  uint64_t ledger_before = 0;
  uint32_t ledger_limit = kLedgerLimitDefault;
  bool admin = false;  // Connect to the admin port unless --port says otherwise.
};

// A command's arguments (in order) and flags, each with its help; see Words()
// and CommandFlags().
struct CommandSpec {
  std::string_view name;
  std::string_view group;
  std::string_view help;
  std::vector<std::string_view> words;
  std::vector<std::string_view> flags;
  bool mutating;
};

const std::vector<CommandSpec>& Specs() {
  static const std::vector<CommandSpec> specs = {
      {"create-concert", "admin", "create a concert", {"concert", "title"}, {"key"}, true},
      {"create-schedule",
       "admin",
       "create a schedule of a concert; its sale opens now+X (default now) and closes Y later",
       {"concert", "schedule"},
       {"key", "seats", "price", "tiers", "opens-in-ms", "sale-ms", "hold-ttl-ms", "per-user",
        "active-max", "admit", "interval-ms"},
       true},
      {"set-policy",
       "admin",
       "set a schedule's admission policy",
       {"schedule"},
       {"key", "active-max", "admit", "interval-ms"},
       true},
      {"stats", "admin", "the server's connections, requests and shards", {}, {}, false},
      {"enter",
       "queue",
       "enter a schedule's queue (prints the token)",
       {"schedule", "user"},
       {"key"},
       true},
      {"status",
       "queue",
       "a user's place in the queue (a heartbeat)",
       {"schedule", "user", "token"},
       {},
       false},
      {"leave", "queue", "leave the queue", {"schedule", "user", "token"}, {"key"}, true},
      {"schedules", "seats", "the schedules of a concert", {"concert"}, {}, false},
      {"seatmap", "seats", "a schedule's seats", {"schedule", "user", "token"}, {}, false},
      {"hold",
       "seats",
       "hold seats (prints the hold and its proof)",
       {"schedule", "user", "token", "seat-list"},
       {"key"},
       true},
      {"release", "seats", "release a hold", {"schedule", "user", "hold", "proof"}, {"key"}, true},
      {"pay", "seats", "pay for a hold", {"schedule", "user", "token", "hold"}, {"key"}, true},
      {"charge", "balance", "add points to a user's balance", {"user", "amount"}, {"key"}, true},
      {"balance", "balance", "a user's balance", {"user"}, {}, false},
      {"ledger", "balance", "a user's ledger, newest first", {"user"}, {"before", "limit"}, false},
  };
  return specs;
}

struct Help {
  std::string_view name;
  std::string_view type;
  std::string_view text;
};

// The help of every command argument.
const std::vector<Help>& Words() {
  static const std::vector<Help> words = {
      {"concert", "ID", "concert id"},
      {"title", "TEXT", "1 to 47 bytes"},
      {"schedule", "ID", "schedule id"},
      {"user", "ID", "user id"},
      {"token", "TOKEN", "the queue token: 32 hex digits"},
      {"seat-list", "SEAT,...", "seat indexes, comma-separated"},
      {"hold", "ID", "hold id"},
      {"proof", "TOKEN|PROOF",
       "the ACTIVE token, or the hold proof (16 hex digits, printed by hold), which releases the "
       "hold also after its token has expired"},
      {"amount", "POINTS", "points to add"},
  };
  return words;
}

// The help of every command flag.
const std::vector<Help>& CommandFlags() {
  static const std::vector<Help> flags = {
      {"key", "K", "request key of this mutating command (default: random); reuse it to retry"},
      {"seats", "N", "seats of the schedule (required)"},
      {"price", "P", "the price of every seat (default 10000)"},
      {"tiers", "FIRST:PRICE,...", "price tiers by first seat, ascending from 0, at most 8"},
      {"opens-in-ms", "X", "the sale opens X ms from now (default 0)"},
      {"sale-ms", "Y", "the sale closes Y ms after it opens (default 1 hour)"},
      {"hold-ttl-ms", "T", "how long a hold lasts (default the engine's)"},
      {"per-user", "N", "seats one user may hold and buy (default the engine's)"},
      {"active-max", "N", "users shopping at once (default 0: no limit)"},
      {"admit", "N", "users admitted every --interval-ms (with it)"},
      {"interval-ms", "M", "the admission interval (with --admit)"},
      {"before", "N", "entries before this cursor (the `more:` line of the last page)"},
      {"limit", "N", "entries at most, 1 to 1000 (default 50)"},
  };
  return flags;
}

const Help& Find(const std::vector<Help>& table, std::string_view name) {
  for (const Help& help : table) {
    if (help.name == name) return help;
  }
  std::abort();  // A name in Specs() without its help: a programmer error.
}

RequestKey RandomRequestKey() {
  std::random_device device;
  RequestKey key = 0;
  while (key == 0) key = static_cast<uint64_t>(device()) << 32 | device();
  return key;
}

int64_t NowMs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

AdmissionPolicy ReadPolicy(Reader& reader, const Arguments& arguments) {
  AdmissionPolicy policy;
  policy.active_max = reader.Flag<uint32_t>("active-max", 0);
  if (arguments.Has("admit") != arguments.Has("interval-ms")) {
    reader.Fail("--admit and --interval-ms go together");
  }
  policy.admit_per_interval = reader.Flag<uint32_t>("admit", 0);
  policy.interval_ms = reader.Flag<int64_t>("interval-ms", 0);
  return policy;
}

// "first:price,first:price,...", first seats ascending from 0.
void ReadTiers(Reader& reader, const std::string& text, ScheduleConfig* config) {
  size_t start = 0;
  config->tier_count = 0;
  while (start <= text.size() && reader.status().ok()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const size_t colon = item.find(':');
    if (colon == std::string::npos || config->tier_count == kPriceTiersMax) {
      return reader.Fail("--tiers is first:price,... with at most 8 tiers; got '" + text + "'");
    }
    PriceTier& tier = config->tiers[config->tier_count++];
    auto first = ParseInteger<uint32_t>("a tier's first seat", item.substr(0, colon));
    auto price = ParseInteger<int64_t>("a tier's price", item.substr(colon + 1));
    if (!first.ok() || !price.ok()) {
      return reader.Fail(std::string((first.ok() ? price.status() : first.status()).message()));
    }
    tier.first_seat = *first;
    tier.price = *price;
    start = comma + 1;
  }
}

ScheduleConfig ReadScheduleConfig(Reader& reader, const Arguments& arguments) {
  ScheduleConfig config;
  config.concert = reader.Word<ConcertId>(1, "<concert>");
  config.schedule = reader.Word<ScheduleId>(2, "<schedule>");
  if (!arguments.Has("seats")) reader.Fail("create-schedule needs --seats N");
  config.seat_count = reader.Flag<uint32_t>("seats", 0);
  if (arguments.Has("price") && arguments.Has("tiers")) reader.Fail("give --price or --tiers");
  if (arguments.Has("tiers")) {
    ReadTiers(reader, arguments.flags.at("tiers"), &config);
  } else {
    config.tier_count = 1;
    config.tiers[0] = PriceTier{0, 0, reader.Flag<Points>("price", kPriceDefault)};
  }
  config.sale_opens_at_ms = NowMs() + reader.Flag<int64_t>("opens-in-ms", 0);
  config.sale_closes_at_ms =
      config.sale_opens_at_ms + reader.Flag<int64_t>("sale-ms", kSaleDefaultMs);
  config.performance_at_ms = config.sale_closes_at_ms;
  config.hold_ttl_ms = reader.Flag<int64_t>("hold-ttl-ms", kHoldTtlDefaultMs);
  config.seats_per_user_max = reader.Flag<uint32_t>("per-user", config.seats_per_user_max);
  config.policy = ReadPolicy(reader, arguments);
  return config;
}

std::vector<SeatIndex> ReadSeats(Reader& reader, const std::string& text) {
  std::vector<SeatIndex> seats;
  size_t start = 0;
  while (start <= text.size() && reader.status().ok() && seats.size() < 255) {
    const size_t comma = std::min(text.find(',', start), text.size());
    auto seat =
        ParseInteger<SeatIndex>("a seat", std::string_view(text).substr(start, comma - start));
    if (!seat.ok()) reader.Fail(std::string(seat.status().message()));
    seats.push_back(seat.value_or(0));
    start = comma + 1;
  }
  return seats;
}

// Fills the plan of one command from its words and flags.
void FillPlan(const std::string& name, const Arguments& a, RequestKey key, Reader& r, Plan* plan) {
  Command& c = plan->command;
  if (name == "create-concert") {
    if (a.words[2].empty() || a.words[2].size() > kTitleBytesMax)
      r.Fail("a title is 1 to 47 bytes");
    c = MakeCreateConcert(r.Word<ConcertId>(1, "<concert>"), a.words[2], key);
  } else if (name == "create-schedule") {
    c = MakeCreateSchedule(ReadScheduleConfig(r, a), key);
  } else if (name == "set-policy") {
    c = MakeSetAdmissionPolicy(r.Word<ScheduleId>(1, "<schedule>"), ReadPolicy(r, a), key);
  } else if (name == "stats") {
    plan->kind = RequestKind::kServerStats;
  } else if (name == "enter") {
    c = MakeEnterQueue(r.Word<ScheduleId>(1, "<schedule>"), r.Word<UserId>(2, "<user>"), key);
  } else if (name == "status" || name == "leave" || name == "seatmap") {
    c = MakeQueueStatus(r.Word<ScheduleId>(1, "<schedule>"), r.Word<UserId>(2, "<user>"),
                        r.Token(3));
    if (name == "leave") c = MakeLeaveQueue(c.schedule, c.user, c.token, key);
    if (name == "seatmap") plan->kind = RequestKind::kSeatMap;
  } else if (name == "schedules") {
    plan->kind = RequestKind::kListSchedules;
    c.concert = r.Word<ConcertId>(1, "<concert>");
  } else if (name == "hold") {
    const std::vector<SeatIndex> seats = ReadSeats(r, a.words[4]);
    c = MakeHoldSeats(r.Word<ScheduleId>(1, "<schedule>"), r.Word<UserId>(2, "<user>"), r.Token(3),
                      seats, key);
  } else if (name == "release") {
    const ScheduleId schedule = r.Word<ScheduleId>(1, "<schedule>");
    const UserId user = r.Word<UserId>(2, "<user>");
    const HoldId hold = r.Word<HoldId>(3, "<hold>");
    // The holder's proof: a hold proof (16 digits) or the ACTIVE token (32).
    c = a.words[4].size() == net::kHoldProofTextLength
            ? MakeReleaseHoldWithProof(schedule, user, hold, r.HoldProofAt(4), key)
            : MakeReleaseHold(schedule, user, r.Token(4), hold, key);
  } else if (name == "pay") {
    c = MakePay(r.Word<ScheduleId>(1, "<schedule>"), r.Word<UserId>(2, "<user>"), r.Token(3),
                r.Word<HoldId>(4, "<hold>"), key);
  } else if (name == "charge") {
    c = MakeCharge(r.Word<UserId>(1, "<user>"), r.Word<Points>(2, "<amount>"), key);
  } else if (name == "balance") {
    c = MakeBalance(r.Word<UserId>(1, "<user>"));
  } else if (name == "ledger") {
    plan->kind = RequestKind::kLedger;
    c.user = r.Word<UserId>(1, "<user>");
    plan->ledger_before = r.Flag<uint64_t>("before", 0);
    plan->ledger_limit = r.Flag<uint32_t>("limit", kLedgerLimitDefault);
    if (plan->ledger_limit < 1 || plan->ledger_limit > net::kLedgerPageMax) {
      r.Fail("--limit is 1 to 1000");
    }
  }
}

absl::StatusOr<Plan> MakePlan(const Arguments& arguments) {
  if (arguments.words.empty()) return absl::InvalidArgumentError("no command given");
  const std::string& name = arguments.words[0];
  const CommandSpec* spec = nullptr;
  for (const CommandSpec& candidate : Specs()) {
    if (candidate.name == name) spec = &candidate;
  }
  if (spec == nullptr) return absl::InvalidArgumentError("unknown command '" + name + "'");
  Plan plan;
  plan.name = name;
  plan.admin = spec->group == "admin";
  Reader reader(arguments);
  RequestKey key = 0;
  if (spec->mutating) {
    key = arguments.Has("key") ? reader.Flag<RequestKey>("key", 0) : RandomRequestKey();
    if (reader.status().ok() && key == 0) reader.Fail("--key must be non-zero");
  }
  FillPlan(name, arguments, key, reader, &plan);
  if (!reader.status().ok()) return reader.status();
  return plan;
}

// --- Output ----------------------------------------------------------------------------

// "2026-03-01T12:00:00.000Z"; "-" for 0.
std::string FormatTime(TimestampMs ms) {
  if (ms == 0) return "-";
  const time_t seconds = static_cast<time_t>(ms / 1000);
  tm parts{};
  gmtime_r(&seconds, &parts);
  char text[96];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

char SeatChar(SeatState state) {
  switch (state) {
    case SeatState::kAvailable:
      return '.';
    case SeatState::kHeld:
      return 'h';
    case SeatState::kSold:
      return 'X';
  }
  return '?';
}

// Builds one JSON object; nested objects and arrays through Open/Close.
class Json {
 public:
  Json() { Open('{'); }
  Json& Key(std::string_view key) {
    Separate();
    Quote(key);
    text_ += ':';
    after_key_ = true;
    return *this;
  }
  Json& Number(int64_t value) { return Raw(std::to_string(value)); }
  Json& Unsigned(uint64_t value) { return Raw(std::to_string(value)); }
  Json& Bool(bool value) { return Raw(value ? "true" : "false"); }
  Json& String(std::string_view value) {
    Separate();
    Quote(value);
    return *this;
  }
  Json& Open(char bracket) {
    Separate();
    text_ += bracket;
    first_.push_back(true);
    return *this;
  }
  Json& Close(char bracket) {
    text_ += bracket;
    first_.pop_back();
    return *this;
  }
  std::string Finish() {
    Close('}');
    return text_;
  }

 private:
  Json& Raw(const std::string& value) {
    Separate();
    text_ += value;
    return *this;
  }
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) text_ += ',';
    first_.back() = false;
  }
  void Quote(std::string_view value) {
    text_ += '"';
    for (const char c : value) {
      if (c == '"' || c == '\\') {
        text_ += '\\';
        text_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
        text_ += escaped;
      } else {
        text_ += c;
      }
    }
    text_ += '"';
  }

  std::string text_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

struct SeatCounts {
  uint64_t available = 0, held = 0, sold = 0;
};

SeatCounts CountSeats(const std::vector<SeatState>& seats) {
  SeatCounts counts;
  for (const SeatState seat : seats) {
    if (seat == SeatState::kAvailable) ++counts.available;
    if (seat == SeatState::kHeld) ++counts.held;
    if (seat == SeatState::kSold) ++counts.sold;
  }
  return counts;
}

std::string SeatString(const std::vector<SeatState>& seats) {
  std::string text(seats.size(), '.');
  for (size_t i = 0; i < seats.size(); ++i) text[i] = SeatChar(seats[i]);
  return text;
}

// Rows of 50 seats in groups of 10, each row labelled with its first seat.
void DrawSeatMap(const Plan& plan, const DecodedResponse& response, std::ostream& out) {
  const std::vector<SeatState>& seats = response.seats;
  const SeatCounts counts = CountSeats(seats);
  out << "schedule " << plan.command.schedule << ": " << seats.size() << " seats, "
      << counts.available << " available, " << counts.held << " held, " << counts.sold << " sold\n";
  const int label_width =
      static_cast<int>(std::to_string(seats.empty() ? 0 : seats.size() - 1).size());
  for (size_t row = 0; row < seats.size(); row += kSeatMapRowSeats) {
    std::string line = std::to_string(row);
    line.insert(0, static_cast<size_t>(label_width) - line.size(), ' ');
    line += ' ';
    for (size_t i = row; i < std::min(seats.size(), row + kSeatMapRowSeats); ++i) {
      if ((i - row) % 10 == 0) line += ' ';
      line += SeatChar(seats[i]);
    }
    out << line << '\n';
  }
  out << "legend: . available   h held   X sold\n";
}

void PrintSchedules(const Plan& plan, const DecodedResponse& response, std::ostream& out) {
  out << "concert " << plan.command.concert << ": " << response.schedules.size()
      << (response.schedules.size() == 1 ? " schedule\n" : " schedules\n");
  for (const ScheduleInfo& info : response.schedules) {
    out << "  schedule " << info.config.schedule << ": performance "
        << FormatTime(info.config.performance_at_ms) << ", sale "
        << FormatTime(info.config.sale_opens_at_ms) << " to "
        << FormatTime(info.config.sale_closes_at_ms) << "\n    seats " << info.config.seat_count
        << ": " << info.seats_available << " available, " << info.seats_held << " held, "
        << info.seats_sold << " sold; queue " << info.queue_waiting << " waiting, "
        << info.queue_active << " active\n";
  }
}

void PrintLedger(const Plan& plan, const DecodedResponse& response, std::ostream& out) {
  out << "user " << plan.command.user << ": " << response.ledger.size()
      << (response.ledger.size() == 1 ? " entry" : " entries") << ", newest first\n";
  for (const LedgerEntry& entry : response.ledger) {
    char line[160];
    std::snprintf(
        line, sizeof(line), "  %s  %-8s %+14lld  balance %lld", FormatTime(entry.at_ms).c_str(),
        std::string(LedgerEntryTypeName(entry.type)).c_str(), static_cast<long long>(entry.amount),
        static_cast<long long>(entry.balance_after));
    out << line;
    if (entry.schedule != 0) {
      out << "  schedule " << entry.schedule << " hold " << entry.hold << " payment "
          << entry.payment;
    }
    out << '\n';
  }
  if (response.next_before != 0) out << "more: --before " << response.next_before << '\n';
}

void PrintQueue(const Plan& plan, const Reply& reply, std::ostream& out) {
  out << "OK: user " << plan.command.user << " in the queue of schedule " << plan.command.schedule
      << ": " << QueueStateName(reply.queue_state) << ", token " << net::FormatToken(reply.token);
  if (reply.queue_state == QueueState::kWaiting) {
    out << ", position " << reply.position << ", eta "
        << (reply.eta_ms < 0 ? std::string("unknown") : std::to_string(reply.eta_ms) + " ms");
  } else if (reply.queue_state == QueueState::kActive) {
    out << ", active until " << FormatTime(reply.active_deadline_ms);
  }
  out << '\n';
}

// One line for the reply to an engine command.
void PrintCommand(const Plan& plan, const Reply& reply, std::ostream& out) {
  const Command& c = plan.command;
  switch (c.type) {
    case CommandType::kCreateConcert:
      out << "OK: concert " << c.concert << " created\n";
      return;
    case CommandType::kCreateSchedule:
      out << "OK: schedule " << c.schedule << " of concert " << c.schedule_config.concert
          << " created: " << c.schedule_config.seat_count << " seats, sale "
          << FormatTime(c.schedule_config.sale_opens_at_ms) << " to "
          << FormatTime(c.schedule_config.sale_closes_at_ms) << '\n';
      return;
    case CommandType::kSetAdmissionPolicy:
      out << "OK: policy of schedule " << c.schedule << " set: active max " << c.policy.active_max
          << ", admit " << c.policy.admit_per_interval << " per " << c.policy.interval_ms
          << " ms (0: off)\n";
      return;
    case CommandType::kEnterQueue:
    case CommandType::kQueueStatus:
    case CommandType::kLeaveQueue:
      return PrintQueue(plan, reply, out);
    case CommandType::kHoldSeats:
      out << "OK: hold " << reply.hold << " of " << static_cast<int>(reply.seat_count)
          << " seats until " << FormatTime(reply.hold_deadline_ms) << " (price " << reply.amount
          << "), proof " << net::FormatHoldProof(reply.hold_proof) << '\n';
      return;
    case CommandType::kReleaseHold:
      out << "OK: hold " << c.hold << " released\n";
      return;
    case CommandType::kPay:
      out << "OK: payment " << reply.payment << " of hold " << c.hold << ": paid " << reply.amount
          << ", balance " << reply.balance << '\n';
      return;
    case CommandType::kCharge:
      out << "OK: charged " << c.amount << " to user " << c.user << ", balance " << reply.balance
          << '\n';
      return;
    case CommandType::kBalance:
      out << "OK: user " << c.user << " has balance " << reply.balance << '\n';
      return;
  }
}

void PrintHuman(const Plan& plan, const DecodedResponse& response, std::ostream& out) {
  if (response.code != ResultCode::kOk) {
    out << ResultCodeName(response.code) << " (" << static_cast<int>(response.code) << ")"
        << (response.message.empty() ? "" : ": " + response.message) << '\n';
    return;
  }
  switch (plan.kind) {
    case RequestKind::kSeatMap:
      return DrawSeatMap(plan, response, out);
    case RequestKind::kListSchedules:
      return PrintSchedules(plan, response, out);
    case RequestKind::kLedger:
      return PrintLedger(plan, response, out);
    case RequestKind::kServerStats:
      out << "OK: " << response.stats.connections << " connections, " << response.stats.requests
          << " requests\n";
      for (const net::ShardFigures& shard : response.stats.shards) {
        out << "  shard " << shard.shard << ": last lsn " << shard.last_lsn << ", durable lsn "
            << shard.durable_lsn << ", snapshots " << shard.snapshots << '\n';
      }
      return;
    default:
      return PrintCommand(plan, response.reply, out);
  }
}

void AddReplyFields(const Plan& plan, const Reply& reply, Json& json) {
  const Command& c = plan.command;
  switch (c.type) {
    case CommandType::kCreateConcert:
      json.Key("concert").Unsigned(c.concert);
      return;
    case CommandType::kCreateSchedule:
      json.Key("concert").Unsigned(c.schedule_config.concert);
      json.Key("schedule").Unsigned(c.schedule);
      json.Key("sale_opens_at_ms").Number(c.schedule_config.sale_opens_at_ms);
      json.Key("sale_closes_at_ms").Number(c.schedule_config.sale_closes_at_ms);
      return;
    case CommandType::kSetAdmissionPolicy:
      json.Key("schedule").Unsigned(c.schedule);
      return;
    case CommandType::kEnterQueue:
    case CommandType::kQueueStatus:
    case CommandType::kLeaveQueue:
      json.Key("schedule").Unsigned(c.schedule).Key("user").Unsigned(c.user);
      json.Key("token").String(net::FormatToken(reply.token));
      json.Key("queue_state").String(QueueStateName(reply.queue_state));
      json.Key("position").Unsigned(reply.position).Key("eta_ms").Number(reply.eta_ms);
      json.Key("active_deadline_ms").Number(reply.active_deadline_ms);
      return;
    case CommandType::kHoldSeats:
      json.Key("hold").Unsigned(reply.hold).Key("seat_count").Number(reply.seat_count);
      json.Key("hold_deadline_ms").Number(reply.hold_deadline_ms);
      json.Key("hold_deadline").String(FormatTime(reply.hold_deadline_ms));
      json.Key("price").Number(reply.amount);
      json.Key("hold_proof").String(net::FormatHoldProof(reply.hold_proof));
      return;
    case CommandType::kReleaseHold:
      json.Key("hold").Unsigned(c.hold);
      return;
    case CommandType::kPay:
      json.Key("payment").Unsigned(reply.payment).Key("hold").Unsigned(c.hold);
      json.Key("amount").Number(reply.amount).Key("balance").Number(reply.balance);
      return;
    case CommandType::kCharge:
    case CommandType::kBalance:
      json.Key("user").Unsigned(c.user).Key("balance").Number(reply.balance);
      return;
  }
}

void AddReadFields(const Plan& plan, const DecodedResponse& response, Json& json) {
  if (plan.kind == RequestKind::kSeatMap) {
    const SeatCounts counts = CountSeats(response.seats);
    json.Key("schedule").Unsigned(plan.command.schedule);
    json.Key("seat_count").Unsigned(response.seats.size());
    json.Key("available").Unsigned(counts.available).Key("held").Unsigned(counts.held);
    json.Key("sold").Unsigned(counts.sold).Key("seats").String(SeatString(response.seats));
  } else if (plan.kind == RequestKind::kListSchedules) {
    json.Key("concert").Unsigned(plan.command.concert).Key("schedules").Open('[');
    for (const ScheduleInfo& info : response.schedules) {
      json.Open('{').Key("schedule").Unsigned(info.config.schedule);
      json.Key("performance_at_ms").Number(info.config.performance_at_ms);
      json.Key("sale_opens_at_ms").Number(info.config.sale_opens_at_ms);
      json.Key("sale_closes_at_ms").Number(info.config.sale_closes_at_ms);
      json.Key("seat_count").Unsigned(info.config.seat_count);
      json.Key("seats_available").Unsigned(info.seats_available);
      json.Key("seats_held").Unsigned(info.seats_held).Key("seats_sold").Unsigned(info.seats_sold);
      json.Key("queue_waiting").Unsigned(info.queue_waiting);
      json.Key("queue_active").Unsigned(info.queue_active).Close('}');
    }
    json.Close(']');
  } else if (plan.kind == RequestKind::kLedger) {
    json.Key("user").Unsigned(plan.command.user).Key("entries").Open('[');
    for (const LedgerEntry& entry : response.ledger) {
      json.Open('{').Key("type").String(LedgerEntryTypeName(entry.type));
      json.Key("amount").Number(entry.amount).Key("balance_after").Number(entry.balance_after);
      json.Key("at_ms").Number(entry.at_ms).Key("schedule").Unsigned(entry.schedule);
      json.Key("hold").Unsigned(entry.hold).Key("payment").Unsigned(entry.payment).Close('}');
    }
    json.Close(']').Key("next_before").Unsigned(response.next_before);
  } else if (plan.kind == RequestKind::kServerStats) {
    json.Key("connections").Unsigned(response.stats.connections);
    json.Key("requests").Unsigned(response.stats.requests).Key("shards").Open('[');
    for (const net::ShardFigures& shard : response.stats.shards) {
      json.Open('{').Key("shard").Unsigned(shard.shard).Key("last_lsn").Unsigned(shard.last_lsn);
      json.Key("durable_lsn").Unsigned(shard.durable_lsn);
      json.Key("snapshots").Unsigned(shard.snapshots).Close('}');
    }
    json.Close(']');
  }
}

void PrintJson(const Plan& plan, const DecodedResponse& response, std::ostream& out) {
  Json json;
  json.Key("code").String(ResultCodeName(response.code));
  json.Key("code_number").Number(static_cast<int64_t>(response.code));
  if (!response.message.empty()) json.Key("message").String(response.message);
  if (plan.command.request_key != 0) json.Key("request_key").Unsigned(plan.command.request_key);
  if (response.code == ResultCode::kOk) {
    if (plan.kind == RequestKind::kCommand) {
      AddReplyFields(plan, response.reply, json);
    } else {
      AddReadFields(plan, response, json);
    }
  }
  out << json.Finish() << '\n';
}

// --- Running -----------------------------------------------------------------------------

absl::StatusOr<DecodedResponse> Execute(net::Client& client, const Plan& plan) {
  switch (plan.kind) {
    case RequestKind::kListSchedules:
      return client.ListSchedules(plan.command.concert);
    case RequestKind::kSeatMap:
      return client.SeatMap(plan.command.schedule, plan.command.user, plan.command.token);
    case RequestKind::kLedger:
      return client.Ledger(plan.command.user, plan.ledger_before, plan.ledger_limit);
    case RequestKind::kServerStats:
      return client.ServerStats();
    default:
      return client.Call(plan.command);
  }
}

absl::StatusOr<net::ClientOptions> MakeClientOptions(const Arguments& arguments) {
  net::ClientOptions options;
  options.client_name = "encore-cli";
  const bool admin = arguments.Has("admin");
  options.port = admin ? net::kAdminPortDefault : net::kClientPortDefault;
  if (arguments.Has("host")) options.host = arguments.flags.at("host");
  if (arguments.Has("api-key")) options.api_key = arguments.flags.at("api-key");
  if (arguments.Has("port")) {
    absl::StatusOr<uint16_t> port = ParseInteger<uint16_t>("--port", arguments.flags.at("port"));
    if (!port.ok()) return port.status();
    options.port = *port;
  }
  return options;
}

int Usage(const std::string& message) {
  std::cerr << "encore-cli: " << message << "\nRun 'encore-cli --help' for usage.\n";
  return kExitUsage;
}

// The global flags, and a subcommand per command with its arguments and
// flags (Specs()), each with its help. Global flags may also follow the
// command.
void AddCommands(CLI::App& app) {
  app.require_subcommand(1);
  app.fallthrough();
  // CLI11 takes a description as a const lvalue.
  const auto add = [](CLI::App* to, const std::string& name, const std::string& type,
                      const std::string& help) {
    return to->add_option(name, help)->type_name(type);
  };
  add(&app, "--host", "H", "server address (default 127.0.0.1)");
  add(&app, "--port", "P", "server port (default 7400; with --admin 7401)");
  const std::string admin_help =
      "use the admin listener (create-concert, create-schedule, set-policy, stats)";
  app.add_flag("--admin", admin_help);
  add(&app, "--api-key", "K", "API key sent in the hello");
  const std::string json_help = "one JSON object per result";
  app.add_flag("--json", json_help);
  for (const CommandSpec& spec : Specs()) {
    CLI::App* command = app.add_subcommand(std::string(spec.name), std::string(spec.help));
    command->group(std::string(spec.group));
    for (const std::string_view word : spec.words) {
      const Help& help = Find(Words(), word);
      add(command, std::string(word), std::string(help.type), std::string(help.text))->required();
    }
    for (const std::string_view flag : spec.flags) {
      const Help& help = Find(CommandFlags(), flag);
      add(command, "--" + std::string(flag), std::string(help.type), std::string(help.text));
    }
  }
  app.footer(
      "Tokens are 32 hex digits; a hold proof (printed by hold) is 16 and releases the hold\n"
      "after its token has expired. `encore-cli COMMAND --help` shows a command's arguments.\n"
      "Exit code: 0 OK, 1 another result code, 2 usage or connection error.");
}

// The options given to `app` (switches as "") into `flags`.
void CollectFlags(const CLI::App& app, std::map<std::string, std::string>* flags) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->count() == 0 || option->get_lnames().empty() || option->get_lnames()[0] == "help") {
      continue;
    }
    const std::vector<std::string>& results = option->results();
    (*flags)[option->get_lnames()[0]] =
        option->get_expected_min() == 0 || results.empty() ? std::string() : results.back();
  }
}

absl::StatusOr<Arguments> ParseArguments(int argc, char** argv, int* exit_code) {
  CLI::App app("encore-cli: every Encore operation from a shell; one result per run.",
               "encore-cli");
  tools::SetUpApp(app);
  AddCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    *exit_code = tools::ExitParse(app, error, kExitUsage);
    return absl::CancelledError("parsed no command");
  }
  Arguments arguments;
  CollectFlags(app, &arguments.flags);
  const CLI::App* command = app.get_subcommands().front();
  arguments.words.push_back(command->get_name());
  for (const CLI::Option* option : command->get_options()) {
    if (option->get_positional()) arguments.words.push_back(option->results().front());
  }
  CollectFlags(*command, &arguments.flags);
  return arguments;
}

int Run(int argc, char** argv) {
  int exit_code = kExitOk;
  absl::StatusOr<Arguments> arguments = ParseArguments(argc, argv, &exit_code);
  if (!arguments.ok()) return exit_code;
  absl::StatusOr<Plan> plan = MakePlan(*arguments);
  if (!plan.ok()) return Usage(std::string(plan.status().message()));
  absl::StatusOr<net::ClientOptions> options = MakeClientOptions(*arguments);
  if (!options.ok()) return Usage(std::string(options.status().message()));
  absl::StatusOr<std::unique_ptr<net::Client>> client = net::Client::Connect(*options);
  if (!client.ok()) {
    std::cerr << "encore-cli: " << client.status().message() << '\n';
    return kExitUsage;
  }
  absl::StatusOr<DecodedResponse> response = Execute(**client, *plan);
  if (!response.ok()) {
    std::cerr << "encore-cli: " << response.status().message();
    if (plan->command.request_key != 0) {
      std::cerr << " (the outcome is unknown: retry with --key " << plan->command.request_key
                << ')';
    }
    std::cerr << '\n';
    return kExitUsage;
  }
  if (arguments->Has("json")) {
    PrintJson(*plan, *response, std::cout);
  } else {
    PrintHuman(*plan, *response, std::cout);
  }
  if (response->code == ResultCode::kUnauthorized && plan->admin && !arguments->Has("admin")) {
    std::cerr << "encore-cli: " << plan->name
              << " is an admin operation: use --admin (port 7401) or the admin --api-key\n";
  }
  return response->code == ResultCode::kOk ? kExitOk : kExitRefused;
}

}  // namespace
}  // namespace encore::cli

int main(int argc, char** argv) { return encore::cli::Run(argc, argv); }
