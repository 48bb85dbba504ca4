// The check of a server against an ack log (`encore-load verify --ack-log
// FILE`; the log's lines are in ack_log.h).
//
// VerifyAckLog reads the whole log (every run appended to it) and checks a
// (restarted) server against it: every acked charge and payment is in the
// user's ledger, every acked payment's seats are SOLD, no refused payment
// took effect, and then server_check.h's CheckServerState with the
// expectations this gives (seats sold == seats of the payments in the
// ledgers == SOLD in the seat map; balances == acked charges - acked
// payments, or for a user with an uncertain request, == the sum of their
// ledger).
//
// Thread safety: runs on the calling thread.
#ifndef ENCORE_TOOLS_LOAD_ACK_LOG_VERIFY_H_
#define ENCORE_TOOLS_LOAD_ACK_LOG_VERIFY_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "options.h"

namespace encore::load {

struct VerifyReport {
  uint64_t runs = 0;
  uint64_t users = 0;
  uint64_t uncertain_users = 0;
  uint64_t charges_checked = 0;   // Acked charges found in the ledgers.
  uint64_t payments_checked = 0;  // Acked payments found, seats SOLD.
  uint64_t refusals_checked = 0;  // Refused payments that took no effect.
  // Acked charges and payments older than what a full ledger keeps (the
  // server forgets an account's oldest entries): checked by the balance only.
  uint64_t acks_past_ledger = 0;
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

#endif  // ENCORE_TOOLS_LOAD_ACK_LOG_VERIFY_H_
