// encore-sim: a flash sale run through the embedded engine core, on a
// simulated clock. Thousands of fans charge points, rush the admission queue,
// poll, get admitted in order, hold seats, and pay, abandon, release or pay
// too late. The summary shows that no seat was sold twice and no point was
// lost, and that the state rebuilt from the events equals the live state.
//
// Usage: encore-sim [--users N] [--seats N] [--active N] [--seed N]
// (encore-sim --help: AddFlags below); exit 2 on a usage error.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "encore/core.h"
#include "flags.h"

namespace encore {
namespace {

struct Options {
  uint32_t users = 20'000;
  uint32_t seats = 600;
  uint32_t active_max = 300;
  uint64_t seed = 42;
};

// Every flag of encore-sim, with its help, bound to `options` (whose values
// are the defaults).
void AddFlags(CLI::App& app, Options* options) {
  tools::AddNumber<uint32_t>(app, "--users", &options->users, "fans in the sale", 1, 10'000'000);
  tools::AddNumber<uint32_t>(app, "--seats", &options->seats, "seats of the schedule", 1,
                             kSeatsPerScheduleMax);
  tools::AddNumber<uint32_t>(app, "--active", &options->active_max, "fans shopping at once", 1,
                             1'000'000);
  tools::AddNumber(app, "--seed", &options->seed,
                   "seed of the fans' choices (same seed, same sale)");
}

enum class Plan : uint8_t { kPay, kPayLate, kAbandon, kRelease, kWalkAway };
enum class Step : uint8_t { kEnter, kPoll, kHold, kFinish };

struct Fan {
  Plan plan;
  QueueToken token;
  HoldId hold = 0;
  HoldProof hold_proof = 0;  // Releases the hold, also once the token expired.
  uint32_t entry_order = 0;
  uint32_t hold_attempts = 0;
  bool polling = true;
};

struct Action {
  TimestampMs at_ms;
  uint64_t sequence;
  uint32_t fan;
  Step step;
  bool operator>(const Action& other) const {
    return at_ms != other.at_ms ? at_ms > other.at_ms : sequence > other.sequence;
  }
};

constexpr ConcertId kConcert = 1;
constexpr ScheduleId kSchedule = 1;
constexpr TimestampMs kOpensMs = 1'767'261'600'000;  // 2026-01-01 10:00 UTC
constexpr int64_t kPollEveryMs = 5'000;

class FlashSale {
 public:
  explicit FlashSale(const Options& options)
      : options_(options), random_(options.seed), core_(MakeCoreOptions(options.seed)) {}

  int Run();

 private:
  static CoreOptions MakeCoreOptions(uint64_t seed) {
    CoreOptions core_options;
    std::mt19937_64 key_random(seed ^ 0xa5a5a5a5);
    core_options.token_key = {key_random(), key_random()};
    core_options.request_results_max = 1u << 20;
    return core_options;
  }
  uint64_t Uniform(uint64_t bound) {
    return std::uniform_int_distribution<uint64_t>(0, bound - 1)(random_);
  }
  Reply Apply(Command command) {
    if (IsMutating(command.type)) command.request_key = ++request_key_;
    command.schedule = command.schedule == 0 ? kSchedule : command.schedule;
    const auto start = std::chrono::steady_clock::now();
    const Reply reply = core_.Apply(command, now_, &events_);
    engine_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    ++commands_;
    ++results_[reply.code];
    return reply;
  }
  void Schedule(TimestampMs at_ms, uint32_t fan, Step step) {
    actions_.push(Action{at_ms, next_sequence_++, fan, step});
  }
  void SetUp();
  void Act(const Action& action);
  void Enter(uint32_t fan);
  void Poll(uint32_t fan);
  void TryHold(uint32_t fan);
  void Leave(uint32_t fan);
  bool SoldOut();
  void Finish(uint32_t fan);
  void ObserveNewEvents();
  void PrintTimeline();
  int Report();

  Options options_;
  std::mt19937_64 random_;
  Core core_;
  EventBuffer events_;
  size_t events_seen_bytes_ = 0;
  TimestampMs now_ = kOpensMs - 60'000;
  RequestKey request_key_ = 0;
  std::vector<Fan> fans_;
  std::priority_queue<Action, std::vector<Action>, std::greater<Action>> actions_;
  uint64_t next_sequence_ = 0;
  std::vector<uint32_t> admitted_entries_;
  std::map<ResultCode, uint64_t> results_;
  uint64_t commands_ = 0;
  int64_t engine_ns_ = 0;
  Points charged_ = 0;
  Points paid_ = 0;
  uint64_t seats_paid_ = 0;
  uint64_t holds_expired_ = 0;
  uint64_t dropped_ = 0;
  TimestampMs sold_out_at_ms_ = 0;
  TimestampMs next_timeline_ms_ = kOpensMs;
  // A fan near the back of the line whose place the timeline follows.
  uint32_t followed_fan_ = UINT32_MAX;
  Reply followed_status_;
};

void FlashSale::SetUp() {
  Command concert;
  concert.type = CommandType::kCreateConcert;
  concert.concert = kConcert;
  std::snprintf(concert.title.data(), concert.title.size(), "Encore Live 2026");
  Apply(concert);

  Command schedule;
  schedule.type = CommandType::kCreateSchedule;
  ScheduleConfig& config = schedule.schedule_config;
  config.concert = kConcert;
  config.schedule = kSchedule;
  config.performance_at_ms = kOpensMs + 30LL * 24 * 3'600'000;
  config.sale_opens_at_ms = kOpensMs;
  config.sale_closes_at_ms = kOpensMs + 3'600'000;
  config.seat_count = options_.seats;
  config.seats_per_user_max = 4;
  config.policy.active_max = options_.active_max;
  config.policy.admit_per_interval = std::max<uint32_t>(1, options_.active_max / 2);
  config.policy.interval_ms = 1'000;
  config.heartbeat_timeout_ms = 30'000;
  const uint32_t tiers = options_.seats >= 3 ? 3 : 1;
  const Points prices[3] = {15'000, 9'000, 5'000};
  config.tier_count = tiers;
  for (uint32_t tier = 0; tier < tiers; ++tier) {
    config.tiers[tier] = PriceTier{options_.seats / tiers * tier, 0, prices[tier]};
  }
  const Reply created = Apply(schedule);
  if (!created.ok()) {
    std::fprintf(stderr, "encore-sim: create schedule: %s\n",
                 std::string(ResultCodeName(created.code)).c_str());
    std::exit(1);
  }

  fans_.resize(options_.users);
  for (uint32_t fan = 0; fan < options_.users; ++fan) {
    const uint64_t roll = Uniform(100);
    fans_[fan].plan = roll < 70   ? Plan::kPay
                      : roll < 78 ? Plan::kPayLate
                      : roll < 88 ? Plan::kAbandon
                      : roll < 94 ? Plan::kRelease
                                  : Plan::kWalkAway;
    Command charge;
    charge.type = CommandType::kCharge;
    charge.user = fan + 1;
    // Most can afford two good seats; some can barely afford one.
    charge.amount = Uniform(10) == 0 ? 6'000 : 10'000 + Uniform(40'000);
    if (Apply(charge).ok()) charged_ += charge.amount;
    // The crowd arrives in the 10 s around the opening.
    Schedule(kOpensMs - 5'000 + static_cast<TimestampMs>(Uniform(10'000)), fan, Step::kEnter);
  }
}

void FlashSale::Enter(uint32_t fan) {
  Command enter;
  enter.type = CommandType::kEnterQueue;
  enter.user = fan + 1;
  const Reply reply = Apply(enter);
  if (!reply.ok()) return;
  fans_[fan].token = reply.token;
  fans_[fan].entry_order = static_cast<uint32_t>(reply.token.locator);
  if (followed_fan_ == UINT32_MAX && reply.position >= options_.users / 2 &&
      fans_[fan].plan == Plan::kPay) {
    followed_fan_ = fan;
  }
  Schedule(now_ + kPollEveryMs, fan, Step::kPoll);
}

bool FlashSale::SoldOut() {
  ScheduleInfo info;
  core_.GetSchedule(kSchedule, &info);
  return info.seats_sold == info.config.seat_count;
}

void FlashSale::Leave(uint32_t fan) {
  Command leave;
  leave.type = CommandType::kLeaveQueue;
  leave.user = fan + 1;
  leave.token = fans_[fan].token;
  Apply(leave);
}

void FlashSale::Poll(uint32_t fan) {
  Fan& state = fans_[fan];
  // "Sold out" is announced to the waiting room: the line goes home.
  if (SoldOut()) {
    Leave(fan);
    return;
  }
  // A few fans close the tab while waiting; the queue drops them.
  if (state.plan == Plan::kWalkAway && Uniform(4) == 0) return;
  Command poll;
  poll.type = CommandType::kQueueStatus;
  poll.user = fan + 1;
  poll.token = state.token;
  const Reply reply = Apply(poll);
  if (!reply.ok()) return;
  if (fan == followed_fan_) followed_status_ = reply;
  if (reply.queue_state == QueueState::kWaiting) {
    Schedule(now_ + kPollEveryMs, fan, Step::kPoll);
  } else if (reply.queue_state == QueueState::kActive) {
    Schedule(now_ + 1'000 + static_cast<TimestampMs>(Uniform(20'000)), fan, Step::kHold);
  }
}

void FlashSale::TryHold(uint32_t fan) {
  Fan& state = fans_[fan];
  std::vector<SeatState> seat_map;
  if (core_.SeatMap(kSchedule, fan + 1, state.token, &seat_map) != ResultCode::kOk) return;
  std::vector<SeatIndex> free_seats;
  for (SeatIndex seat = 0; seat < seat_map.size(); ++seat) {
    if (seat_map[seat] == SeatState::kAvailable) free_seats.push_back(seat);
  }
  if (free_seats.empty()) {
    // All taken. Held seats may come back when holds expire, so look again
    // a couple of times, then give the turn to the next fan.
    if (++state.hold_attempts < 3 && !SoldOut()) {
      Schedule(now_ + 10'000, fan, Step::kHold);
    } else {
      Leave(fan);
    }
    return;
  }
  Command hold;
  hold.type = CommandType::kHoldSeats;
  hold.user = fan + 1;
  hold.token = state.token;
  const uint32_t wanted = 1 + static_cast<uint32_t>(Uniform(2));
  // Fans pick seats side by side, starting anywhere free.
  const size_t start = Uniform(free_seats.size());
  for (uint32_t i = 0; i < wanted && start + i < free_seats.size(); ++i) {
    hold.seats[hold.seat_count++] = free_seats[start + i];
  }
  const Reply reply = Apply(hold);
  if (!reply.ok()) {
    // Someone was faster: look again a moment later.
    if (reply.code == ResultCode::kSeatUnavailable) Schedule(now_ + 500, fan, Step::kHold);
    return;
  }
  state.hold = reply.hold;
  state.hold_proof = reply.hold_proof;
  const int64_t ttl_ms = reply.hold_deadline_ms - now_;
  switch (state.plan) {
    case Plan::kPay:
    case Plan::kRelease:
      Schedule(now_ + 5'000 + static_cast<TimestampMs>(Uniform(ttl_ms / 2)), fan, Step::kFinish);
      break;
    case Plan::kPayLate:
      Schedule(reply.hold_deadline_ms + static_cast<TimestampMs>(Uniform(60'000)), fan,
               Step::kFinish);
      break;
    case Plan::kAbandon:
    case Plan::kWalkAway:
      break;  // The hold expires at its deadline and the seats return.
  }
}

void FlashSale::Finish(uint32_t fan) {
  Fan& state = fans_[fan];
  Command command;
  command.user = fan + 1;
  command.hold = state.hold;
  command.token = state.token;
  command.type = state.plan == Plan::kRelease ? CommandType::kReleaseHold : CommandType::kPay;
  if (command.type == CommandType::kReleaseHold) command.hold_proof = state.hold_proof;
  const Reply reply = Apply(command);
  if (reply.ok() && command.type == CommandType::kPay) {
    paid_ += reply.amount;
    seats_paid_ += reply.seat_count;
  }
}

void FlashSale::ObserveNewEvents() {
  // Look only at the events appended since the last call.
  ForEachEventRecord(events_.bytes().subspan(events_seen_bytes_), [&](const EventView& event) {
    if (event.type == EventType::kQueueAdmitted) {
      admitted_entries_.push_back(event.As<QueueAdmitted>().entry);
    } else if (event.type == EventType::kHoldEnded) {
      if (event.As<HoldEnded>().reason == HoldEndReason::kExpired) ++holds_expired_;
    } else if (event.type == EventType::kQueueEnded) {
      if (event.As<QueueEnded>().state == QueueState::kExpired) ++dropped_;
    }
    return true;
  });
  events_seen_bytes_ = events_.bytes().size();
}

void FlashSale::PrintTimeline() {
  while (now_ >= next_timeline_ms_) {
    ScheduleInfo info;
    core_.GetSchedule(kSchedule, &info);
    std::printf("  %+6.0f s  waiting %6" PRIu64 "  active %4" PRIu64 "  held %4u  sold %4u/%u",
                (next_timeline_ms_ - kOpensMs) / 1000.0, info.queue_waiting, info.queue_active,
                info.seats_held, info.seats_sold, info.config.seat_count);
    if (followed_fan_ != UINT32_MAX && followed_status_.ok()) {
      if (followed_status_.queue_state == QueueState::kWaiting) {
        std::printf("   fan %u: place %" PRIu64 ", ETA %.0f s", followed_fan_ + 1,
                    followed_status_.position, followed_status_.eta_ms / 1000.0);
      } else if (followed_status_.queue_state == QueueState::kActive) {
        std::printf("   fan %u: admitted, shopping", followed_fan_ + 1);
      }
    }
    std::printf("\n");
    next_timeline_ms_ += next_timeline_ms_ - kOpensMs < 60'000 ? 10'000 : 120'000;
  }
}

void FlashSale::Act(const Action& action) {
  switch (action.step) {
    case Step::kEnter:
      Enter(action.fan);
      break;
    case Step::kPoll:
      Poll(action.fan);
      break;
    case Step::kHold:
      TryHold(action.fan);
      break;
    case Step::kFinish:
      Finish(action.fan);
      break;
  }
}

int FlashSale::Run() {
  std::printf("Encore flash sale: %u fans, %u seats, at most %u shopping at once (seed %" PRIu64
              ")\n\n",
              options_.users, options_.seats, options_.active_max, options_.seed);
  SetUp();
  std::printf("Timeline (time from the sale opening)\n");
  while (!actions_.empty()) {
    const Action action = actions_.top();
    actions_.pop();
    now_ = std::max(now_, action.at_ms);
    if (sold_out_at_ms_ == 0) PrintTimeline();
    Act(action);
    ObserveNewEvents();
    ScheduleInfo info;
    if (sold_out_at_ms_ == 0 && core_.GetSchedule(kSchedule, &info) == ResultCode::kOk &&
        info.seats_sold == info.config.seat_count) {
      sold_out_at_ms_ = now_;
    }
  }
  // Let every remaining hold and token run out.
  now_ += 3'600'000;
  core_.AdvanceTime(now_, &events_);
  ObserveNewEvents();
  return Report();
}

int FlashSale::Report() {
  bool ok = true;
  auto check = [&ok](bool passed, const char* what) {
    std::printf("  [%s] %s\n", passed ? " ok " : "FAIL", what);
    ok = ok && passed;
  };
  ScheduleInfo info;
  core_.GetSchedule(kSchedule, &info);
  const CoreStats stats = core_.Stats();
  std::vector<SeatState> seat_map;
  core_.SeatMapUnchecked(kSchedule, &seat_map);
  const uint64_t sold_on_map = std::count(seat_map.begin(), seat_map.end(), SeatState::kSold);
  Points balances = 0;
  for (uint32_t fan = 0; fan < options_.users; ++fan) balances += core_.Balance(fan + 1);
  Core replayed(MakeCoreOptions(options_.seed));
  const bool replay_ok = replayed.ApplyEvents(events_).ok();

  std::printf("\nSale\n");
  std::printf("  seats sold          %u of %u", info.seats_sold, info.config.seat_count);
  if (sold_out_at_ms_ != 0) {
    std::printf(" (sold out %.1f s after opening)", (sold_out_at_ms_ - kOpensMs) / 1000.0);
  }
  std::printf("\n  fans admitted       %zu (in entry order: %s)\n", admitted_entries_.size(),
              std::is_sorted(admitted_entries_.begin(), admitted_entries_.end()) ? "yes" : "NO");
  std::printf("  dropped or expired  %" PRIu64 " queue entries\n", dropped_);
  std::printf("  holds expired       %" PRIu64 " (seats went back on sale)\n", holds_expired_);
  std::printf("  points charged      %" PRId64 "\n  points paid         %" PRId64
              "\n  points left         %" PRId64 "\n\n",
              charged_, paid_, balances);
  std::printf("Results\n");
  for (const auto& [code, count] : results_) {
    std::printf("  %-22s %" PRIu64 "\n", std::string(ResultCodeName(code)).c_str(), count);
  }
  std::printf("\nChecks\n");
  check(core_.CheckInvariants().ok(), "engine invariants hold");
  check(sold_on_map == info.seats_sold && stats.seats_sold == seats_paid_,
        "no seat sold twice: sold seats == seats of paid holds");
  check(balances + paid_ == charged_ && stats.payments_total == paid_,
        "no point lost: balances + payments == charges");
  check(std::is_sorted(admitted_entries_.begin(), admitted_entries_.end()),
        "admission order == entry order");
  check(replay_ok && replayed.StateHash() == core_.StateHash(),
        "state rebuilt from the events == live state");
  std::printf("\nEngine: %" PRIu64 " commands, %zu events, %.2f M commands/s on one thread\n",
              commands_, events_.count(), commands_ / (engine_ns_ / 1e9) / 1e6);
  std::printf("\n%s\n", ok ? "All checks passed." : "A CHECK FAILED.");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace encore

int main(int argc, char** argv) {
  encore::Options options;
  CLI::App app("encore-sim: a flash sale through the embedded engine on a simulated clock",
               "encore-sim");
  encore::tools::SetUpApp(app);
  encore::AddFlags(app, &options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return encore::tools::ExitParse(app, error, 2);
  }
  return encore::FlashSale(options).Run();
}
