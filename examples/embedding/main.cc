// A program embedding the Encore engine: it opens a two-shard engine, creates
// a concert and a schedule, and then two fans on two threads race for the
// same two seats. Exactly one wins the hold and pays; the other is refused.
// Exits non-zero if that is not what happened.
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "encore/engine.h"

namespace {

using encore::Command;
using encore::CommandType;
using encore::Reply;

struct Outcome {
  Reply held;
  Reply paid;
};

// One fan: charge, enter the queue, hold seats 7 and 8, pay if the hold won.
Outcome Fan(encore::Engine& engine, encore::UserId fan) {
  auto producer = engine.NewProducer();  // One producer per thread.
  if (!producer.ok()) return {};
  encore::RequestKey key = fan * 1000;
  Command charge;
  charge.type = CommandType::kCharge;
  charge.user = fan;
  charge.amount = 9'000;
  charge.request_key = ++key;
  (*producer)->Call(charge);

  Command enter;
  enter.type = CommandType::kEnterQueue;
  enter.user = fan;
  enter.schedule = 10;
  enter.request_key = ++key;
  const Reply entered = (*producer)->Call(enter);

  Command hold;
  hold.type = CommandType::kHoldSeats;
  hold.user = fan;
  hold.schedule = 10;
  hold.token = entered.token;
  hold.seat_count = 2;
  hold.seats = {7, 8};
  hold.request_key = ++key;
  Outcome outcome;
  outcome.held = (*producer)->Call(hold);
  if (!outcome.held.ok()) return outcome;

  Command pay;
  pay.type = CommandType::kPay;
  pay.user = fan;
  pay.schedule = 10;
  pay.token = entered.token;
  pay.hold = outcome.held.hold;
  pay.request_key = ++key;
  outcome.paid = (*producer)->Call(pay);
  return outcome;
}

std::string Name(const Reply& reply) { return std::string(encore::ResultCodeName(reply.code)); }

}  // namespace

int main() {
  encore::EngineOptions options;
  options.shards = 2;  // The token key, clock and journal take their defaults.
  auto engine = encore::Engine::Open(options);
  if (!engine.ok()) {
    std::fprintf(stderr, "open: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  auto admin = (*engine)->NewProducer();
  if (!admin.ok()) return 1;
  const encore::TimestampMs now = encore::SystemClock().NowMs();

  Command concert;
  concert.type = CommandType::kCreateConcert;
  concert.concert = 1;
  concert.request_key = 1;
  std::strcpy(concert.title.data(), "Example Night");
  Command schedule;
  schedule.type = CommandType::kCreateSchedule;
  schedule.request_key = 2;
  encore::ScheduleConfig& config = schedule.schedule_config;
  config.concert = 1;
  config.schedule = 10;
  config.sale_opens_at_ms = now - 1'000;
  config.sale_closes_at_ms = now + 3'600'000;
  config.seat_count = 100;
  config.tier_count = 1;
  config.tiers[0] = encore::PriceTier{0, 0, 4'500};
  std::printf("create concert   %s\n", Name((*admin)->Call(concert)).c_str());
  std::printf("create schedule  %s\n", Name((*admin)->Call(schedule)).c_str());

  Outcome alice;
  Outcome bob;
  std::thread alice_thread([&] { alice = Fan(**engine, 41); });
  std::thread bob_thread([&] { bob = Fan(**engine, 42); });
  alice_thread.join();
  bob_thread.join();
  (*engine)->Close();

  std::printf("fan 41: hold %s, pay %s\n", Name(alice.held).c_str(),
              alice.held.ok() ? Name(alice.paid).c_str() : "-");
  std::printf("fan 42: hold %s, pay %s\n", Name(bob.held).c_str(),
              bob.held.ok() ? Name(bob.paid).c_str() : "-");
  const Outcome& winner = alice.held.ok() ? alice : bob;
  const Outcome& loser = alice.held.ok() ? bob : alice;
  const bool one_winner = winner.held.ok() && winner.paid.ok() && winner.paid.amount == 9'000 &&
                          loser.held.code == encore::ResultCode::kSeatUnavailable;
  std::printf("%s\n", one_winner ? "one fan won the seats and paid 9000 points"
                                 : "UNEXPECTED OUTCOME");
  return one_winner ? 0 : 1;
}
