#include "support/core_fixture.h"

#include <algorithm>
#include <cstring>

#include "gtest/gtest.h"

namespace encore {

void PrintTo(ResultCode code, std::ostream* os) {
  *os << ResultCodeName(code) << " (" << static_cast<uint32_t>(code) << ")";
}

}  // namespace encore

namespace encore::testing {

CoreOptions TestCoreOptions() {
  CoreOptions options;
  options.token_key = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  return options;
}

ScheduleConfig MakeScheduleConfig(ScheduleId schedule, uint32_t seat_count) {
  ScheduleConfig config;
  config.concert = kConcert;
  config.schedule = schedule;
  config.performance_at_ms = kSaleClosesMs + 1;
  config.sale_opens_at_ms = kSaleOpensMs;
  config.sale_closes_at_ms = kSaleClosesMs;
  config.seat_count = seat_count;
  config.seats_per_user_max = 4;
  config.tier_count = seat_count >= 2 ? 2 : 1;
  config.tiers[0] = PriceTier{0, 0, 5000};
  if (config.tier_count == 2) config.tiers[1] = PriceTier{seat_count / 2, 0, 3000};
  return config;
}

Command CreateConcertCommand(ConcertId concert, std::string_view title, RequestKey key) {
  Command command;
  command.type = CommandType::kCreateConcert;
  command.concert = concert;
  command.request_key = key;
  std::memcpy(command.title.data(), title.data(), std::min<size_t>(title.size(), kTitleBytesMax));
  return command;
}

Command CreateScheduleCommand(const ScheduleConfig& config, RequestKey key) {
  Command command;
  command.type = CommandType::kCreateSchedule;
  command.schedule = config.schedule;
  command.schedule_config = config;
  command.request_key = key;
  return command;
}

Command SetPolicyCommand(ScheduleId schedule, AdmissionPolicy policy, RequestKey key) {
  Command command;
  command.type = CommandType::kSetAdmissionPolicy;
  command.schedule = schedule;
  command.policy = policy;
  command.request_key = key;
  return command;
}

Command EnterCommand(ScheduleId schedule, UserId user, RequestKey key) {
  Command command;
  command.type = CommandType::kEnterQueue;
  command.schedule = schedule;
  command.user = user;
  command.request_key = key;
  return command;
}

Command StatusCommand(ScheduleId schedule, UserId user, QueueToken token) {
  Command command;
  command.type = CommandType::kQueueStatus;
  command.schedule = schedule;
  command.user = user;
  command.token = token;
  return command;
}

Command LeaveCommand(ScheduleId schedule, UserId user, QueueToken token, RequestKey key) {
  Command command = StatusCommand(schedule, user, token);
  command.type = CommandType::kLeaveQueue;
  command.request_key = key;
  return command;
}

Command HoldCommand(ScheduleId schedule, UserId user, QueueToken token,
                    std::initializer_list<SeatIndex> seats, RequestKey key) {
  Command command;
  command.type = CommandType::kHoldSeats;
  command.schedule = schedule;
  command.user = user;
  command.token = token;
  command.request_key = key;
  command.seat_count = static_cast<uint8_t>(seats.size());
  std::copy_n(seats.begin(), std::min<size_t>(seats.size(), kHoldSeatsMax), command.seats.begin());
  return command;
}

Command ReleaseCommand(ScheduleId schedule, UserId user, HoldId hold, RequestKey key) {
  Command command;
  command.type = CommandType::kReleaseHold;
  command.schedule = schedule;
  command.user = user;
  command.hold = hold;
  command.request_key = key;
  return command;
}

Command PayCommand(ScheduleId schedule, UserId user, QueueToken token, HoldId hold,
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

Command ChargeCommand(UserId user, Points amount, RequestKey key) {
  Command command;
  command.type = CommandType::kCharge;
  command.user = user;
  command.amount = amount;
  command.request_key = key;
  return command;
}

Command BalanceCommand(UserId user) {
  Command command;
  command.type = CommandType::kBalance;
  command.user = user;
  return command;
}

CoreHarness::CoreHarness(const ScheduleConfig& config) : core_(TestCoreOptions()) {
  EXPECT_TRUE(Run(CreateConcertCommand(config.concert, "Test Concert", 0)).ok());
  EXPECT_TRUE(Run(CreateScheduleCommand(config, 0)).ok());
}

Reply CoreHarness::Run(Command command) {
  if (IsMutating(command.type) && command.request_key == 0) command.request_key = NextKey();
  return core_.Apply(command, now_, &events_);
}

Reply CoreHarness::RunAt(Command command, TimestampMs now) {
  now_ = now;
  return Run(command);
}

void CoreHarness::AdvanceTo(TimestampMs now) {
  now_ = now;
  core_.AdvanceTime(now_, &events_);
}

QueueToken CoreHarness::Admit(UserId user, ScheduleId schedule) {
  const Reply reply = Run(EnterCommand(schedule, user, 0));
  EXPECT_TRUE(reply.ok()) << ResultCodeName(reply.code);
  return reply.token;
}

HoldId CoreHarness::HoldFor(UserId user, std::initializer_list<SeatIndex> seats,
                            QueueToken* token) {
  *token = Admit(user);
  const Reply reply = Run(HoldCommand(kSchedule, user, *token, seats, 0));
  return reply.ok() ? reply.hold : 0;
}

uint64_t CoreHarness::ReplayHash() const {
  Core replayed(TestCoreOptions());
  const absl::Status status = replayed.ApplyEvents(events_);
  EXPECT_TRUE(status.ok()) << status;
  return replayed.StateHash();
}

}  // namespace encore::testing
