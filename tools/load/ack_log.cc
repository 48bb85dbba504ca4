// Writing the acknowledgement log (see ack_log.h).
#include "ack_log.h"

namespace encore::load {
namespace {

std::string JoinNumbers(std::span<const uint64_t> numbers) {
  std::string text;
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (i != 0) text += ',';
    text += std::to_string(numbers[i]);
  }
  return text.empty() ? "-" : text;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AckLog>> AckLog::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) return absl::InvalidArgumentError("cannot open the ack log " + path);
  return std::unique_ptr<AckLog>(new AckLog(file));
}

AckLog::~AckLog() { std::fclose(file_); }

bool AckLog::ok() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ok_;
}

void AckLog::Write(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  // One write per line, flushed at once: a kill of the server cannot leave
  // an acknowledged reply unrecorded.
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) ok_ = false;
}

void AckLog::Run(uint64_t run, ConcertId concert, const std::vector<ScheduleId>& schedules) {
  Write("run run=" + std::to_string(run) + " concert=" + std::to_string(concert) +
        " schedules=" + JoinNumbers(schedules) + "\n");
}

void AckLog::Charge(uint64_t run, UserId user, RequestKey key, Points amount) {
  Write("charge OK run=" + std::to_string(run) + " user=" + std::to_string(user) +
        " key=" + std::to_string(key) + " amount=" + std::to_string(amount) + "\n");
}

void AckLog::Hold(uint64_t run, ScheduleId schedule, UserId user, RequestKey key, HoldId hold,
                  std::span<const SeatIndex> seats) {
  const std::vector<uint64_t> numbers(seats.begin(), seats.end());
  Write("hold OK run=" + std::to_string(run) + " schedule=" + std::to_string(schedule) +
        " user=" + std::to_string(user) + " key=" + std::to_string(key) +
        " hold=" + std::to_string(hold) + " seats=" + JoinNumbers(numbers) + "\n");
}

void AckLog::Pay(uint64_t run, ScheduleId schedule, UserId user, RequestKey key, HoldId hold,
                 ResultCode code, Points amount) {
  Write("pay " + std::string(ResultCodeName(code)) + " run=" + std::to_string(run) + " schedule=" +
        std::to_string(schedule) + " user=" + std::to_string(user) + " key=" + std::to_string(key) +
        " hold=" + std::to_string(hold) + " amount=" + std::to_string(amount) + "\n");
}

void AckLog::Uncertain(uint64_t run, UserId user) {
  Write("uncertain run=" + std::to_string(run) + " user=" + std::to_string(user) + "\n");
}

}  // namespace encore::load
