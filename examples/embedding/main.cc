// The smallest useful program on the Encore engine: one concert, one
// schedule, a fan who charges points, enters the queue, holds two seats and
// pays. Prints each reply and exits non-zero if any step is refused.
#include <cstdio>
#include <cstring>
#include <string>

#include "encore/core.h"

namespace {

bool Expect(const char* step, const encore::Reply& reply) {
  std::printf("%-16s %s\n", step, std::string(encore::ResultCodeName(reply.code)).c_str());
  return reply.ok();
}

}  // namespace

int main() {
  encore::CoreOptions options;
  options.token_key = {0x9d1c0a11u, 0x5eedu};  // Draw from a CSPRNG in a real program.
  encore::Core core(options);
  encore::EventBuffer events;  // A journal would persist these.
  encore::TimestampMs now = 1'767'261'600'000;
  encore::RequestKey key = 0;

  encore::Command concert;
  concert.type = encore::CommandType::kCreateConcert;
  concert.concert = 1;
  concert.request_key = ++key;
  std::strcpy(concert.title.data(), "Example Night");
  if (!Expect("create concert", core.Apply(concert, now, &events))) return 1;

  encore::Command schedule;
  schedule.type = encore::CommandType::kCreateSchedule;
  schedule.request_key = ++key;
  encore::ScheduleConfig& config = schedule.schedule_config;
  config.concert = 1;
  config.schedule = 10;
  config.sale_opens_at_ms = now;
  config.sale_closes_at_ms = now + 3'600'000;
  config.seat_count = 100;
  config.tier_count = 1;
  config.tiers[0] = encore::PriceTier{0, 0, 4'500};
  if (!Expect("create schedule", core.Apply(schedule, now, &events))) return 1;

  const encore::UserId fan = 42;
  encore::Command charge;
  charge.type = encore::CommandType::kCharge;
  charge.user = fan;
  charge.amount = 9'000;
  charge.request_key = ++key;
  if (!Expect("charge", core.Apply(charge, now, &events))) return 1;

  encore::Command enter;
  enter.type = encore::CommandType::kEnterQueue;
  enter.user = fan;
  enter.schedule = 10;
  enter.request_key = ++key;
  const encore::Reply entered = core.Apply(enter, now, &events);
  if (!Expect("enter queue", entered)) return 1;

  encore::Command hold;
  hold.type = encore::CommandType::kHoldSeats;
  hold.user = fan;
  hold.schedule = 10;
  hold.token = entered.token;
  hold.seat_count = 2;
  hold.seats = {7, 8};
  hold.request_key = ++key;
  const encore::Reply held = core.Apply(hold, now += 1'000, &events);
  if (!Expect("hold seats", held)) return 1;

  encore::Command pay;
  pay.type = encore::CommandType::kPay;
  pay.user = fan;
  pay.schedule = 10;
  pay.token = entered.token;
  pay.hold = held.hold;
  pay.request_key = ++key;
  const encore::Reply paid = core.Apply(pay, now += 30'000, &events);
  if (!Expect("pay", paid)) return 1;

  std::printf("paid %lld points for %u seats; balance now %lld; %zu events\n",
              static_cast<long long>(paid.amount), paid.seat_count,
              static_cast<long long>(paid.balance), events.count());
  return paid.balance == 0 ? 0 : 1;
}
