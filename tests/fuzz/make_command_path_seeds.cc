// Writes the seed inputs of the command_path fuzz target: each file is a
// stream of request frames over the fuzz harness's fixed catalog (concert 7,
// schedules 70 and 71, users 1..4; see command_path_fuzz.cc). A token
// {locator 0, mac k} stands for the k-th token the input was issued, a hold
// proof k (from 1) for the k-th hold proof, and a request id advances the
// clock by (id & 0xffff) ms. Run by hand:
//   clang++ -std=c++20 -I engine/include -I net/include -I <flatc output> \
//     net/src/protocol.cc tests/fuzz/make_command_path_seeds.cc -labsl_... (as run_fuzz.sh) \
//     -o /tmp/seeds && /tmp/seeds tests/fuzz/corpus/command_path
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "encore/commands.h"
#include "encore/net/protocol.h"

namespace {

using encore::QueueToken;
using encore::SeatIndex;
namespace net = encore::net;

// The k-th token issued: 0 is user 1 on schedule 70 (ACTIVE, holding seats
// 0 and 1 as hold 1), 1 is user 1 on 71, 2 user 2 on 70, ...
QueueToken Token(uint64_t k) { return QueueToken{0, k}; }

void Write(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<uint8_t> frames;
  // Balance, queue status, hold, pay.
  net::AppendCommandRequest(1, encore::MakeCharge(1, 5'000, 101), &frames);
  net::AppendCommandRequest(2, encore::MakeBalance(1), &frames);
  net::AppendCommandRequest(3, encore::MakeQueueStatus(70, 1, Token(0)), &frames);
  const SeatIndex two[] = {2, 3};
  net::AppendCommandRequest(4, encore::MakeHoldSeats(70, 1, Token(0), two, 102), &frames);
  net::AppendCommandRequest(5, encore::MakePay(70, 1, Token(0), 1, 103), &frames);
  net::AppendCommandRequest(6, encore::MakePay(70, 1, Token(0), 2, 104), &frames);
  Write(dir, "hold-and-pay", frames);

  frames.clear();
  // Another user's token and hold; releases without a proof, with another's
  // token or proof, with a forged proof, then by token and by proof; reads.
  const SeatIndex one[] = {5};
  const SeatIndex six[] = {6};
  net::AppendCommandRequest(1, encore::MakeHoldSeats(70, 2, Token(2), one, 201), &frames);
  net::AppendCommandRequest(2, encore::MakeHoldSeats(70, 2, Token(0), one, 202), &frames);
  net::AppendCommandRequest(3, encore::MakeReleaseHold(70, 2, QueueToken{}, 1, 203), &frames);
  net::AppendCommandRequest(4, encore::MakeReleaseHold(70, 2, Token(0), 2, 204), &frames);
  net::AppendCommandRequest(5, encore::MakeReleaseHoldWithProof(70, 2, 1, 1, 205), &frames);
  net::AppendCommandRequest(6, encore::MakeReleaseHoldWithProof(70, 2, 2, 0xdead'beef'0000, 206),
                            &frames);
  net::AppendCommandRequest(7, encore::MakeReleaseHold(70, 2, Token(2), 2, 207), &frames);
  net::AppendCommandRequest(8, encore::MakeHoldSeats(70, 2, Token(2), six, 208), &frames);
  net::AppendCommandRequest(9, encore::MakeReleaseHoldWithProof(70, 2, 3, 3, 209), &frames);
  net::AppendSeatMapRequest(10, 70, 2, Token(2), &frames);
  net::AppendLedgerRequest(11, 1, 0, 10, &frames);
  net::AppendListSchedulesRequest(12, 7, &frames);
  Write(dir, "foreign-release-reads", frames);

  frames.clear();
  // Time runs: the hold expires, heartbeats stop, waiting users are admitted.
  net::AppendCommandRequest(1, encore::MakeHoldSeats(70, 1, Token(0), two, 301), &frames);
  for (uint64_t i = 0; i < 8; ++i) {
    net::AppendCommandRequest(0xffff, encore::MakeQueueStatus(70, 3, Token(4)), &frames);
  }
  net::AppendCommandRequest(2, encore::MakePay(70, 1, Token(0), 2, 302), &frames);
  net::AppendCommandRequest(3, encore::MakeEnterQueue(70, 9, 303), &frames);
  net::AppendCommandRequest(0x8000, encore::MakeQueueStatus(71, 4, Token(7)), &frames);
  Write(dir, "time-runs", frames);

  frames.clear();
  // Catalog and policy changes, leaving, re-entering, idempotent repeats.
  encore::ScheduleConfig config;
  config.concert = 8;
  config.schedule = 72;
  config.performance_at_ms = 200'000'000;
  config.sale_opens_at_ms = 1'000'000;
  config.sale_closes_at_ms = 50'000'000;
  config.seat_count = 16;
  config.seats_per_user_max = 2;
  config.tier_count = 1;
  config.tiers[0] = encore::PriceTier{0, 0, 100};
  net::AppendCommandRequest(1, encore::MakeCreateConcert(8, "Seed", 401), &frames);
  net::AppendCommandRequest(2, encore::MakeCreateSchedule(config, 402), &frames);
  encore::AdmissionPolicy policy;
  policy.active_max = 1;
  net::AppendCommandRequest(3, encore::MakeSetAdmissionPolicy(70, policy, 403), &frames);
  net::AppendCommandRequest(4, encore::MakeLeaveQueue(70, 2, Token(2), 404), &frames);
  net::AppendCommandRequest(5, encore::MakeEnterQueue(70, 2, 405), &frames);
  net::AppendCommandRequest(6, encore::MakeEnterQueue(70, 2, 405), &frames);
  net::AppendCommandRequest(7, encore::MakeCharge(3, 7, 406), &frames);
  net::AppendCommandRequest(8, encore::MakeCharge(3, 7, 406), &frames);
  net::AppendCommandRequest(9, encore::MakeEnterQueue(72, 3, 407), &frames);
  Write(dir, "catalog-policy-repeats", frames);
  return 0;
}
