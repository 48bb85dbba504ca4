#include "support/core_fixture.h"

#include <algorithm>
#include <cstring>

#include "encore/clock.h"
#include "encore/commands.h"
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

ScheduleConfig OnSaleNowConfig(ScheduleId schedule, uint32_t seat_count) {
  const TimestampMs now = SystemClock().NowMs();
  ScheduleConfig config = MakeScheduleConfig(schedule, seat_count);
  config.sale_opens_at_ms = now - 1'000;
  config.sale_closes_at_ms = now + 3'600'000;
  return config;
}

Command CreateConcertCommand(ConcertId concert, std::string_view title, RequestKey key) {
  return MakeCreateConcert(concert, title, key);
}

Command CreateScheduleCommand(const ScheduleConfig& config, RequestKey key) {
  return MakeCreateSchedule(config, key);
}

Command SetPolicyCommand(ScheduleId schedule, AdmissionPolicy policy, RequestKey key) {
  return MakeSetAdmissionPolicy(schedule, policy, key);
}

Command EnterCommand(ScheduleId schedule, UserId user, RequestKey key) {
  return MakeEnterQueue(schedule, user, key);
}

Command StatusCommand(ScheduleId schedule, UserId user, QueueToken token) {
  return MakeQueueStatus(schedule, user, token);
}

Command LeaveCommand(ScheduleId schedule, UserId user, QueueToken token, RequestKey key) {
  return MakeLeaveQueue(schedule, user, token, key);
}

Command HoldCommand(ScheduleId schedule, UserId user, QueueToken token,
                    std::initializer_list<SeatIndex> seats, RequestKey key) {
  return MakeHoldSeats(schedule, user, token,
                       std::span<const SeatIndex>(seats.begin(), seats.size()), key);
}

Command ReleaseCommand(ScheduleId schedule, UserId user, QueueToken token, HoldId hold,
                       RequestKey key) {
  return MakeReleaseHold(schedule, user, token, hold, key);
}

Command ReleaseWithProofCommand(ScheduleId schedule, UserId user, HoldId hold, HoldProof proof,
                                RequestKey key) {
  return MakeReleaseHoldWithProof(schedule, user, hold, proof, key);
}

Command PayCommand(ScheduleId schedule, UserId user, QueueToken token, HoldId hold,
                   RequestKey key) {
  return MakePay(schedule, user, token, hold, key);
}

Command ChargeCommand(UserId user, Points amount, RequestKey key) {
  return MakeCharge(user, amount, key);
}

Command BalanceCommand(UserId user) { return MakeBalance(user); }

CoreHarness::CoreHarness(const ScheduleConfig& config) : CoreHarness(config, TestCoreOptions()) {}

CoreHarness::CoreHarness(const ScheduleConfig& config, const CoreOptions& options)
    : options_(options), core_(options) {
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
  Core replayed(options_);
  const absl::Status status = replayed.ApplyEvents(events_);
  EXPECT_TRUE(status.ok()) << status;
  return replayed.StateHash();
}

}  // namespace encore::testing
