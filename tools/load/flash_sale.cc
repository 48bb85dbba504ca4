// The flash-sale scenario (see flash_sale.h).
//
// The fans send with callbacks (Lane::Issue) and hold no lane mutex while
// sending: a Send may wait for room, which only replies make.
#include "flash_sale.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ack_log.h"
#include "encore/commands.h"
#include "encore/net/client.h"
#include "encore/result_code.h"
#include "lane.h"
#include "monitor.h"
#include "run.h"
#include "run_ids.h"

namespace encore::load {
namespace {

using net::DecodedResponse;

constexpr int kHoldAttemptsMax = 5;
constexpr int kSeatMapReadsMax = 3;
// A late payer pays this long after the hold's deadline.
constexpr int64_t kLateMarginMs = 300;

enum class Fate : uint8_t { kPay, kAbandon, kLate };
enum class Phase : uint8_t { kWaiting, kShopping, kLateWait, kDone };

struct Fan {
  UserId user = 0;
  QueueToken token;
  uint32_t entry = 0;  // The queue's entry number: low 32 bits of the locator.
  Phase phase = Phase::kWaiting;
  Fate fate = Fate::kPay;
  bool busy = false;  // A request is in flight.
  bool active_seen = false;
  Clock::time_point active_at;
  Clock::time_point next_poll;
  Clock::time_point pay_at;
  int hold_attempts = 0;
  int seat_map_reads = 0;
  HoldId hold = 0;
  uint32_t hold_seats = 0;
  std::mt19937_64 random;
};

class FlashSale {
 public:
  FlashSale(const LoadOptions& options, uint64_t run_id, std::vector<std::unique_ptr<Lane>>* lanes)
      : options_(options), lanes_(*lanes), schedule_(ScheduleIdOf(run_id, 0)) {
    fans_.resize(options.users);
    for (uint32_t i = 0; i < options.users; ++i) {
      Fan& fan = fans_[i];
      fan.user = UserIdOf(run_id, i);
      fan.random.seed(SplitMix(options.seed ^ (i + 1)));
      const uint32_t roll = static_cast<uint32_t>(fan.random() % 100);
      fan.fate = roll < options.abandon_percent                          ? Fate::kAbandon
                 : roll < options.abandon_percent + options.late_percent ? Fate::kLate
                                                                         : Fate::kPay;
    }
  }

  ScheduleId schedule() const { return schedule_; }
  Points charge_amount() const { return options_.price * 2 + 100; }

  void ChargeAll() {
    for (uint32_t i = 0; i < fans_.size(); ++i) {
      Lane& lane = LaneOf(i);
      const UserId user = fans_[i].user;
      const Points amount = charge_amount();
      lane.Issue(Op::kCharge, MakeCharge(user, amount, 1), [&lane, user, amount](auto& r) {
        std::lock_guard<std::mutex> lock(lane.mutex);
        lane.expected.balances[user] += r.code == ResultCode::kOk ? amount : 0;
        if (r.code == ResultCode::kOk && lane.ack_log != nullptr) {
          lane.ack_log->Charge(lane.run_id, user, 1, amount);
        }
        NoteUncertain(lane, user, r.code);
      });
    }
    WaitIdle(lanes_);
  }

  // Everyone enters at once, in user order; then polls, shops and pays.
  void Run(double deadline_s) {
    start_ = Clock::now();
    for (uint32_t i = 0; i < fans_.size(); ++i) {
      Lane& lane = LaneOf(i);
      {
        std::lock_guard<std::mutex> lock(lane.mutex);
        fans_[i].busy = true;
      }
      lane.Issue(Op::kEnter, MakeEnterQueue(schedule_, fans_[i].user, 2),
                 [this, i](const DecodedResponse& r) { OnQueueReply(i, r, /*entering=*/true); });
    }
    while (SecondsSince(start_) < deadline_s && done_.load() < fans_.size()) {
      DriveTimers();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    WaitIdle(lanes_);
  }

  std::string ProgressText() const {
    return "paid seats " + std::to_string(seats_paid_.load()) + "/" +
           std::to_string(options_.seats) + "  users done " + std::to_string(done_.load()) + "/" +
           std::to_string(fans_.size());
  }

  void Figures(FlashSaleFigures* figures) {
    figures->users = options_.users;
    figures->seats = options_.seats;
    figures->seats_paid = seats_paid_.load();
    figures->last_sale_ms = last_sale_ms_.load();
    if (figures->seats_paid == options_.seats) figures->sell_out_ms = figures->last_sale_ms;
    for (size_t i = 0; i < lanes_.size(); ++i) lanes_[i]->mutex.lock();
    std::vector<const Fan*> admitted;
    for (const Fan& fan : fans_) {
      if (fan.active_seen) admitted.push_back(&fan);
      if (fan.phase != Phase::kDone) ++figures->unfinished;
    }
    for (size_t i = 0; i < lanes_.size(); ++i) lanes_[i]->mutex.unlock();
    figures->admitted = admitted.size();
    figures->admitted_in_order = FairnessOf(admitted);
    figures->in_order_share =
        admitted.empty() ? 1.0 : static_cast<double>(figures->admitted_in_order) / admitted.size();
    figures->paid_users = paid_users_.load();
    figures->abandoned = abandoned_.load();
    figures->late_refused = late_refused_.load();
    figures->late_paid = late_paid_.load();
    figures->sold_out_left = sold_out_left_.load();
  }

 private:
  Lane& LaneOf(uint32_t index) { return *lanes_[index % lanes_.size()]; }

  // A user is admitted in entry order when nobody who entered after them was
  // seen ACTIVE more than one poll interval (plus 5 ms) before them: the tool
  // only sees an admission when it polls, so closer than that is noise.
  uint64_t FairnessOf(std::vector<const Fan*> admitted) const {
    std::sort(admitted.begin(), admitted.end(),
              [](const Fan* a, const Fan* b) { return a->entry < b->entry; });
    const auto tolerance = std::chrono::milliseconds(options_.poll_ms + 5);
    uint64_t in_order = 0;
    Clock::time_point earliest_later = Clock::time_point::max();
    for (size_t k = admitted.size(); k-- > 0;) {
      const Fan& fan = *admitted[k];
      if (earliest_later == Clock::time_point::max() ||
          fan.active_at <= earliest_later + tolerance) {
        ++in_order;
      }
      earliest_later = std::min(earliest_later, fan.active_at);
    }
    return in_order;
  }

  // REQUIRES: the fan's lane mutex held. Counts each fan once.
  void Finish(Fan& fan) {
    if (fan.phase == Phase::kDone) return;
    fan.phase = Phase::kDone;
    ++done_;
  }

  // Sends a request for fan `i` with the lane unlocked. REQUIRES: lane.mutex
  // not held.
  void SendHold(uint32_t i, std::vector<SeatIndex> seats) {
    Lane& lane = LaneOf(i);
    Fan& fan = fans_[i];
    const RequestKey key =
        100 + static_cast<RequestKey>(fan.hold_attempts + fan.seat_map_reads * 10);
    const Command command = MakeHoldSeats(schedule_, fan.user, fan.token, seats, key);
    lane.Issue(Op::kHold, command,
               [this, i, key, seats = std::move(seats)](const DecodedResponse& r) {
                 OnHoldReply(i, r, key, seats);
               });
  }

  std::vector<SeatIndex> PickSeats(Fan& fan, const std::vector<SeatIndex>& from) {
    const uint32_t wanted = 1 + static_cast<uint32_t>(fan.random() % 2);
    std::vector<SeatIndex> seats;
    for (int tries = 0; seats.size() < wanted && tries < 16; ++tries) {
      const SeatIndex seat = from.empty() ? static_cast<SeatIndex>(fan.random() % options_.seats)
                                          : from[fan.random() % from.size()];
      if (std::find(seats.begin(), seats.end(), seat) == seats.end()) seats.push_back(seat);
    }
    return seats;
  }

  // REQUIRES: the fan was moved to kShopping (and busy) under its lane mutex
  // by the caller, in the same critical section that saw it admitted.
  void StartShopping(uint32_t i) {
    std::vector<SeatIndex> seats;
    {
      std::lock_guard<std::mutex> lock(LaneOf(i).mutex);
      seats = PickSeats(fans_[i], {});
    }
    SendHold(i, std::move(seats));
  }

  void Leave(uint32_t i, std::atomic<uint64_t>* count) {
    Lane& lane = LaneOf(i);
    Fan& fan = fans_[i];
    if (count != nullptr) ++*count;
    lane.Issue(Op::kLeave, MakeLeaveQueue(schedule_, fan.user, fan.token, 3),
               [this, i, &lane](const DecodedResponse&) {
                 std::lock_guard<std::mutex> lock(lane.mutex);
                 fans_[i].busy = false;
                 Finish(fans_[i]);
               });
  }

  void OnQueueReply(uint32_t i, const DecodedResponse& r, bool entering) {
    Lane& lane = LaneOf(i);
    bool shop = false;
    {
      std::lock_guard<std::mutex> lock(lane.mutex);
      Fan& fan = fans_[i];
      fan.busy = false;
      if (entering && r.code == ResultCode::kOk) {
        fan.token = r.reply.token;
        fan.entry = static_cast<uint32_t>(r.reply.token.locator & 0xffffffffu);
      }
      if (r.code == ResultCode::kOk && r.reply.queue_state == QueueState::kActive) {
        if (!fan.active_seen) {
          fan.active_seen = true;
          fan.active_at = Clock::now();
        }
        // Shopping starts here, under the lock: were it left for StartShopping,
        // DriveTimers could see the fan WAITING and not busy in between, send it
        // away at sell-out, and the fan would both leave and shop (and be
        // counted done twice, ending the run with another fan unfinished).
        if (fan.phase == Phase::kWaiting) {
          fan.phase = Phase::kShopping;
          fan.busy = true;
          shop = true;
        }
      } else if (r.code == ResultCode::kOk && r.reply.queue_state == QueueState::kWaiting) {
        fan.next_poll = Clock::now() + std::chrono::milliseconds(options_.poll_ms);
      } else if (fan.phase != Phase::kDone) {
        if (entering) NoteUncertain(lane, fan.user, r.code);
        Finish(fan);  // Dropped, expired, or the enter failed.
      }
    }
    if (shop) StartShopping(i);
  }

  void OnHoldReply(uint32_t i, const DecodedResponse& r, RequestKey key,
                   const std::vector<SeatIndex>& held) {
    Lane& lane = LaneOf(i);
    Fan& fan = fans_[i];
    enum { kNone, kRetry, kSeatMap, kPay, kLeave } next = kNone;
    std::vector<SeatIndex> seats;
    {
      std::lock_guard<std::mutex> lock(lane.mutex);
      if (r.code == ResultCode::kOk) {
        if (lane.ack_log != nullptr) {
          lane.ack_log->Hold(lane.run_id, schedule_, fan.user, key, r.reply.hold, held);
        }
        fan.hold = r.reply.hold;
        fan.hold_seats = r.reply.seat_count;
        if (fan.fate == Fate::kPay) {
          next = kPay;
        } else if (fan.fate == Fate::kLate) {
          fan.phase = Phase::kLateWait;
          fan.busy = false;
          fan.pay_at =
              Clock::now() + std::chrono::milliseconds(options_.hold_ttl_ms + kLateMarginMs);
        } else {
          ++abandoned_;
          fan.busy = false;
          Finish(fan);  // Walks away: the hold expires, the token times out.
        }
      } else if (r.code == ResultCode::kSeatUnavailable && ++fan.hold_attempts < kHoldAttemptsMax) {
        next = kRetry;
        seats = PickSeats(fan, {});
      } else if (r.code == ResultCode::kSeatUnavailable && fan.seat_map_reads < kSeatMapReadsMax) {
        ++fan.seat_map_reads;
        next = kSeatMap;
      } else {
        if (Classify(r.code) == Outcome::kError) NoteUncertain(lane, fan.user, r.code);
        next = kLeave;
      }
    }
    if (next == kRetry) SendHold(i, std::move(seats));
    if (next == kPay) SendPay(i);
    if (next == kLeave) Leave(i, &sold_out_left_);
    if (next == kSeatMap) {
      lane.IssueSeatMap(schedule_, fan.user, fan.token,
                        [this, i](const DecodedResponse& m) { OnSeatMap(i, m); });
    }
  }

  void OnSeatMap(uint32_t i, const DecodedResponse& m) {
    std::vector<SeatIndex> available;
    for (size_t s = 0; s < m.seats.size(); ++s) {
      if (m.seats[s] == SeatState::kAvailable) available.push_back(static_cast<SeatIndex>(s));
    }
    if (m.code != ResultCode::kOk || available.empty()) return Leave(i, &sold_out_left_);
    std::vector<SeatIndex> seats;
    {
      std::lock_guard<std::mutex> lock(LaneOf(i).mutex);
      fans_[i].hold_attempts = 0;
      seats = PickSeats(fans_[i], available);
    }
    SendHold(i, std::move(seats));
  }

  void SendPay(uint32_t i) {
    Lane& lane = LaneOf(i);
    Fan& fan = fans_[i];
    lane.Issue(Op::kPay, MakePay(schedule_, fan.user, fan.token, fan.hold, 4),
               [this, i](const DecodedResponse& r) { OnPayReply(i, r); });
  }

  void OnPayReply(uint32_t i, const DecodedResponse& r) {
    Lane& lane = LaneOf(i);
    Fan& fan = fans_[i];
    bool leave = false;
    {
      std::lock_guard<std::mutex> lock(lane.mutex);
      fan.busy = false;
      const bool late = fan.fate == Fate::kLate;
      LogPay(lane, schedule_, fan.user, /*key=*/4, fan.hold, r.code, r.reply.amount);
      if (r.code == ResultCode::kOk) {
        lane.expected.balances[fan.user] -= r.reply.amount;
        lane.expected.seats_paid[schedule_] += fan.hold_seats;
        const uint64_t paid = seats_paid_ += fan.hold_seats;
        last_sale_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
        ++(late ? late_paid_ : paid_users_);
        (void)paid;
        Finish(fan);
      } else {
        NoteUncertain(lane, fan.user, r.code);
        if (late) ++late_refused_;
        leave = true;
      }
    }
    if (leave) Leave(i, nullptr);
  }

  // Polls due WAITING users, sends due late payments, and once every seat is
  // paid sends the WAITING users away.
  void DriveTimers() {
    const bool sold_out = seats_paid_.load() >= options_.seats;
    for (uint32_t i = 0; i < fans_.size(); ++i) {
      Lane& lane = LaneOf(i);
      enum { kNone, kPoll, kPay, kLeave } action = kNone;
      {
        std::lock_guard<std::mutex> lock(lane.mutex);
        Fan& fan = fans_[i];
        if (fan.busy || fan.phase == Phase::kDone) continue;
        const Clock::time_point now = Clock::now();
        if (fan.phase == Phase::kWaiting && sold_out) {
          action = kLeave;
        } else if (fan.phase == Phase::kWaiting && now >= fan.next_poll) {
          action = kPoll;
        } else if (fan.phase == Phase::kLateWait && now >= fan.pay_at) {
          action = kPay;
        }
        if (action != kNone) fan.busy = true;
      }
      if (action == kPoll) {
        lane.Issue(Op::kStatus, MakeQueueStatus(schedule_, fans_[i].user, fans_[i].token),
                   [this, i](const DecodedResponse& r) { OnQueueReply(i, r, false); });
      }
      if (action == kPay) SendPay(i);
      if (action == kLeave) Leave(i, &sold_out_left_);
    }
  }

  const LoadOptions& options_;
  std::vector<std::unique_ptr<Lane>>& lanes_;
  const ScheduleId schedule_;
  std::vector<Fan> fans_;  // Each fan under its lane's mutex.
  Clock::time_point start_;
  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> seats_paid_{0};
  std::atomic<double> last_sale_ms_{-1};
  std::atomic<uint64_t> paid_users_{0}, abandoned_{0}, late_refused_{0}, late_paid_{0},
      sold_out_left_{0};
};

}  // namespace

absl::StatusOr<LoadReport> RunFlashSale(const LoadOptions& options, std::ostream& progress) {
  if (absl::Status valid = ValidateLoadOptions(options); !valid.ok()) return valid;
  LoadReport report;
  report.scenario = "flash-sale";
  report.run_id = RunIdOf(options);
  report.seed = options.seed;
  report.expected.concert = report.run_id;
  const ScheduleId schedule = ScheduleIdOf(report.run_id, 0);
  // Abandoners keep their ACTIVE slot until it times out: make that soon
  // after their hold expires, so the queue keeps moving.
  const int64_t active_ttl_ms = options.hold_ttl_ms * 2 + 2'000;
  AdmissionPolicy policy;
  policy.active_max = options.active_max;
  if (absl::Status s = CreateCatalog(options, report.run_id, {schedule}, options.seats, 2, policy,
                                     active_ttl_ms);
      !s.ok()) {
    return s;
  }
  report.expected.seats_paid[schedule] = 0;
  absl::StatusOr<std::unique_ptr<AckLog>> ack_log = StartAckLog(options, report.run_id, {schedule});
  if (!ack_log.ok()) return ack_log.status();
  absl::StatusOr<std::vector<std::unique_ptr<Lane>>> lanes =
      ConnectLanes(options, ack_log->get(), report.run_id);
  if (!lanes.ok()) return lanes.status();
  FlashSale sale(options, report.run_id, &*lanes);
  const Clock::time_point start = Clock::now();
  Monitor monitor(&*lanes, options.progress, progress, [&sale] { return sale.ProgressText(); });
  sale.ChargeAll();
  sale.Run(options.duration_s > 0 ? options.duration_s : kFlashSaleDurationDefaultS);
  FinishReport(*lanes, monitor, start, &report);
  sale.Figures(&report.flash);
  return report;
}

}  // namespace encore::load
