// libFuzzer target: the command path behind the frame decoder. Bytes are cut
// into frames (FrameReader), each frame is decoded as a Request, and what it
// asks is run against a Core with a fixed catalog, as a shard would: engine
// commands through Apply, reads through the Core's read functions; every
// reply is encoded as a Response and must decode again. Time moves: each
// request's id advances the clock by (id & 0xffff) ms, so holds, heartbeats
// and active tokens expire within an input.
//
// A fuzzer cannot forge a queue token's MAC, so a token {locator 0, mac k}
// stands for the k-th token this input was issued (k < 64): that is how it
// reaches holds and payments. Hold ids are small sequential numbers it can
// guess; a hold proof k (1 <= k <= 64) stands for the k-th hold proof issued,
// so that releases by proof are reached too.
//
// After every request the Core's invariants must hold, and after each input a
// Core rebuilt from the events it produced must have the same StateHash;
// anything else aborts. A CreateSchedule of more than kSeatsMax seats is
// skipped, to keep an input's memory small (the seat bound itself is
// covered by the engine's own tests).
//
// Built with clang's -fsanitize=fuzzer,address,undefined by
// tests/fuzz/run_fuzz.sh command_path.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "encore/commands.h"
#include "encore/core.h"
#include "encore/event_buffer.h"
#include "encore/net/protocol.h"

namespace {

using encore::Command;
using encore::CommandType;
using encore::Core;
using encore::CoreOptions;
using encore::QueueToken;
using encore::Reply;
using encore::ResultCode;
using encore::ScheduleConfig;
using encore::TimestampMs;

constexpr encore::ConcertId kConcert = 7;
constexpr encore::ScheduleId kBankCounter = 70;    // At most 2 ACTIVE.
constexpr encore::ScheduleId kAmusementPark = 71;  // 3 admitted per second.
constexpr TimestampMs kStartMs = 1'000'000;
constexpr uint32_t kSeatsMax = 4096;
constexpr size_t kTokensMax = 64;
// Requests run per input: the rest of a long input is ignored.
constexpr int kRequestsMax = 256;
// A small idempotency window: a Core allocates its index up front, and one
// is made (and one replayed) per input.
constexpr uint32_t kRequestResultsMax = 1024;

CoreOptions FuzzCoreOptions() {
  CoreOptions options;
  options.request_results_max = kRequestResultsMax;
  return options;
}

void Fail(const char* what) {
  std::fprintf(stderr, "command_path_fuzz: %s\n", what);
  std::abort();
}

ScheduleConfig Schedule(encore::ScheduleId schedule, uint32_t seats) {
  ScheduleConfig config;
  config.concert = kConcert;
  config.schedule = schedule;
  config.performance_at_ms = kStartMs + 100'000'000;
  config.sale_opens_at_ms = kStartMs;
  config.sale_closes_at_ms = kStartMs + 50'000'000;
  config.hold_ttl_ms = encore::kHoldTtlMinMs;
  config.active_ttl_ms = 20'000;
  config.heartbeat_timeout_ms = encore::kHeartbeatTimeoutMinMs * 5;
  config.seat_count = seats;
  config.seats_per_user_max = 4;
  config.tier_count = 2;
  config.tiers[0] = encore::PriceTier{0, 0, 5'000};
  config.tiers[1] = encore::PriceTier{seats / 2, 0, 3'000};
  return config;
}

class Harness {
 public:
  Harness() : core_(FuzzCoreOptions()) {
    // The fixed catalog: a concert, two schedules with the two admission
    // policies, some users with balance, in the queues, one holding seats.
    Run(encore::MakeCreateConcert(kConcert, "Fuzz", NextKey()));
    ScheduleConfig bank = Schedule(kBankCounter, 64);
    bank.policy.active_max = 2;
    Run(encore::MakeCreateSchedule(bank, NextKey()));
    ScheduleConfig park = Schedule(kAmusementPark, 32);
    park.policy.admit_per_interval = 3;
    park.policy.interval_ms = 1'000;
    Run(encore::MakeCreateSchedule(park, NextKey()));
    for (encore::UserId user = 1; user <= 4; ++user) {
      Run(encore::MakeCharge(user, 100'000, NextKey()));
      Run(encore::MakeEnterQueue(kBankCounter, user, NextKey()));
      Run(encore::MakeEnterQueue(kAmusementPark, user, NextKey()));
    }
    const encore::SeatIndex seats[] = {0, 1};
    Run(encore::MakeHoldSeats(kBankCounter, 1, tokens_[0], seats, NextKey()));
    Check();
  }

  void Request(const encore::net::DecodedRequest& request) {
    now_ += static_cast<TimestampMs>(request.id & 0xffff);
    Command command = request.command;
    if (command.token.locator == 0 && command.token.mac < tokens_.size()) {
      command.token = tokens_[command.token.mac];
    }
    if (command.hold_proof != 0 && command.hold_proof <= hold_proofs_.size()) {
      command.hold_proof = hold_proofs_[command.hold_proof - 1];
    }
    std::vector<uint8_t> frame;
    switch (request.kind) {
      case encore::net::RequestKind::kCommand: {
        if (command.type == CommandType::kCreateSchedule &&
            command.schedule_config.seat_count > kSeatsMax) {
          return;
        }
        const Reply reply = Run(command);
        encore::net::AppendCommandResponse(request.id, reply, &frame);
        break;
      }
      case encore::net::RequestKind::kSeatMap: {
        std::vector<encore::SeatState> seats;
        core_.AdvanceTime(now_, &events_);
        if (core_.SeatMap(command.schedule, command.user, command.token, &seats) ==
            ResultCode::kOk) {
          encore::net::AppendSeatMapResponse(request.id, command.schedule, seats, &frame);
        }
        break;
      }
      case encore::net::RequestKind::kLedger: {
        std::vector<encore::LedgerEntry> entries;
        uint64_t next_before = 0;
        core_.Ledger(command.user, request.ledger_before, request.ledger_limit, &entries,
                     &next_before);
        if (entries.size() > request.ledger_limit) Fail("ledger page over its limit");
        encore::net::AppendLedgerResponse(request.id, entries, next_before, &frame);
        break;
      }
      case encore::net::RequestKind::kListSchedules: {
        std::vector<encore::ScheduleId> ids;
        std::vector<encore::ScheduleInfo> schedules;
        if (core_.ListSchedules(command.concert, &ids) == ResultCode::kOk) {
          for (encore::ScheduleId id : ids) {
            encore::ScheduleInfo info;
            if (core_.GetSchedule(id, &info) != ResultCode::kOk) Fail("listed schedule missing");
            schedules.push_back(info);
          }
          encore::net::AppendScheduleListResponse(request.id, schedules, &frame);
        }
        break;
      }
      case encore::net::RequestKind::kHello:
      case encore::net::RequestKind::kServerStats:
        break;
    }
    if (!frame.empty()) CheckReplyFrame(frame, request.id);
    Check();
  }

  // A core rebuilt from every event must be the same state.
  void CheckReplay() const {
    Core replayed(FuzzCoreOptions());
    if (!replayed.ApplyEvents(events_).ok()) Fail("the events do not replay");
    if (replayed.StateHash() != core_.StateHash()) Fail("the replayed state differs");
  }

 private:
  Reply Run(const Command& command) {
    const Reply reply = core_.Apply(command, now_, &events_);
    if (reply.ok() && reply.token.locator != 0 && tokens_.size() < kTokensMax) {
      tokens_.push_back(reply.token);
    }
    if (reply.ok() && reply.hold_proof != 0 && hold_proofs_.size() < kTokensMax) {
      hold_proofs_.push_back(reply.hold_proof);
    }
    return reply;
  }

  void Check() const {
    const absl::Status status = core_.CheckInvariants();
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
      Fail("an invariant is broken");
    }
  }

  static void CheckReplyFrame(const std::vector<uint8_t>& frame, uint64_t id) {
    encore::net::FrameReader reader(encore::net::kFrameBytesMaxDefault * 64);
    reader.Feed(frame);
    std::span<const uint8_t> payload;
    if (reader.NextFrame(&payload) != encore::net::FrameReader::Next::kFrame) {
      Fail("a reply is not one frame");
    }
    const absl::StatusOr<encore::net::DecodedResponse> decoded =
        encore::net::DecodeResponse(payload);
    if (!decoded.ok() || decoded->id != id) Fail("a reply does not decode");
  }

  encore::RequestKey NextKey() { return ++last_key_; }

  Core core_;
  encore::EventBuffer events_;
  TimestampMs now_ = kStartMs;
  std::vector<QueueToken> tokens_;
  std::vector<encore::HoldProof> hold_proofs_;
  encore::RequestKey last_key_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using encore::net::FrameReader;
  Harness harness;
  FrameReader reader(encore::net::kFrameBytesMaxDefault);
  reader.Feed(std::span<const uint8_t>(data, size));
  std::span<const uint8_t> payload;
  for (int requests = 0;
       requests < kRequestsMax && reader.NextFrame(&payload) == FrameReader::Next::kFrame;
       ++requests) {
    const encore::net::DecodeResult decoded = encore::net::DecodeRequest(payload);
    if (decoded.code != ResultCode::kOk) continue;
    harness.Request(decoded.request);
  }
  harness.CheckReplay();
  return 0;
}
