// AckLog: the acknowledgement log of encore-load (--ack-log FILE). Its check
// against a server is ack_log_verify.h.
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
// Many runs (rounds of a kill -9 loop) may append to one file.
//
// Thread safety: AckLog's writers may be called from any thread.
#ifndef ENCORE_TOOLS_LOAD_ACK_LOG_H_
#define ENCORE_TOOLS_LOAD_ACK_LOG_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "encore/result_code.h"
#include "encore/types.h"

namespace encore::load {

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

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_ACK_LOG_H_
