// Builders of the engine's commands: one function per command type that sets
// exactly the fields the command reads (command.h), so callers do not fill
// the struct by hand. Header-only, no allocation.
#ifndef ENCORE_COMMANDS_H_
#define ENCORE_COMMANDS_H_

#include <algorithm>
#include <cstring>
#include <span>
#include <string_view>

#include "encore/command.h"

namespace encore {

// REQUIRES: title is 1 .. kTitleBytesMax bytes (longer is cut).
inline Command MakeCreateConcert(ConcertId concert, std::string_view title, RequestKey key) {
  Command command;
  command.type = CommandType::kCreateConcert;
  command.concert = concert;
  command.request_key = key;
  std::memcpy(command.title.data(), title.data(), std::min<size_t>(title.size(), kTitleBytesMax));
  return command;
}

inline Command MakeCreateSchedule(const ScheduleConfig& config, RequestKey key) {
  Command command;
  command.type = CommandType::kCreateSchedule;
  command.schedule = config.schedule;
  command.schedule_config = config;
  command.request_key = key;
  return command;
}

inline Command MakeSetAdmissionPolicy(ScheduleId schedule, const AdmissionPolicy& policy,
                                      RequestKey key) {
  Command command;
  command.type = CommandType::kSetAdmissionPolicy;
  command.schedule = schedule;
  command.policy = policy;
  command.request_key = key;
  return command;
}

inline Command MakeEnterQueue(ScheduleId schedule, UserId user, RequestKey key) {
  Command command;
  command.type = CommandType::kEnterQueue;
  command.schedule = schedule;
  command.user = user;
  command.request_key = key;
  return command;
}

// A poll and heartbeat: no request key.
inline Command MakeQueueStatus(ScheduleId schedule, UserId user, const QueueToken& token) {
  Command command;
  command.type = CommandType::kQueueStatus;
  command.schedule = schedule;
  command.user = user;
  command.token = token;
  return command;
}

inline Command MakeLeaveQueue(ScheduleId schedule, UserId user, const QueueToken& token,
                              RequestKey key) {
  Command command = MakeQueueStatus(schedule, user, token);
  command.type = CommandType::kLeaveQueue;
  command.request_key = key;
  return command;
}

// More than kHoldSeatsMax seats are cut, and the seat count says how many
// were asked (so the engine answers INVALID_SEAT_COUNT).
inline Command MakeHoldSeats(ScheduleId schedule, UserId user, const QueueToken& token,
                             std::span<const SeatIndex> seats, RequestKey key) {
  Command command;
  command.type = CommandType::kHoldSeats;
  command.schedule = schedule;
  command.user = user;
  command.token = token;
  command.request_key = key;
  command.seat_count = static_cast<uint8_t>(std::min<size_t>(seats.size(), 255));
  std::copy_n(seats.begin(), std::min<size_t>(seats.size(), kHoldSeatsMax), command.seats.begin());
  return command;
}

// Proven by the holder's queue token (ACTIVE, as PAY needs it).
inline Command MakeReleaseHold(ScheduleId schedule, UserId user, const QueueToken& token,
                               HoldId hold, RequestKey key) {
  Command command;
  command.type = CommandType::kReleaseHold;
  command.schedule = schedule;
  command.user = user;
  command.token = token;
  command.hold = hold;
  command.request_key = key;
  return command;
}

// Proven by the hold's proof (HoldSeats' reply), which outlives the token.
inline Command MakeReleaseHoldWithProof(ScheduleId schedule, UserId user, HoldId hold,
                                        HoldProof proof, RequestKey key) {
  Command command = MakeReleaseHold(schedule, user, QueueToken{}, hold, key);
  command.hold_proof = proof;
  return command;
}

inline Command MakePay(ScheduleId schedule, UserId user, const QueueToken& token, HoldId hold,
                       RequestKey key) {
  Command command;
  command.type = CommandType::kPay;
  command.schedule = schedule;
  command.user = user;
  command.token = token;
  command.hold = hold;
  command.request_key = key;
  return command;
}

inline Command MakeCharge(UserId user, Points amount, RequestKey key) {
  Command command;
  command.type = CommandType::kCharge;
  command.user = user;
  command.amount = amount;
  command.request_key = key;
  return command;
}

// A read: no request key.
inline Command MakeBalance(UserId user) {
  Command command;
  command.type = CommandType::kBalance;
  command.user = user;
  return command;
}

}  // namespace encore

#endif  // ENCORE_COMMANDS_H_
