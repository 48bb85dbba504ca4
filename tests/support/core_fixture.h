// Helpers for tests that drive a Core directly: command builders and a
// fixture with a concert, a schedule and a manual clock.
#ifndef ENCORE_TESTS_SUPPORT_CORE_FIXTURE_H_
#define ENCORE_TESTS_SUPPORT_CORE_FIXTURE_H_

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string_view>

#include "encore/core.h"
#include "encore/event_buffer.h"
#include "gtest/gtest.h"

namespace encore {

// Lets GoogleTest print a result code by name ("SEAT_UNAVAILABLE (509)")
// instead of as raw bytes. Found by argument-dependent lookup.
void PrintTo(ResultCode code, std::ostream* os);

}  // namespace encore

namespace encore::testing {

inline constexpr ConcertId kConcert = 7;
inline constexpr ScheduleId kSchedule = 70;
inline constexpr TimestampMs kSaleOpensMs = 1'000'000;
inline constexpr TimestampMs kSaleClosesMs = 100'000'000;

// A schedule of `seat_count` seats in two tiers: the first half at 5000, the
// rest at 3000; no admission limit, so an entrant is ACTIVE at once.
ScheduleConfig MakeScheduleConfig(ScheduleId schedule = kSchedule, uint32_t seat_count = 100);
// The same, on sale now by the wall clock (SystemClock): opened a second ago,
// closing in an hour. For tests of the runtime, the server and the tools.
ScheduleConfig OnSaleNowConfig(ScheduleId schedule, uint32_t seat_count);

Command CreateConcertCommand(ConcertId concert, std::string_view title, RequestKey key);
Command CreateScheduleCommand(const ScheduleConfig& config, RequestKey key);
Command SetPolicyCommand(ScheduleId schedule, AdmissionPolicy policy, RequestKey key);
Command EnterCommand(ScheduleId schedule, UserId user, RequestKey key);
Command StatusCommand(ScheduleId schedule, UserId user, QueueToken token);
Command LeaveCommand(ScheduleId schedule, UserId user, QueueToken token, RequestKey key);
Command HoldCommand(ScheduleId schedule, UserId user, QueueToken token,
                    std::initializer_list<SeatIndex> seats, RequestKey key);
// Proven by the holder's token.
Command ReleaseCommand(ScheduleId schedule, UserId user, QueueToken token, HoldId hold,
                       RequestKey key);
// Proven by the hold's proof (HoldSeats' reply.hold_proof).
Command ReleaseWithProofCommand(ScheduleId schedule, UserId user, HoldId hold, HoldProof proof,
                                RequestKey key);
Command PayCommand(ScheduleId schedule, UserId user, QueueToken token, HoldId hold, RequestKey key);
Command ChargeCommand(UserId user, Points amount, RequestKey key);
Command BalanceCommand(UserId user);

// A core with concert kConcert and schedule kSchedule created, a clock at
// kSaleOpensMs, and every event kept (for replay checks).
class CoreHarness {
 public:
  explicit CoreHarness(const ScheduleConfig& config = MakeScheduleConfig());
  // The same with these options (limits, windows) instead of TestCoreOptions().
  CoreHarness(const ScheduleConfig& config, const CoreOptions& options);

  // Applies at the current clock; a fresh request key is taken when key == 0
  // for a mutating command.
  Reply Run(Command command);
  // Moves the clock to `now` and runs the command there, with no AdvanceTime
  // call first: the command itself is the first thing the core sees at `now`.
  Reply RunAt(Command command, TimestampMs now);
  // Moves the clock forward and lets due timers fire.
  void AdvanceTo(TimestampMs now);
  void AdvanceBy(int64_t ms) { AdvanceTo(now_ + ms); }

  // Enters the queue and returns the (ACTIVE, with the default policy) token.
  QueueToken Admit(UserId user, ScheduleId schedule = kSchedule);
  // Charges, enters, holds the seats: the hold id, or 0 on refusal.
  HoldId HoldFor(UserId user, std::initializer_list<SeatIndex> seats, QueueToken* token);

  // A fresh core (with the same options) rebuilt from every event so far;
  // its hash must equal core().
  uint64_t ReplayHash() const;
  const CoreOptions& options() const { return options_; }

  Core& core() { return core_; }
  TimestampMs now() const { return now_; }
  const EventBuffer& events() const { return events_; }
  RequestKey NextKey() { return ++last_key_; }

 private:
  CoreOptions options_;
  Core core_;
  EventBuffer events_;
  TimestampMs now_ = kSaleOpensMs;
  RequestKey last_key_ = 1'000'000;
};

// The event at `index` (counted from 0) of `events`, decoded as a T; a test
// failure, and a zero T, when that record is missing or not a T.
template <typename T>
T EventAt(const EventBuffer& events, size_t index) {
  T event{};
  bool found = false;
  size_t at = 0;
  events.ForEach([&](const EventView& view) {
    if (at++ != index) return;
    found = view.type == T::kType && view.Decode(&event);
  });
  EXPECT_TRUE(found) << "no " << EventTypeName(T::kType) << " at event " << index;
  return event;
}

CoreOptions TestCoreOptions();

}  // namespace encore::testing

#endif  // ENCORE_TESTS_SUPPORT_CORE_FIXTURE_H_
