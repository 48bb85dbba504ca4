// A program embedding the Encore engine: it opens a two-shard engine, creates
// a concert and a schedule, and then two fans on two threads race for the
// same two seats. Exactly one wins the hold and pays; the other is refused.
// Exits non-zero if that is not what happened.
#include <cstdio>
#include <string>
#include <thread>

#include "encore/commands.h"
#include "encore/engine.h"

namespace {

using encore::Reply;

struct Outcome {
  Reply held;
  Reply paid;
};

// One fan: charge, enter the queue, hold seats 7 and 8, pay if the hold won.
Outcome Fan(encore::Engine& engine, encore::UserId fan) {
  auto producer = engine.NewProducer();  // One producer per thread.
  if (!producer.ok()) return {};
  encore::RequestKey key = fan * 1000;  // Request keys are the client's, per user.
  (*producer)->Call(encore::MakeCharge(fan, 9'000, ++key));
  const Reply entered = (*producer)->Call(encore::MakeEnterQueue(10, fan, ++key));
  const encore::SeatIndex seats[] = {7, 8};
  Outcome outcome;
  outcome.held = (*producer)->Call(encore::MakeHoldSeats(10, fan, entered.token, seats, ++key));
  if (!outcome.held.ok()) return outcome;
  outcome.paid =
      (*producer)->Call(encore::MakePay(10, fan, entered.token, outcome.held.hold, ++key));
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

  encore::ScheduleConfig config;
  config.concert = 1;
  config.schedule = 10;
  config.sale_opens_at_ms = now - 1'000;
  config.sale_closes_at_ms = now + 3'600'000;
  config.seat_count = 100;
  config.tier_count = 1;
  config.tiers[0] = encore::PriceTier{0, 0, 4'500};
  std::printf("create concert   %s\n",
              Name((*admin)->Call(encore::MakeCreateConcert(1, "Example Night", 1))).c_str());
  std::printf("create schedule  %s\n",
              Name((*admin)->Call(encore::MakeCreateSchedule(config, 2))).c_str());

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
  std::printf("%s\n",
              one_winner ? "one fan won the seats and paid 9000 points" : "UNEXPECTED OUTCOME");
  return one_winner ? 0 : 1;
}
