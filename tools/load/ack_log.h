// The acknowledgement log of encore-load (--ack-log FILE), and its check
// against a server (`encore-load verify --ack-log FILE`).
//
// While a run goes, AckLog appends one line per state-changing reply the tool
// was given, and flushes it to the kernel at once: when the server is killed
// mid-run, the file holds everything the client had been told. Lines are
// `word key=value ...`:
//
//   run run=R concert=C schedules=S1,S2          a run starts (catalog made)
//   charge OK run=R user=U key=K amount=A        an acknowledged charge
//   hold OK run=R schedule=S user=U key=K hold=H seats=1,2
//   pay OK run=R schedule=S user=U key=K hold=H amount=A
//   pay HOLD_EXPIRED run=R ... amount=0          a payment refused (no effect)
//   uncertain run=R user=U                       a mutating request without
//                                                an answer (its effect unknown)
//
// Many runs (rounds of a kill -9 loop) may append to one file. VerifyAckLog
// reads it all and checks a (restarted) server against it: every acked charge
// and payment is in the user's ledger, every acked payment's seats are SOLD,
// no refused payment took effect, and then load.h's CheckServerState with the
// expectations this gives (seats sold == seats of the payments in the
// ledgers == SOLD in the seat map; balances == acked charges - acked payments,
// or for a user with an uncertain request, == the sum of their ledger).
//
// Thread safety: AckLog's writers may be called from any thread.
#ifndef ENCORE_TOOLS_LOAD_ACK_LOG_H_
#define ENCORE_TOOLS_LOAD_ACK_LOG_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "encore/result_code.h"
#include "encore/types.h"

namespace encore::load {

struct LoadOptions;

class AckLog {
 public:
  // Opens `path` for appending (created if missing).
  static absl::StatusOr<std::unique_ptr<AckLog>> Open(const std::string& path);
  ~AckLog();
  AckLog(const AckLog&) = delete;
  AckLog& operator=(const AckLog&) = delete;

  void Run(uint64_t run, ConcertId concert, const std::vector<ScheduleId>& schedules);
  void Charge(uint64_t run, UserId user, RequestKey key, Points amount);
  void Hold(uint64_t run, ScheduleId schedule, UserId user, RequestKey key, HoldId hold,
            std::span<const SeatIndex> seats);
  // `code`: OK, or a business refusal (an error is Uncertain instead).
  void Pay(uint64_t run, ScheduleId schedule, UserId user, RequestKey key, HoldId hold,
           ResultCode code, Points amount);
  void Uncertain(uint64_t run, UserId user);

  // False once a line could not be written (the run reports it).
  bool ok() const;

 private:
  explicit AckLog(std::FILE* file) : file_(file) {}
  void Write(const std::string& line);

  mutable std::mutex mutex_;
  std::FILE* file_;  // Under mutex_.
  bool ok_ = true;   // Under mutex_.
};

struct VerifyReport {
  uint64_t runs = 0;
  uint64_t users = 0;
  uint64_t uncertain_users = 0;
  uint64_t charges_checked = 0;       // Acked charges found in the ledgers.
  uint64_t payments_checked = 0;      // Acked payments found, seats SOLD.
  uint64_t refusals_checked = 0;      // Refused payments that took no effect.
  uint64_t seats_sold = 0;            // Over the runs' schedules.
  std::vector<std::string> breaches;  // Empty: nothing acknowledged was lost.
  uint64_t acks() const { return charges_checked + payments_checked + refusals_checked; }
};

// Reads the log at `path` and checks the server named by `options` (host,
// admin port) against it. InvalidArgument for an unreadable or malformed
// log (naming the line); Unavailable when the server cannot be reached.
absl::StatusOr<VerifyReport> VerifyAckLog(const LoadOptions& options, const std::string& path);

void PrintVerifyReport(const VerifyReport& report, std::ostream& out);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_ACK_LOG_H_
