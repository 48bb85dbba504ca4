// What the runs of every scenario share: the catalog a run sells from, its
// connections (lanes), its ack log, its id, and the report of what the lanes
// measured.
//
// Thread safety: called from the thread that runs the scenario.
#ifndef ENCORE_TOOLS_LOAD_RUN_H_
#define ENCORE_TOOLS_LOAD_RUN_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ack_log.h"
#include "encore/command.h"
#include "encore/types.h"
#include "lane.h"
#include "monitor.h"
#include "options.h"
#include "report.h"

namespace encore::load {

// Milliseconds since the epoch (the server's schedules are in wall time).
int64_t WallMs();

// The run's id: 31 bits, non-zero, from --seed (or the clock), the time and
// the process id, so runs against one server do not collide (run_ids.h).
uint64_t RunIdOf(const LoadOptions& options);

// Creates the run's concert and its schedules, open for sale now, over the
// admin listener.
absl::Status CreateCatalog(const LoadOptions& options, ConcertId concert,
                           const std::vector<ScheduleId>& schedules, uint32_t seats,
                           uint32_t per_user, const AdmissionPolicy& policy, int64_t active_ttl_ms);

// Opens --ack-log (if given) and records the run; null without --ack-log.
// Declare it before the lanes, so it outlives their callbacks.
absl::StatusOr<std::unique_ptr<AckLog>> StartAckLog(const LoadOptions& options, uint64_t run_id,
                                                    const std::vector<ScheduleId>& schedules);

// options.connections lanes to the client listener, logging to `ack_log`
// (may be null).
absl::StatusOr<std::vector<std::unique_ptr<Lane>>> ConnectLanes(const LoadOptions& options,
                                                                AckLog* ack_log, uint64_t run_id);

// Waits until every lane's callbacks have run (at most kRepliesWaitMax each).
void WaitIdle(std::vector<std::unique_ptr<Lane>>& lanes);

// Stops the monitor and adds what the lanes measured and saw to *report:
// elapsed time, timeline, operations, expectations, and whether the server
// was lost or the ack log failed.
void FinishReport(std::vector<std::unique_ptr<Lane>>& lanes, Monitor& monitor,
                  Clock::time_point start, LoadReport* report);

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_RUN_H_
