// The end-of-run check: the server's state against what encore-load saw
// acknowledged, read over the admin listener.
//
// Thread safety: runs on the calling thread (the client starts its own reader).
#ifndef ENCORE_TOOLS_LOAD_SERVER_CHECK_H_
#define ENCORE_TOOLS_LOAD_SERVER_CHECK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "encore/net/client.h"
#include "expectations.h"
#include "options.h"

namespace encore::load {

// A connection to the admin listener (options.host, options.admin_port).
absl::StatusOr<std::unique_ptr<net::Client>> ConnectAdmin(const LoadOptions& options,
                                                          const std::string& client_name);

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

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_SERVER_CHECK_H_
