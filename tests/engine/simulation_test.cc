// Seeded randomized simulation of the core: thousands of users, random
// commands (valid and not) and time jumps, with the invariants checked after
// every step against an independent model built from replies and events.
//
// Replay: ENCORE_SIM_SEED=<seed> runs that one seed. ENCORE_SIM_SEEDS=<n>
// runs n seeds (default 8), ENCORE_SIM_STEPS=<n> steps per seed (default 4000).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr ? fallback : std::strtoull(value, nullptr, 10);
}

struct ModelHold {
  ScheduleId schedule;
  HoldId hold;
  UserId user;
  std::vector<SeatIndex> seats;
  TimestampMs deadline_ms;
  HoldProof proof;
  bool ended = false;  // Released, expired or paid (from events).
};

struct PastCommand {
  Command command;
  Reply reply;
};

// One simulated run. Every check failure names the seed and the step.
class Simulation {
 public:
  explicit Simulation(uint64_t seed)
      : seed_(seed), random_(seed), core_(std::make_unique<Core>(TestCoreOptions())) {}

  void Run(uint64_t steps) {
    Setup();
    for (step_ = 0; step_ < steps && !::testing::Test::HasFailure(); ++step_) {
      Step();
      CheckAfterStep();
    }
    EXPECT_GT(successful_pays_, 0u) << Where() << ": the workload never paid; it tests too little";
    EXPECT_GT(expired_holds_, 0u) << Where() << ": no hold ever expired; it tests too little";
    std::cout << "  holds " << holds_.size() << ", paid " << successful_pays_ << ", expired "
              << expired_holds_ << ", admitted " << admissions_ << ", queue entries ended "
              << queue_ends_ << ", repeats " << repeats_ << ", snapshots " << snapshots_
              << ", restarts " << restarts_ << std::endl;
  }

 private:
  static constexpr uint32_t kUsers = 3000;
  static constexpr uint32_t kSchedules = 3;

  std::string Where() const {
    return "seed " + std::to_string(seed_) + " step " + std::to_string(step_);
  }
  uint64_t Uniform(uint64_t bound) {
    return std::uniform_int_distribution<uint64_t>(0, bound - 1)(random_);
  }
  bool Chance(uint32_t percent) { return Uniform(100) < percent; }

  Reply Apply(Command command) {
    if (IsMutating(command.type) && command.request_key == 0) command.request_key = ++next_key_;
    step_events_.Clear();
    const Reply reply = core_->Apply(command, now_, &step_events_);
    ObserveEvents();
    if (IsMutating(command.type) && history_.size() < 4096) history_.push_back({command, reply});
    return reply;
  }

  void Setup() {
    ASSERT_TRUE(Apply(CreateConcertCommand(kConcert, "Simulated", 0)).ok());
    for (uint32_t i = 0; i < kSchedules; ++i) {
      ScheduleConfig config = MakeScheduleConfig(kSchedule + i, 50 + Uniform(400));
      config.seats_per_user_max = 1 + Uniform(kHoldSeatsMax);
      config.hold_ttl_ms = 2'000 + Uniform(30'000);
      config.active_ttl_ms = 5'000 + Uniform(60'000);
      config.heartbeat_timeout_ms = 5'000 + Uniform(20'000);
      config.sale_opens_at_ms = now_ + Uniform(5'000);
      config.policy = RandomPolicy(0);
      active_max_[config.schedule] = config.policy.active_max;
      configs_.push_back(config);
      ASSERT_TRUE(Apply(CreateScheduleCommand(config, 0)).ok()) << Where();
    }
  }

  // A policy whose active_max is never below `floor_active_max` (0 = none),
  // so "ACTIVE never above the limit" holds at every step.
  AdmissionPolicy RandomPolicy(uint32_t floor_active_max) {
    AdmissionPolicy policy;
    if (floor_active_max > 0 || Chance(70)) {
      policy.active_max = std::max<uint32_t>(floor_active_max, 1 + Uniform(60));
    }
    if (Chance(50)) {
      policy.admit_per_interval = 1 + Uniform(20);
      policy.interval_ms = 500 + Uniform(5'000);
    }
    return policy;
  }

  QueueToken TokenOf(ScheduleId schedule, UserId user) {
    auto it = tokens_.find({schedule, user});
    return it == tokens_.end() ? QueueToken{} : it->second;
  }

  QueueToken MaybeBadToken(ScheduleId schedule, UserId user) {
    QueueToken token = TokenOf(schedule, user);
    if (Chance(3)) token.mac ^= 1ULL << Uniform(64);
    if (Chance(3)) token = TokenOf(schedule, 1 + Uniform(kUsers));
    if (Chance(2)) token = TokenOf(kSchedule + Uniform(kSchedules), user);
    return token;
  }

  void Step() {
    if (Chance(20)) now_ += static_cast<TimestampMs>(Uniform(Chance(5) ? 40'000 : 1'500));
    // Land exactly on the next deadline (or one ms before it) now and then:
    // that is where off-by-one bugs in expiry live.
    const TimestampMs next_deadline = core_->NextDeadlineMs();
    if (Chance(8) && next_deadline != kNoDeadline && next_deadline > now_) {
      now_ = next_deadline - (Chance(30) ? 1 : 0);
    }
    // Mostly users already partway through a purchase, so flows run to payment; sometimes anyone.
    const UserId user = recent_users_.empty() || Chance(30)
                            ? 1 + Uniform(kUsers)
                            : recent_users_[Uniform(recent_users_.size())];
    const ScheduleConfig& config = configs_[Uniform(kSchedules)];
    const ScheduleId schedule = config.schedule;
    const uint64_t choice = Uniform(100);
    if (choice < 12) {
      const Points amount = Chance(3) ? -static_cast<Points>(Uniform(100)) : 1 + Uniform(30'000);
      const Reply reply = Apply(ChargeCommand(user, amount, 0));
      if (reply.ok()) charges_total_ += amount;
    } else if (choice < 30) {
      const Reply reply = Apply(EnterCommand(schedule, user, 0));
      if (reply.ok()) {
        tokens_[{schedule, user}] = reply.token;
        if (recent_users_.size() < 64) {
          recent_users_.push_back(user);
        } else {
          recent_users_[Uniform(recent_users_.size())] = user;
        }
      }
    } else if (choice < 45) {
      Apply(StatusCommand(schedule, user, MaybeBadToken(schedule, user)));
    } else if (choice < 48) {
      Apply(LeaveCommand(schedule, user, MaybeBadToken(schedule, user), 0));
    } else if (choice < 70) {
      StepHold(config, user);
    } else if (choice < 76) {
      StepRelease();
    } else if (choice < 93) {
      StepPay();
    } else if (choice < 97) {
      StepRepeat();
    } else if (choice < 98) {
      // From no limit to a limit: never below the users ACTIVE now, whom a
      // new policy does not send back.
      uint32_t floor_active_max = active_max_[schedule];
      ScheduleInfo info;
      if (floor_active_max == 0 && core_->GetSchedule(schedule, &info) == ResultCode::kOk) {
        floor_active_max = static_cast<uint32_t>(info.queue_active);
      }
      const AdmissionPolicy policy = RandomPolicy(floor_active_max);
      if (Apply(SetPolicyCommand(schedule, policy, 0)).ok())
        active_max_[schedule] = policy.active_max;
    } else {
      step_events_.Clear();
      core_->AdvanceTime(now_, &step_events_);
      ObserveEvents();
    }
  }

  void StepHold(const ScheduleConfig& config, UserId user) {
    const uint32_t count = Chance(2) ? 0 : 1 + Uniform(3);
    Command command =
        HoldCommand(config.schedule, user, MaybeBadToken(config.schedule, user), {}, 0);
    command.seat_count = static_cast<uint8_t>(count);
    for (uint32_t i = 0; i < count; ++i) {
      command.seats[i] = static_cast<SeatIndex>(Uniform(config.seat_count + (Chance(2) ? 5 : 0)));
    }
    const Reply reply = Apply(command);
    if (!reply.ok()) return;
    ModelHold hold{config.schedule,
                   reply.hold,
                   user,
                   std::vector<SeatIndex>(command.seats.begin(), command.seats.begin() + count),
                   reply.hold_deadline_ms,
                   reply.hold_proof};
    // No seat may be in two live holds, or held once sold.
    for (SeatIndex seat : hold.seats) {
      const auto key = std::make_pair(config.schedule, seat);
      EXPECT_FALSE(sold_seats_.contains(key)) << Where() << ": sold seat " << seat << " held again";
      auto holder = live_seat_holder_.find(key);
      EXPECT_TRUE(holder == live_seat_holder_.end())
          << Where() << ": seat " << seat << " held twice (holds " << holder->second << ", "
          << reply.hold << ")";
      live_seat_holder_[key] = reply.hold;
    }
    holds_.push_back(hold);
  }

  ModelHold* RandomHold() {
    if (holds_.empty()) return nullptr;
    // Prefer recent holds: they are the ones still alive.
    const size_t window = std::min<size_t>(holds_.size(), 64);
    if (Chance(80)) {
      for (size_t i = 0; i < window; ++i) {
        ModelHold& hold = holds_[holds_.size() - 1 - i];
        if (!hold.ended) return &hold;
      }
    }
    return &holds_[holds_.size() - 1 - Uniform(window)];
  }

  void StepRelease() {
    ModelHold* hold = RandomHold();
    if (hold == nullptr) return;
    const UserId user = Chance(90) ? hold->user : 1 + Uniform(kUsers);
    if (Chance(50)) {
      Apply(
          ReleaseCommand(hold->schedule, user, MaybeBadToken(hold->schedule, user), hold->hold, 0));
      return;
    }
    // The hold's proof, now and then altered: only the holder's own releases.
    const HoldProof proof = Chance(10) ? hold->proof ^ (1ULL << Uniform(64)) : hold->proof;
    const Reply reply = Apply(ReleaseWithProofCommand(hold->schedule, user, hold->hold, proof, 0));
    if (proof != hold->proof || user != hold->user) {
      EXPECT_EQ(reply.code, ResultCode::kHoldProofInvalid) << Where();
    }
  }

  void StepPay() {
    ModelHold* hold = RandomHold();
    if (hold == nullptr) return;
    const UserId user = Chance(90) ? hold->user : 1 + Uniform(kUsers);
    const ModelHold snapshot = *hold;  // Apply may grow holds_.
    const Reply reply = Apply(PayCommand(snapshot.schedule, user,
                                         MaybeBadToken(snapshot.schedule, user), snapshot.hold, 0));
    if (!reply.ok()) return;
    ++successful_pays_;
    EXPECT_EQ(user, snapshot.user) << Where() << ": a foreign hold was paid";
    EXPECT_LT(now_, snapshot.deadline_ms) << Where() << ": an expired hold was paid";
    payments_total_ += reply.amount;
    paid_seats_ += snapshot.seats.size();
    for (SeatIndex seat : snapshot.seats) {
      EXPECT_TRUE(sold_seats_.insert({snapshot.schedule, seat}).second)
          << Where() << ": seat " << seat << " sold twice";
    }
  }

  // A repeat of an earlier mutating command: the same reply, no effect.
  void StepRepeat() {
    if (history_.empty()) return;
    const PastCommand past = history_[Uniform(history_.size())];
    ++repeats_;
    step_events_.Clear();
    core_->AdvanceTime(now_, &step_events_);
    ObserveEvents();
    step_events_.Clear();
    const uint64_t hash_before = core_->StateHash();
    const Reply reply = core_->Apply(past.command, now_, &step_events_);
    EXPECT_EQ(std::memcmp(&reply, &past.reply, sizeof(Reply)), 0)
        << Where() << ": a repeated request got a different reply";
    EXPECT_EQ(step_events_.count(), 0u) << Where() << ": a repeated request had an effect";
    EXPECT_EQ(core_->StateHash(), hash_before) << Where();
  }

  // Follows the events: queue states, FIFO admission, gate, hold ends.
  void ObserveEvents() {
    step_events_.ForEach([&](const EventView& view) {
      switch (view.type) {
        case EventType::kQueueEntered: {
          const auto event = view.As<QueueEntered>();
          entry_state_[{event.schedule, event.entry}] = QueueState::kWaiting;
          latest_entry_[{event.schedule, event.user}] = event.entry;
          break;
        }
        case EventType::kQueueAdmitted: {
          const auto event = view.As<QueueAdmitted>();
          auto [last, inserted] = last_admitted_.try_emplace(event.schedule, event.entry);
          EXPECT_TRUE(inserted || event.entry > last->second)
              << Where() << ": admission out of entry order";
          last->second = event.entry;
          entry_state_[{event.schedule, event.entry}] = QueueState::kActive;
          ++admissions_;
          break;
        }
        case EventType::kQueueEnded: {
          const auto event = view.As<QueueEnded>();
          entry_state_[{event.schedule, event.entry}] = event.state;
          ++queue_ends_;
          break;
        }
        case EventType::kSeatsHeld: {
          const auto event = view.As<SeatsHeld>();
          ExpectActive(event.schedule, event.user, "hold");
          break;
        }
        case EventType::kSeatsHeldRecorded: {
          const auto event = view.As<SeatsHeldRecorded>();
          ExpectActive(event.held.schedule, event.held.user, "hold");
          break;
        }
        case EventType::kPaymentStarted: {
          const auto event = view.As<PaymentStarted>();
          ExpectActive(event.schedule, event.user, "payment");
          EndModelHold(event.schedule, event.hold);
          break;
        }
        case EventType::kPaymentCompleted: {
          // The saga in one event: the payer's entry was ACTIVE and is DONE.
          const auto event = view.As<PaymentCompleted>();
          ExpectActive(event.schedule, event.user, "payment");
          EndModelHold(event.schedule, event.hold);
          entry_state_[{event.schedule, event.entry}] = QueueState::kDone;
          ++queue_ends_;
          break;
        }
        case EventType::kHoldEnded: {
          const auto event = view.As<HoldEnded>();
          if (event.reason == HoldEndReason::kExpired) ++expired_holds_;
          EndModelHold(event.schedule, event.hold);
          break;
        }
        default:
          break;
      }
    });
    const absl::Status status = follower_.ApplyEvents(step_events_);
    EXPECT_TRUE(status.ok()) << Where() << ": replay failed: " << status;
    if (from_snapshot_ != nullptr) {
      const absl::Status replayed = from_snapshot_->ApplyEvents(step_events_);
      EXPECT_TRUE(replayed.ok()) << Where() << ": replay after a snapshot failed: " << replayed;
    }
  }

  void ExpectActive(ScheduleId schedule, UserId user, const char* what) {
    auto entry = latest_entry_.find({schedule, user});
    ASSERT_TRUE(entry != latest_entry_.end()) << Where() << ": " << what << " without an entry";
    const QueueState state = entry_state_[std::make_pair(schedule, entry->second)];
    EXPECT_EQ(state, QueueState::kActive) << Where() << ": " << what << " without an ACTIVE token";
  }

  void EndModelHold(ScheduleId schedule, HoldId hold) {
    for (auto it = holds_.rbegin(); it != holds_.rend(); ++it) {
      if (it->schedule != schedule || it->hold != hold) continue;
      if (it->ended) return;
      it->ended = true;
      for (SeatIndex seat : it->seats) live_seat_holder_.erase({schedule, seat});
      return;
    }
  }

  void CheckAfterStep() {
    const absl::Status invariants = core_->CheckInvariants();
    ASSERT_TRUE(invariants.ok()) << Where() << ": " << invariants;
    const CoreStats stats = core_->Stats();
    EXPECT_EQ(stats.seats_sold, paid_seats_) << Where() << ": sold seats != seats of paid holds";
    EXPECT_EQ(stats.charges_total, charges_total_) << Where();
    EXPECT_EQ(stats.payments_total, payments_total_) << Where();
    Points balances = 0;
    for (UserId user = 1; user <= kUsers; ++user) balances += core_->Balance(user);
    EXPECT_EQ(balances + payments_total_, charges_total_) << Where() << ": points not conserved";
    for (const ScheduleConfig& config : configs_) {
      ScheduleInfo info;
      ASSERT_EQ(core_->GetSchedule(config.schedule, &info), ResultCode::kOk);
      const uint32_t limit = active_max_[config.schedule];
      if (limit > 0) {
        EXPECT_LE(info.queue_active, limit) << Where() << ": ACTIVE above the limit";
      }
      EXPECT_EQ(info.seats_available + info.seats_held + info.seats_sold, config.seat_count);
    }
    ASSERT_EQ(follower_.StateHash(), core_->StateHash())
        << Where() << ": the state rebuilt from events differs from the live state";
    // Now and then restart the snapshot follower from a fresh snapshot; it
    // then follows the events: snapshot + replay == live.
    if (step_ % 500 == 0) {
      std::vector<uint8_t> snapshot;
      core_->SaveSnapshot(&snapshot);
      from_snapshot_ = std::make_unique<Core>(TestCoreOptions());
      const absl::Status loaded = from_snapshot_->LoadSnapshot(snapshot);
      ASSERT_TRUE(loaded.ok()) << Where() << ": " << loaded;
      ++snapshots_;
    }
    // And now and then restart: the live core is replaced by one loaded from
    // a snapshot of it, which must go on exactly as the original would.
    if (step_ % 1000 == 700) {
      std::vector<uint8_t> snapshot;
      core_->SaveSnapshot(&snapshot);
      auto restarted = std::make_unique<Core>(TestCoreOptions());
      const absl::Status loaded = restarted->LoadSnapshot(snapshot);
      ASSERT_TRUE(loaded.ok()) << Where() << ": " << loaded;
      ASSERT_EQ(restarted->StateHash(), core_->StateHash()) << Where();
      core_ = std::move(restarted);
      ++restarts_;
    }
    if (from_snapshot_ != nullptr) {
      ASSERT_EQ(from_snapshot_->StateHash(), core_->StateHash())
          << Where() << ": snapshot + replay differs from the live state";
    }
  }

  const uint64_t seed_;
  std::mt19937_64 random_;
  std::unique_ptr<Core> core_;
  Core follower_{TestCoreOptions()};     // Rebuilt from events only.
  std::unique_ptr<Core> from_snapshot_;  // Loaded from a snapshot, then events.
  uint64_t snapshots_ = 0;
  uint64_t restarts_ = 0;
  EventBuffer step_events_;
  TimestampMs now_ = kSaleOpensMs - 2'000;
  RequestKey next_key_ = 0;
  uint64_t step_ = 0;

  std::vector<ScheduleConfig> configs_;
  std::map<ScheduleId, uint32_t> active_max_;
  std::map<std::pair<ScheduleId, UserId>, QueueToken> tokens_;
  std::map<std::pair<ScheduleId, uint32_t>, QueueState> entry_state_;
  std::map<std::pair<ScheduleId, UserId>, uint32_t> latest_entry_;
  std::map<ScheduleId, uint32_t> last_admitted_;
  std::vector<ModelHold> holds_;
  std::map<std::pair<ScheduleId, SeatIndex>, HoldId> live_seat_holder_;
  std::set<std::pair<ScheduleId, SeatIndex>> sold_seats_;
  std::vector<PastCommand> history_;
  std::vector<UserId> recent_users_;
  Points charges_total_ = 0;
  Points payments_total_ = 0;
  uint64_t paid_seats_ = 0;
  uint64_t successful_pays_ = 0;
  uint64_t expired_holds_ = 0;
  uint64_t admissions_ = 0;
  uint64_t queue_ends_ = 0;
  uint64_t repeats_ = 0;
};

TEST(SimulationTest, RandomWorkloadsKeepEveryInvariant) {
  const uint64_t steps = EnvOr("ENCORE_SIM_STEPS", 4000);
  std::vector<uint64_t> seeds;
  if (std::getenv("ENCORE_SIM_SEED") != nullptr) {
    seeds.push_back(EnvOr("ENCORE_SIM_SEED", 0));
  } else {
    const uint64_t count = EnvOr("ENCORE_SIM_SEEDS", 8);
    for (uint64_t i = 0; i < count; ++i) seeds.push_back(0x5eed0000 + i);
  }
  for (uint64_t seed : seeds) {
    std::cout << "simulation seed " << seed << " (replay: ENCORE_SIM_SEED=" << seed << ")"
              << std::endl;
    Simulation simulation(seed);
    simulation.Run(steps);
    if (HasFailure()) {
      std::cout << "FAILED at seed " << seed << std::endl;
      return;
    }
  }
}

}  // namespace
}  // namespace encore::testing
