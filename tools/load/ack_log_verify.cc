// Reading the acknowledgement log, and its check against a server (see
// ack_log_verify.h).
#include "ack_log_verify.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "completions.h"
#include "encore/commands.h"
#include "encore/core.h"
#include "encore/net/client.h"
#include "encore/net/protocol.h"
#include "expectations.h"
#include "server_check.h"

namespace encore::load {
namespace {

// Ledger pages read for one user before the check gives up on them.
constexpr int kLedgerPagesMax = 1000;

// --- Reading the log --------------------------------------------------------------

struct PayLine {
  ScheduleId schedule = 0;
  HoldId hold = 0;
  RequestKey key = 0;
  bool ok = false;
  std::string code;
  Points amount = 0;
};

struct UserLog {
  std::vector<std::pair<RequestKey, Points>> charges;
  std::vector<PayLine> pays;
  bool uncertain = false;
};

struct HoldLine {
  UserId user = 0;
  std::vector<SeatIndex> seats;
};

struct RunLog {
  ConcertId concert = 0;
  std::vector<ScheduleId> schedules;
  std::map<UserId, UserLog> users;
  std::map<std::pair<ScheduleId, HoldId>, HoldLine> holds;
};

// One line's `key=value` words.
class Fields {
 public:
  explicit Fields(const std::vector<std::string>& words) {
    for (const std::string& word : words) {
      const size_t equals = word.find('=');
      if (equals != std::string::npos) values_[word.substr(0, equals)] = word.substr(equals + 1);
    }
  }
  template <typename Number>
  bool Get(const std::string& name, Number* out) const {
    const auto found = values_.find(name);
    if (found == values_.end()) return false;
    const std::string& text = found->second;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return error == std::errc() && end == text.data() + text.size();
  }
  template <typename Number>
  bool GetList(const std::string& name, std::vector<Number>* out) const {
    const auto found = values_.find(name);
    if (found == values_.end()) return false;
    if (found->second == "-") return true;
    std::stringstream list(found->second);
    std::string item;
    while (std::getline(list, item, ',')) {
      Number number{};
      const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), number);
      if (error != std::errc() || end != item.data() + item.size()) return false;
      out->push_back(number);
    }
    return true;
  }

 private:
  std::map<std::string, std::string> values_;
};

// Adds one line to `runs`; false if it is malformed.
bool ParseLine(const std::string& line, std::map<uint64_t, RunLog>* runs) {
  std::vector<std::string> words;
  std::stringstream stream(line);
  for (std::string word; stream >> word;) words.push_back(word);
  if (words.empty()) return true;
  const Fields fields(words);
  uint64_t run = 0;
  if (!fields.Get("run", &run)) return false;
  RunLog& log = (*runs)[run];
  const std::string& type = words[0];
  const std::string code = words.size() > 1 ? words[1] : "";
  UserId user = 0;
  if (type == "run") {
    return fields.Get("concert", &log.concert) && fields.GetList("schedules", &log.schedules);
  }
  if (!fields.Get("user", &user)) return false;
  UserLog& user_log = log.users[user];
  if (type == "uncertain") {
    user_log.uncertain = true;
    return true;
  }
  RequestKey key = 0;
  if (!fields.Get("key", &key)) return false;
  if (type == "charge" && code == "OK") {
    Points amount = 0;
    if (!fields.Get("amount", &amount)) return false;
    user_log.charges.emplace_back(key, amount);
    return true;
  }
  ScheduleId schedule = 0;
  HoldId hold = 0;
  if (!fields.Get("schedule", &schedule) || !fields.Get("hold", &hold)) return false;
  if (type == "hold" && code == "OK") {
    HoldLine& held = log.holds[{schedule, hold}];
    held.user = user;
    return fields.GetList("seats", &held.seats);
  }
  if (type == "pay") {
    PayLine pay{schedule, hold, key, code == "OK", code, 0};
    if (!fields.Get("amount", &pay.amount)) return false;
    user_log.pays.push_back(pay);
    return true;
  }
  return false;
}

absl::StatusOr<std::map<uint64_t, RunLog>> ReadLog(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::InvalidArgumentError("cannot read the ack log " + path);
  std::stringstream whole;
  whole << file.rdbuf();
  const std::string text = whole.str();
  std::map<uint64_t, RunLog> runs;
  size_t start = 0;
  for (int number = 1; start < text.size(); ++number) {
    const size_t end = text.find('\n', start);
    // A last line without its newline was cut by a kill of the tool itself:
    // the tool had not finished recording it, so it is not held against the server.
    if (end == std::string::npos) break;
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!ParseLine(line, &runs)) {
      return absl::InvalidArgumentError(path + ":" + std::to_string(number) +
                                        ": not an ack log line: \"" + line + "\"");
    }
  }
  for (const auto& [run, log] : runs) {
    if (log.concert == 0) {
      return absl::InvalidArgumentError(path + ": run " + std::to_string(run) +
                                        " has acks but no `run` line");
    }
  }
  return runs;
}

// --- Reading the server -----------------------------------------------------------

// Every user's whole ledger (newest first); a user whose ledger could not be
// read is missing, with the reason in *errors.
std::map<UserId, std::vector<LedgerEntry>> ReadLedgers(net::Client& admin,
                                                       const std::vector<UserId>& users,
                                                       std::vector<std::string>* errors) {
  std::mutex mutex;
  std::map<UserId, std::vector<LedgerEntry>> ledgers;
  std::map<UserId, uint64_t> more;  // Users with a second page to read.
  Completions completions;
  for (UserId user : users) {
    completions.Add();
    admin.SendLedger(user, 0, net::kLedgerPageMax, [&, user](const net::DecodedResponse& r) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (r.code != ResultCode::kOk) {
          errors->push_back("user " + std::to_string(user) + ": Ledger answered " +
                            std::string(ResultCodeName(r.code)));
        } else {
          ledgers[user] = r.ledger;
          if (r.next_before != 0) more[user] = r.next_before;
        }
      }
      completions.Done();
    });
  }
  // Every callback has run (they write the maps above) before they are read:
  // in_flight() == 0 comes just before the last callback, not after it.
  if (!completions.Wait(kRepliesWaitMax)) admin.Close();
  for (auto& [user, before] : more) {  // Rare: over kLedgerPageMax entries.
    for (int page = 0; before != 0 && page < kLedgerPagesMax; ++page) {
      absl::StatusOr<net::DecodedResponse> r = admin.Ledger(user, before, net::kLedgerPageMax);
      if (!r.ok() || r->code != ResultCode::kOk) {
        errors->push_back("user " + std::to_string(user) + ": cannot read the ledger's rest");
        break;
      }
      ledgers[user].insert(ledgers[user].end(), r->ledger.begin(), r->ledger.end());
      before = r->next_before;
    }
  }
  return ledgers;
}

// --- The check of one run -----------------------------------------------------------

class RunCheck {
 public:
  RunCheck(uint64_t run, const RunLog& log, VerifyReport* report)
      : run_(run), log_(log), report_(*report) {}

  void Check(const LoadOptions& options, net::Client& admin) {
    std::vector<UserId> users;
    for (const auto& [user, user_log] : log_.users) users.push_back(user);
    std::vector<std::string> errors;
    const std::map<UserId, std::vector<LedgerEntry>> ledgers = ReadLedgers(admin, users, &errors);
    for (const std::string& error : errors) Breach(error);
    Expectations expected;
    expected.concert = log_.concert;
    for (ScheduleId schedule : log_.schedules) expected.seats_paid[schedule] = 0;
    for (const auto& [user, user_log] : log_.users) {
      ++report_.users;
      if (user_log.uncertain) ++report_.uncertain_users;
      const auto ledger = ledgers.find(user);
      if (ledger == ledgers.end()) continue;
      CheckUser(user, user_log, ledger->second, &expected);
    }
    CheckSeatsSold(admin);
    for (const auto& [schedule, seats] : expected.seats_paid) report_.seats_sold += seats;
    for (std::string& breach : CheckServerState(options, expected)) Breach(breach);
  }

 private:
  void Breach(const std::string& text) {
    report_.breaches.push_back("run " + std::to_string(run_) + ": " + text);
  }

  void CheckUser(UserId user, const UserLog& user_log, const std::vector<LedgerEntry>& ledger,
                 Expectations* expected) {
    const std::string who = "user " + std::to_string(user);
    // The server keeps an account's newest entries only: a ledger that did
    // not start from a zero balance, or one as long as the server keeps by
    // default, may have forgotten older ones. An acknowledged entry missing
    // from it is then checked by the balance (kept exactly, apart from the
    // ledger), not one by one.
    const Points balance_before_kept =
        ledger.empty() ? 0 : ledger.back().balance_after - ledger.back().amount;
    const bool may_have_forgotten =
        balance_before_kept != 0 || ledger.size() >= net::kLedgerPageMax;
    std::multiset<Points> charged;
    Points ledger_sum = 0;
    for (const LedgerEntry& entry : ledger) {
      ledger_sum += entry.amount;
      if (entry.type == LedgerEntryType::kCharge) charged.insert(entry.amount);
      if (entry.type == LedgerEntryType::kPayment) CountPayment(who, user, entry, expected);
    }
    Points acked_sum = 0;
    for (const auto& [key, amount] : user_log.charges) {
      acked_sum += amount;
      const auto found = charged.find(amount);
      if (found == charged.end() && may_have_forgotten) {
        ++report_.acks_past_ledger;
        continue;
      }
      if (found == charged.end()) {
        Breach(who + ": the acknowledged charge of " + std::to_string(amount) + " (key " +
               std::to_string(key) + ") is not in the ledger: LOST");
        continue;
      }
      charged.erase(found);
      ++report_.charges_checked;
    }
    for (const PayLine& pay : user_log.pays) {
      const bool in_ledger = std::any_of(ledger.begin(), ledger.end(), [&](const LedgerEntry& e) {
        return e.type == LedgerEntryType::kPayment && e.schedule == pay.schedule &&
               e.hold == pay.hold && (!pay.ok || e.amount == -pay.amount);
      });
      const std::string what = "payment of hold " + std::to_string(pay.hold) + " (schedule " +
                               std::to_string(pay.schedule) + ", key " + std::to_string(pay.key);
      if (pay.ok && !in_ledger && may_have_forgotten) {
        ++report_.acks_past_ledger;
      } else if (pay.ok && !in_ledger) {
        Breach(who + ": the acknowledged " + what + ", " + std::to_string(pay.amount) +
               " points) is not in the ledger: LOST");
      } else if (!pay.ok && in_ledger) {
        Breach(who + ": the " + what + ") was answered " + pay.code +
               " but the ledger shows it paid");
      } else {
        ++(pay.ok ? report_.payments_checked : report_.refusals_checked);
      }
      if (pay.ok) acked_sum -= pay.amount;
    }
    // A user with a request in doubt: what the server holds must at least be
    // consistent (balance == the sum of the ledger, from the balance before
    // its oldest kept entry); else exactly what was acked.
    expected->balances[user] = user_log.uncertain ? balance_before_kept + ledger_sum : acked_sum;
  }

  // A payment in the ledger: its seats count as paid (sold == paid).
  void CountPayment(const std::string& who, UserId user, const LedgerEntry& entry,
                    Expectations* expected) {
    if (expected->seats_paid.count(entry.schedule) == 0) return;  // Another run's schedule.
    const auto hold = log_.holds.find({entry.schedule, entry.hold});
    if (hold == log_.holds.end() || hold->second.user != user) {
      Breach(who + ": the ledger shows a payment of hold " + std::to_string(entry.hold) +
             " on schedule " + std::to_string(entry.schedule) +
             " that the tool never held for this user");
      return;
    }
    expected->seats_paid[entry.schedule] += hold->second.seats.size();
  }

  // Every acknowledged payment's seats are SOLD.
  void CheckSeatsSold(net::Client& admin) {
    std::map<ScheduleId, std::vector<SeatState>> maps;
    for (const auto& [user, user_log] : log_.users) {
      for (const PayLine& pay : user_log.pays) {
        if (!pay.ok) continue;
        if (maps.count(pay.schedule) == 0) {
          absl::StatusOr<net::DecodedResponse> map = admin.SeatMap(pay.schedule, 0, QueueToken{});
          if (!map.ok() || map->code != ResultCode::kOk) {
            Breach("schedule " + std::to_string(pay.schedule) + ": cannot read the seat map");
            maps[pay.schedule] = {};
          } else {
            maps[pay.schedule] = map->seats;
          }
        }
        const std::vector<SeatState>& seats = maps[pay.schedule];
        const auto hold = log_.holds.find({pay.schedule, pay.hold});
        if (hold == log_.holds.end()) {
          Breach("user " + std::to_string(user) + ": paid hold " + std::to_string(pay.hold) +
                 " has no `hold` line in the log");
          continue;
        }
        for (SeatIndex seat : hold->second.seats) {
          if (seat >= seats.size() || seats[seat] != SeatState::kSold) {
            Breach("schedule " + std::to_string(pay.schedule) + ": seat " + std::to_string(seat) +
                   " of the acknowledged payment of hold " + std::to_string(pay.hold) + " (user " +
                   std::to_string(user) + ") is not SOLD: LOST");
          }
        }
      }
    }
  }

  const uint64_t run_;
  const RunLog& log_;
  VerifyReport& report_;
};

}  // namespace

// --- Verifying ----------------------------------------------------------------------

absl::StatusOr<VerifyReport> VerifyAckLog(const LoadOptions& options, const std::string& path) {
  absl::StatusOr<std::map<uint64_t, RunLog>> runs = ReadLog(path);
  if (!runs.ok()) return runs.status();
  absl::StatusOr<std::unique_ptr<net::Client>> admin = ConnectAdmin(options, "encore-load-verify");
  if (!admin.ok()) return admin.status();
  VerifyReport report;
  for (const auto& [run, log] : *runs) {
    ++report.runs;
    RunCheck(run, log, &report).Check(options, **admin);
  }
  return report;
}

void PrintVerifyReport(const VerifyReport& report, std::ostream& out) {
  out << "verify: " << report.runs << " runs, " << report.users << " users ("
      << report.uncertain_users << " with a request in doubt), acks checked " << report.acks()
      << " (charges " << report.charges_checked << ", payments " << report.payments_checked
      << ", refused payments " << report.refusals_checked << ")";
  if (report.acks_past_ledger != 0) {
    out << ", " << report.acks_past_ledger << " older than the kept ledgers (checked by balance)";
  }
  out << ", seats sold " << report.seats_sold << ": "
      << (report.breaches.empty() ? "nothing acknowledged lost, all invariants hold"
                                  : std::to_string(report.breaches.size()) + " BREACHES")
      << "\n";
  constexpr size_t kLinesMax = 20;
  for (size_t i = 0; i < report.breaches.size() && i < kLinesMax; ++i) {
    out << "  " << report.breaches[i] << "\n";
  }
  if (report.breaches.size() > kLinesMax) {
    out << "  ... and " << report.breaches.size() - kLinesMax << " more\n";
  }
}

}  // namespace encore::load
