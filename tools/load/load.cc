// encore-load's scenarios, bookkeeping and checks (see load.h).
//
// Each connection is a Lane (lane.h): a client, and what it has measured and
// seen acknowledged, under the lane's mutex. Replies are handled on the
// client's reader thread; the next request of a user is sent from there
// (closed loop), so the client coalesces a whole batch of them into one
// write. The flash sale sends with callbacks and holds no lane mutex while
// sending (a Send may wait for room, which only replies make); a throughput
// run's timed requests go through a TimedLane (timed_lane.h), which handles
// each batch of replies under one lock.
#include "load.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "encore/commands.h"
#include "encore/net/client.h"
#include "encore/net/protocol.h"
#include "encore/result_code.h"
#include "hold_only.h"
#include "lane.h"
#include "mix_workload.h"
#include "pay_only.h"
#include "run_ids.h"
#include "seat_plan.h"
#include "timed_lane.h"

namespace encore::load {
namespace {

using net::DecodedResponse;

constexpr uint32_t kConnectionsMax = 256;
constexpr uint32_t kDepthMax = 65'536;
constexpr uint32_t kThroughputSeatsDefault = 200'000;
// The per-user seat limit of a throughput schedule (a user holds one seat at
// a time, and pays once: a paid token is DONE).
constexpr uint32_t kSeatsPerUserMax = 8;
static_assert(kSeatsPerUserMax <= kHoldSeatsMax);
// Users of one lane of a throughput run: UserIdOf(run, lane << 24 | index).
constexpr uint64_t kUsersPerLaneMax = uint64_t{1} << 24;
constexpr int kHoldAttemptsMax = 5;
constexpr int kSeatMapReadsMax = 3;
// A late payer pays this long after the hold's deadline.
constexpr int64_t kLateMarginMs = 300;
constexpr size_t kBreachLinesMax = 20;

int64_t WallMs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// --- Connections ------------------------------------------------------------------------

absl::StatusOr<std::vector<std::unique_ptr<Lane>>> ConnectLanes(const LoadOptions& options) {
  std::vector<std::unique_ptr<Lane>> lanes;
  for (uint32_t i = 0; i < options.connections; ++i) {
    net::ClientOptions client_options;
    client_options.host = options.host;
    client_options.port = options.port;
    client_options.client_name = "encore-load";
    client_options.in_flight_max = options.depth;
    absl::StatusOr<std::unique_ptr<net::Client>> client = net::Client::Connect(client_options);
    if (!client.ok()) return client.status();
    lanes.push_back(std::make_unique<Lane>(std::move(*client)));
  }
  return lanes;
}

absl::Status Expect(absl::StatusOr<DecodedResponse> response, const std::string& what) {
  if (!response.ok()) return response.status();
  if (response->code != ResultCode::kOk) {
    return absl::FailedPreconditionError(
        what + " refused: " + std::string(ResultCodeName(response->code)) +
        (response->message.empty() ? "" : " " + response->message));
  }
  return absl::OkStatus();
}

// Creates the run's concert and its schedules, open for sale now.
absl::Status CreateCatalog(const LoadOptions& options, ConcertId concert,
                           const std::vector<ScheduleId>& schedules, uint32_t seats,
                           uint32_t per_user, const AdmissionPolicy& policy,
                           int64_t active_ttl_ms) {
  absl::StatusOr<std::unique_ptr<net::Client>> admin = ConnectAdmin(options, "encore-load-admin");
  if (!admin.ok()) return admin.status();
  // Admin commands share one key space (user 0): keys of this run's own.
  RequestKey key = concert << 20 | 1;
  const std::string title = "encore-load " + std::to_string(concert);
  if (absl::Status s =
          Expect((*admin)->Call(MakeCreateConcert(concert, title, key++)), "create-concert");
      !s.ok()) {
    return s;
  }
  for (ScheduleId schedule : schedules) {
    ScheduleConfig config;
    config.concert = concert;
    config.schedule = schedule;
    config.sale_opens_at_ms = WallMs() - 60'000;  // Tolerates a little clock skew.
    config.sale_closes_at_ms = WallMs() + 6 * 3'600'000;
    config.performance_at_ms = config.sale_closes_at_ms;
    config.hold_ttl_ms = options.hold_ttl_ms;
    config.active_ttl_ms = active_ttl_ms;
    config.seat_count = seats;
    config.seats_per_user_max = per_user;
    config.policy = policy;
    config.tier_count = 1;
    config.tiers[0] = PriceTier{0, 0, options.price};
    if (absl::Status s = Expect((*admin)->Call(MakeCreateSchedule(config, key++)),
                                "create-schedule " + std::to_string(schedule));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// --- Progress, once a second ------------------------------------------------------------

class Monitor {
 public:
  Monitor(std::vector<std::unique_ptr<Lane>>* lanes, bool print, std::ostream& out,
          std::function<std::string()> extra = nullptr)
      : lanes_(lanes), print_(print), out_(out), extra_(std::move(extra)) {
    start_ = Clock::now();
    thread_ = std::thread([this] { Loop(); });
  }
  ~Monitor() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  const std::vector<SecondSample>& timeline() const { return timeline_; }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    Clock::time_point next = start_;
    while (true) {
      next += std::chrono::seconds(1);
      if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
      Sample();
    }
  }
  void Sample() {
    LatencyHistogram latency;
    SecondSample sample;
    sample.at_s = SecondsSince(start_);
    for (auto& lane : *lanes_) lane->TakeSecond(&latency, &sample.requests, &sample.errors);
    sample.p99_us = latency.Percentile(99);
    timeline_.push_back(sample);
    if (!print_) return;
    char line[160];
    std::snprintf(line, sizeof(line), "[%5.1fs] %10.0f req/s  errors %-6llu p99 %8.2f ms",
                  sample.at_s, static_cast<double>(sample.requests),
                  static_cast<unsigned long long>(sample.errors), sample.p99_us / 1000.0);
    out_ << line << (extra_ ? "  " + extra_() : "") << "\n" << std::flush;
  }

  std::vector<std::unique_ptr<Lane>>* lanes_;
  bool print_;
  std::ostream& out_;
  std::function<std::string()> extra_;
  Clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<SecondSample> timeline_;
  std::thread thread_;
};

void WaitIdle(std::vector<std::unique_ptr<Lane>>& lanes) {
  for (auto& lane : lanes) lane->WaitCallbacks(kRepliesWaitMax);
}

void FinishReport(std::vector<std::unique_ptr<Lane>>& lanes, Monitor& monitor,
                  Clock::time_point start, LoadReport* report) {
  monitor.Stop();
  report->elapsed_s = SecondsSince(start);
  report->timeline = monitor.timeline();
  for (auto& lane : lanes) {
    lane->MergeInto(&report->operations);
    std::lock_guard<std::mutex> lock(lane->mutex);
    for (auto& [schedule, seats] : lane->expected.seats_paid) {
      report->expected.seats_paid[schedule] += seats;
    }
    for (auto& [user, balance] : lane->expected.balances)
      report->expected.balances[user] += balance;
    for (auto& [user, flag] : lane->expected.uncertain) report->expected.uncertain[user] = flag;
    if (!report->server_lost && (!lane->client().connected() || lane->unavailable > 0)) {
      report->server_lost = true;
      report->server_lost_reason = !lane->client().connected()
                                       ? "the connection to the server was lost"
                                       : "the server answered UNAVAILABLE (" +
                                             std::to_string(lane->unavailable) +
                                             " times: " + lane->unavailable_message + ")";
    }
    if (lane->ack_log != nullptr && !lane->ack_log->ok()) report->ack_log_failed = true;
  }
}

// Opens --ack-log (if given) and records the run; null without --ack-log.
// Declared before the lanes, so it outlives their callbacks.
absl::StatusOr<std::unique_ptr<AckLog>> StartAckLog(const LoadOptions& options, uint64_t run_id,
                                                    const std::vector<ScheduleId>& schedules) {
  if (options.ack_log_path.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<AckLog>> ack_log = AckLog::Open(options.ack_log_path);
  if (!ack_log.ok()) return ack_log.status();
  (*ack_log)->Run(run_id, /*concert=*/run_id, schedules);
  return ack_log;
}

absl::StatusOr<std::vector<std::unique_ptr<Lane>>> ConnectLanes(const LoadOptions& options,
                                                                AckLog* ack_log, uint64_t run_id) {
  absl::StatusOr<std::vector<std::unique_ptr<Lane>>> lanes = ConnectLanes(options);
  if (!lanes.ok()) return lanes.status();
  for (auto& lane : *lanes) {
    lane->ack_log = ack_log;
    lane->run_id = run_id;
  }
  return lanes;
}

uint64_t RunIdOf(const LoadOptions& options) {
  const uint64_t seed = options.seed != 0 ? options.seed : static_cast<uint64_t>(WallMs());
  const uint64_t mixed =
      SplitMix(seed ^ static_cast<uint64_t>(WallMs()) ^ (static_cast<uint64_t>(::getpid()) << 40));
  return (mixed & 0x7fffffffull) | 1;  // 31 bits, non-zero.
}

// --- Flash sale ---------------------------------------------------------------------

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

// --- Throughput ---------------------------------------------------------------------

bool IsSingleOperationMix(const std::string& mix) {
  return mix == "hold-only" || mix == "pay-only";
}

// Lane `index`'s share of --count (0: none given): the first
// count % connections lanes take one more.
uint64_t ShareOfLane(const LoadOptions& options, uint32_t index) {
  return options.count / options.connections + (index < options.count % options.connections);
}
// pay-only: the most payments of one lane.
uint64_t PayOnlyPaymentsPerLane(const LoadOptions& options) {
  return (options.count + options.connections - 1) / options.connections;
}

// The schedules of each lane: one of --seats seats for the mixes; as many as
// the seats (hold-only) or payments (pay-only) of the lane take.
SeatPlan ThroughputSeatPlan(const LoadOptions& options) {
  if (options.mix == "hold-only") return PlanSeats(options.seats);
  if (options.mix == "pay-only") return PlanSeats(PayOnlyPaymentsPerLane(options));
  return SeatPlan{1, options.seats};
}

// The untimed set-up of the single-operation mixes, and the timed lanes'
// workloads. `schedules`: lane-major, plan.schedules per lane.
class ThroughputWorkloads {
 public:
  ThroughputWorkloads(const LoadOptions& options, const SeatPlan& plan,
                      const std::vector<ScheduleId>& schedules)
      : options_(options), plan_(plan), schedules_(schedules) {}

  absl::Status SetUp(std::vector<std::unique_ptr<Lane>>& lanes, std::ostream& progress) {
    const uint32_t lanes_count = static_cast<uint32_t>(lanes.size());
    if (options_.mix == "hold-only") {
      hold_only_.resize(lanes_count);
      for (uint32_t i = 0; i < lanes_count; ++i) {
        HoldOnlyLane& lane = hold_only_[i];
        Place(i, &lane);
        lane.users = HoldOnlyUsers(plan_, kSeatsPerUserMax);
      }
      if (options_.progress) {
        progress << "set-up (untimed): per connection " << plan_.schedules << " schedule(s) of "
                 << plan_.seats_per_schedule << " seats, " << hold_only_[0].users
                 << " users entering each\n"
                 << std::flush;
      }
      return SetUpHoldOnly(lanes, hold_only_, options_.depth);
    }
    if (options_.mix == "pay-only") {
      pay_only_.resize(lanes_count);
      for (uint32_t i = 0; i < lanes_count; ++i) {
        PayOnlyLane& lane = pay_only_[i];
        Place(i, &lane);
        lane.payments = ShareOfLane(options_, i);
        lane.charge = options_.price;
      }
      if (options_.progress) {
        progress << "set-up (untimed): per connection " << pay_only_[0].payments
                 << " users charging, entering and holding a seat each, in " << plan_.schedules
                 << " schedule(s)\n"
                 << std::flush;
      }
      return SetUpPayOnly(lanes, pay_only_, options_.depth, options_.seed);
    }
    return absl::OkStatus();
  }

  // The workload of lane `index`. REQUIRES: SetUp returned OK.
  std::unique_ptr<Workload> Make(uint32_t index, Lane* lane) const {
    if (options_.mix == "hold-only") {
      return std::make_unique<HoldOnlyWorkload>(lane, &hold_only_[index], options_.depth,
                                                SplitMix(options_.seed ^ (index + 1) * 0x51ull));
    }
    if (options_.mix == "pay-only") {
      return std::make_unique<PayOnlyWorkload>(lane, &pay_only_[index], options_.depth);
    }
    return std::make_unique<MixWorkload>(options_, lane, schedules_[index],
                                         SplitMix(options_.seed ^ (index + 1) * 0x51ull),
                                         uint64_t{index} * kUsersPerLaneMax, options_.depth);
  }

 private:
  // Lane `index`'s seats, its schedules (its run of schedules_) and users.
  void Place(uint32_t index, SingleOperationLane* lane) const {
    const auto first = schedules_.begin() + static_cast<ptrdiff_t>(index) * plan_.schedules;
    lane->plan = plan_;
    lane->schedules.assign(first, first + plan_.schedules);
    lane->first_user = uint64_t{index} * kUsersPerLaneMax;
  }

  const LoadOptions& options_;
  const SeatPlan plan_;
  const std::vector<ScheduleId>& schedules_;
  std::vector<HoldOnlyLane> hold_only_;
  std::vector<PayOnlyLane> pay_only_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<net::Client>> ConnectAdmin(const LoadOptions& options,
                                                          const std::string& client_name) {
  net::ClientOptions client_options;
  client_options.host = options.host;
  client_options.port = options.admin_port;
  client_options.client_name = client_name;
  return net::Client::Connect(client_options);
}

const char* OpName(Op op) {
  static constexpr const char* kNames[] = {"charge",  "enter", "status", "hold",
                                           "release", "pay",   "leave",  "seatmap"};
  return op < Op::kCount ? kNames[static_cast<int>(op)] : "?";
}

absl::Status ValidateLoadOptions(const LoadOptions& o) {
  auto bad = [](const std::string& text) { return absl::InvalidArgumentError(text); };
  if (o.scenario == "verify") {
    return o.ack_log_path.empty() ? bad("verify needs --ack-log FILE") : absl::OkStatus();
  }
  if (o.scenario != "flash-sale" && o.scenario != "throughput") {
    return bad("the scenario is flash-sale, throughput or verify; got '" + o.scenario + "'");
  }
  if (o.connections < 1 || o.connections > kConnectionsMax) return bad("--connections is 1 .. 256");
  if (o.depth < 1 || o.depth > kDepthMax) return bad("--depth is 1 .. 65536");
  if (o.duration_s < 0 || (o.scenario == "throughput" && o.duration_s == 0 && o.count == 0)) {
    return bad("--duration-s must be > 0 (or give --count)");
  }
  if (o.rate < 0) return bad("--rate must be >= 0");
  if (o.scenario == "throughput" && o.mix != "mixed" && o.mix != "holds" && o.mix != "pays" &&
      !IsSingleOperationMix(o.mix)) {
    return bad("--mix is mixed, holds, pays, hold-only or pay-only; got '" + o.mix + "'");
  }
  const bool hold_only = o.scenario == "throughput" && o.mix == "hold-only";
  if (hold_only && (o.seats < 1 || o.seats > kHoldOnlySeatsPerConnectionMax)) {
    return bad("--seats is 1 .. 16000000 with --mix hold-only");
  }
  if (!hold_only && (o.seats < 1 || o.seats > kSeatsPerScheduleMax)) {
    return bad("--seats is 1 .. 1000000");
  }
  if (o.scenario == "throughput" && IsSingleOperationMix(o.mix) && o.count != 0 &&
      o.count < o.connections) {
    return bad("--count is split over the connections with --mix " + o.mix +
               ": give at least one per connection");
  }
  if (o.scenario == "throughput" && o.mix == "pay-only" &&
      (o.count == 0 ||
       (o.count + o.connections - 1) / o.connections > kPayOnlyPaymentsPerConnectionMax)) {
    return bad("--mix pay-only needs --count of 1 .. 4000000 payments per connection");
  }
  if (o.users < 1 || o.users > 10'000'000) return bad("--users is 1 .. 10000000");
  if (o.price < 1 || o.price > kSeatPriceMax) return bad("--price is 1 .. 10^11");
  if (o.hold_ttl_ms < kHoldTtlMinMs || o.hold_ttl_ms > kHoldTtlMaxMs) {
    return bad("--hold-ttl-ms is 1000 .. 86400000");
  }
  if (o.abandon_percent + o.late_percent > 100) {
    return bad("--abandon-percent + --late-percent is at most 100");
  }
  if (o.poll_ms < 1) return bad("--poll-ms must be >= 1");
  return absl::OkStatus();
}

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
  sale.Run(options.duration_s > 0 ? options.duration_s : 120);
  FinishReport(*lanes, monitor, start, &report);
  sale.Figures(&report.flash);
  return report;
}

absl::StatusOr<LoadReport> RunThroughput(const LoadOptions& options, std::ostream& progress) {
  if (absl::Status valid = ValidateLoadOptions(options); !valid.ok()) return valid;
  LoadReport report;
  report.scenario = "throughput";
  report.mix = options.mix;
  report.run_id = RunIdOf(options);
  report.seed = options.seed;
  report.expected.concert = report.run_id;
  const SeatPlan plan = ThroughputSeatPlan(options);
  std::vector<ScheduleId> schedules;
  for (uint32_t i = 0; i < options.connections * plan.schedules; ++i) {
    schedules.push_back(ScheduleIdOf(report.run_id, i));
    report.expected.seats_paid[schedules.back()] = 0;
  }
  if (absl::Status s = CreateCatalog(options, report.run_id, schedules, plan.seats_per_schedule,
                                     kSeatsPerUserMax, AdmissionPolicy{}, kActiveTtlMaxMs);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<AckLog>> ack_log = StartAckLog(options, report.run_id, schedules);
  if (!ack_log.ok()) return ack_log.status();
  absl::StatusOr<std::vector<std::unique_ptr<Lane>>> lanes =
      ConnectLanes(options, ack_log->get(), report.run_id);
  if (!lanes.ok()) return lanes.status();
  // Set-up: untimed, and not in the figures (no lane records it).
  const Clock::time_point setup_start = Clock::now();
  ThroughputWorkloads workloads(options, plan, schedules);
  if (absl::Status s = workloads.SetUp(*lanes, progress); !s.ok()) return s;
  report.setup_s = IsSingleOperationMix(options.mix) ? SecondsSince(setup_start) : 0;
  if (options.progress && report.setup_s > 0) {
    progress << "set-up done in " << std::fixed << std::setprecision(2) << report.setup_s
             << " s; timed run starts\n"
             << std::defaultfloat << std::flush;
  }

  // --count: of all lanes together for the mixes; the single-operation mixes
  // split it, a share per lane (lane i: ShareOfLane), so that what a run does
  // does not hang on which lane was fastest (and pay-only has a hold set up
  // for each request of its lane's share).
  const bool shares = IsSingleOperationMix(options.mix);
  std::vector<std::atomic<uint64_t>> issued(shares ? options.connections : 1);
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop_at =
      options.duration_s > 0
          ? start + std::chrono::microseconds(static_cast<int64_t>(options.duration_s * 1e6))
          : Clock::time_point::max();
  std::vector<std::unique_ptr<Workload>> lane_workloads;
  std::vector<std::unique_ptr<TimedLane>> drivers;
  for (uint32_t i = 0; i < options.connections; ++i) {
    Lane* lane = (*lanes)[i].get();
    lane_workloads.push_back(workloads.Make(i, lane));
    const uint64_t count_max = shares ? ShareOfLane(options, i) : options.count;
    drivers.push_back(std::make_unique<TimedLane>(lane, lane_workloads.back().get(), options.depth,
                                                  &issued[shares ? i : 0], count_max, stop_at));
  }
  Monitor monitor(&*lanes, options.progress, progress);
  if (options.rate > 0) {
    std::vector<std::thread> pacers;
    for (auto& driver : drivers) {
      pacers.emplace_back(
          [&, d = driver.get()] { d->RunOpen(options.rate / options.connections); });
    }
    for (auto& pacer : pacers) pacer.join();
    for (auto& driver : drivers) report.open_loop_skipped += driver->late();
  } else {
    for (auto& driver : drivers) driver->StartClosed();
    // Until every request sent has been handled and no more will be (the
    // time or the count is up, or a pay-only lane paid every hold). The
    // completions, unlike in_flight(), never come out even while a reply
    // that will send the next request is being handled.
    while (Clock::now() < stop_at) {
      bool any = false;
      for (auto& lane : *lanes) any = any || !lane->completions().Idle();
      if (!any) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  WaitIdle(*lanes);
  for (uint32_t i = 0; i < options.connections; ++i) {
    std::lock_guard<std::mutex> lock((*lanes)[i]->mutex);
    lane_workloads[i]->Finish();
  }
  FinishReport(*lanes, monitor, start, &report);
  return report;
}

// --- The check ----------------------------------------------------------------------

namespace {

// A line of the check, and whether it says that a read failed rather than
// what a read found.
struct CheckLine {
  std::string text;
  bool read_failed = false;
};

// CheckServerState's reads and comparisons, on an open admin connection.
std::vector<CheckLine> ReadAndCompare(net::Client& admin, const Expectations& expected) {
  std::vector<CheckLine> lines;
  absl::StatusOr<DecodedResponse> listed = admin.ListSchedules(expected.concert);
  if (!listed.ok() || listed->code != ResultCode::kOk) {
    return {{"cannot list the schedules of concert " + std::to_string(expected.concert), true}};
  }
  for (const auto& [schedule, paid] : expected.seats_paid) {
    const ScheduleInfo* info = nullptr;
    for (const ScheduleInfo& candidate : listed->schedules) {
      if (candidate.config.schedule == schedule) info = &candidate;
    }
    if (info == nullptr) {
      lines.push_back({"schedule " + std::to_string(schedule) + " is missing on the server"});
      continue;
    }
    if (info->seats_sold != paid) {
      lines.push_back({"schedule " + std::to_string(schedule) + ": the server sold " +
                       std::to_string(info->seats_sold) + " seats; the tool saw " +
                       std::to_string(paid) + " paid"});
    }
    absl::StatusOr<DecodedResponse> map = admin.SeatMap(schedule, 0, QueueToken{});
    if (!map.ok() || map->code != ResultCode::kOk) {
      lines.push_back(
          {"schedule " + std::to_string(schedule) + ": cannot read the seat map", true});
      continue;
    }
    const uint64_t sold =
        static_cast<uint64_t>(std::count(map->seats.begin(), map->seats.end(), SeatState::kSold));
    if (sold != paid) {
      lines.push_back({"schedule " + std::to_string(schedule) + ": the seat map shows " +
                       std::to_string(sold) + " seats SOLD; the tool saw " + std::to_string(paid) +
                       " paid (a seat sold twice, or a payment lost)"});
    }
  }
  // Balances, pipelined; the replies' handler sends the next requests, so
  // they go out in batches.
  std::vector<std::pair<UserId, Points>> certain;
  for (const auto& [user, balance] : expected.balances) {
    if (expected.uncertain.count(user) == 0) certain.emplace_back(user, balance);
  }
  std::vector<std::pair<UserId, CheckLine>> wrong;
  SetupPipeline reads(
      &admin, certain.size(), SetupPipeline::WindowFor(admin, admin.options().in_flight_max),
      [&certain](uint64_t i) { return MakeBalance(certain[i].first); },
      [&certain, &wrong](uint64_t i, const DecodedResponse& r) {
        const auto& [user, balance] = certain[i];
        if (r.code != ResultCode::kOk) {
          wrong.emplace_back(user,
                             CheckLine{"user " + std::to_string(user) + ": Balance answered " +
                                           std::string(ResultCodeName(r.code)),
                                       r.code == ResultCode::kUnavailable});
        } else if (r.reply.balance != balance) {
          wrong.emplace_back(
              user,
              CheckLine{"user " + std::to_string(user) + ": balance " +
                        std::to_string(r.reply.balance) + " on the server; the tool expected " +
                        std::to_string(balance) + " (charges - payments it saw acknowledged)"});
        }
        return absl::OkStatus();
      });
  reads.Start();
  // Every reply has been handled (they write `wrong`) before it is read.
  if (absl::Status read = reads.Wait(); !read.ok()) {
    lines.push_back({"cannot read every balance: " + std::string(read.message()), true});
  }
  std::sort(wrong.begin(), wrong.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [user, line] : wrong) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

std::vector<std::string> CheckServerState(const LoadOptions& options, const Expectations& expected,
                                          bool* lost) {
  if (lost != nullptr) *lost = false;
  absl::StatusOr<std::unique_ptr<net::Client>> admin = ConnectAdmin(options, "encore-load-admin");
  if (!admin.ok()) {
    if (lost != nullptr) {
      *lost = true;
      return {};
    }
    return {"cannot read the server's state: " + std::string(admin.status().message())};
  }
  const std::vector<CheckLine> lines = ReadAndCompare(**admin, expected);
  // Reads in flight when the connection dropped failed or came back
  // UNAVAILABLE: those lines say nothing about the server's state; the
  // comparisons of what was read stay.
  const bool dropped = lost != nullptr && !(*admin)->connected();
  if (dropped) *lost = true;
  std::vector<std::string> breaches;
  for (const CheckLine& line : lines) {
    if (!(dropped && line.read_failed)) breaches.push_back(line.text);
  }
  return breaches;
}

// --- Output -------------------------------------------------------------------------

namespace {

std::string Fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string ReportJson(const LoadOptions& options, const LoadReport& report) {
  std::ostringstream out;
  out << "{\"scenario\":" << JsonString(report.scenario);
  if (!report.mix.empty()) out << ",\"mix\":" << JsonString(report.mix);
  out << ",\"run_id\":" << report.run_id << ",\"seed\":" << report.seed
      << ",\"host\":" << JsonString(options.host) << ",\"port\":" << options.port
      << ",\"connections\":" << options.connections << ",\"depth\":" << options.depth
      << ",\"rate\":" << Fixed(options.rate, 1) << ",\"elapsed_s\":" << Fixed(report.elapsed_s, 3)
      << ",\"setup_s\":" << Fixed(report.setup_s, 3);
  uint64_t total = 0;
  LatencyHistogram all;
  out << ",\"operations\":{";
  bool first = true;
  for (const auto& [op, s] : report.operations) {
    total += s.total();
    all.Merge(s.latency_us);
    out << (first ? "" : ",") << JsonString(OpName(op)) << ":{\"count\":" << s.total()
        << ",\"ok\":" << s.ok << ",\"refused\":" << s.refused << ",\"errors\":" << s.errors
        << ",\"per_s\":" << Fixed(s.total() / std::max(report.elapsed_s, 1e-9), 1)
        << ",\"p50_us\":" << s.latency_us.Percentile(50)
        << ",\"p90_us\":" << s.latency_us.Percentile(90)
        << ",\"p99_us\":" << s.latency_us.Percentile(99)
        << ",\"p999_us\":" << s.latency_us.Percentile(99.9) << ",\"max_us\":" << s.latency_us.max()
        << "}";
    first = false;
  }
  out << "},\"total\":{\"count\":" << total
      << ",\"per_s\":" << Fixed(total / std::max(report.elapsed_s, 1e-9), 1)
      << ",\"p50_us\":" << all.Percentile(50) << ",\"p90_us\":" << all.Percentile(90)
      << ",\"p99_us\":" << all.Percentile(99) << ",\"p999_us\":" << all.Percentile(99.9)
      << ",\"max_us\":" << all.max() << "}";
  out << ",\"timeline\":[";
  for (size_t i = 0; i < report.timeline.size(); ++i) {
    const SecondSample& s = report.timeline[i];
    out << (i == 0 ? "" : ",") << "{\"at_s\":" << Fixed(s.at_s, 3) << ",\"requests\":" << s.requests
        << ",\"errors\":" << s.errors << ",\"p99_us\":" << s.p99_us << "}";
  }
  out << "]";
  if (report.scenario == "flash-sale") {
    const FlashSaleFigures& f = report.flash;
    out << ",\"flash_sale\":{\"users\":" << f.users << ",\"seats\":" << f.seats
        << ",\"sell_out_ms\":" << Fixed(f.sell_out_ms, 1)
        << ",\"last_sale_ms\":" << Fixed(f.last_sale_ms, 1) << ",\"admitted\":" << f.admitted
        << ",\"admitted_in_order\":" << f.admitted_in_order
        << ",\"in_order_share\":" << Fixed(f.in_order_share, 4)
        << ",\"paid_users\":" << f.paid_users << ",\"seats_paid\":" << f.seats_paid
        << ",\"abandoned\":" << f.abandoned << ",\"late_paid\":" << f.late_paid
        << ",\"late_refused\":" << f.late_refused << ",\"sold_out_left\":" << f.sold_out_left
        << ",\"unfinished\":" << f.unfinished << "}";
  }
  out << ",\"open_loop_skipped\":" << report.open_loop_skipped;
  out << ",\"check\":{\"ok\":" << (report.breaches.empty() ? "true" : "false")
      << ",\"users_checked\":" << report.expected.balances.size() - report.expected.uncertain.size()
      << ",\"users_uncertain\":" << report.expected.uncertain.size() << ",\"breaches\":[";
  for (size_t i = 0; i < report.breaches.size(); ++i) {
    out << (i == 0 ? "" : ",") << JsonString(report.breaches[i]);
  }
  out << "]}}\n";
  return out.str();
}

void PrintSummary(const LoadReport& report, std::ostream& out) {
  char line[256];
  out << "\n"
      << report.scenario << (report.mix.empty() ? "" : " --mix " + report.mix) << " run "
      << report.run_id << ": " << Fixed(report.elapsed_s, 2) << " s";
  if (report.setup_s > 0) {
    out << " timed (rates and latencies are of it), after an untimed set-up of "
        << Fixed(report.setup_s, 2) << " s";
  }
  out << "\n";
  std::snprintf(line, sizeof(line), "%-8s %10s %10s %8s %7s %11s %9s %9s %9s %9s %9s\n", "op",
                "count", "ok", "refused", "errors", "per s", "p50 ms", "p90 ms", "p99 ms",
                "p99.9 ms", "max ms");
  out << line;
  LatencyHistogram all;
  OpSummary total;
  auto row = [&](const char* name, const OpSummary& s, const LatencyHistogram& h) {
    std::snprintf(
        line, sizeof(line), "%-8s %10llu %10llu %8llu %7llu %11.0f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
        name, static_cast<unsigned long long>(s.total()), static_cast<unsigned long long>(s.ok),
        static_cast<unsigned long long>(s.refused), static_cast<unsigned long long>(s.errors),
        s.total() / std::max(report.elapsed_s, 1e-9), h.Percentile(50) / 1e3,
        h.Percentile(90) / 1e3, h.Percentile(99) / 1e3, h.Percentile(99.9) / 1e3, h.max() / 1e3);
    out << line;
  };
  for (const auto& [op, s] : report.operations) {
    row(OpName(op), s, s.latency_us);
    all.Merge(s.latency_us);
    total.ok += s.ok;
    total.refused += s.refused;
    total.errors += s.errors;
  }
  row("total", total, all);
  if (report.scenario == "flash-sale") {
    const FlashSaleFigures& f = report.flash;
    out << "\nusers " << f.users << ", seats " << f.seats << ": "
        << (f.sell_out_ms >= 0 ? "sold out in " + Fixed(f.sell_out_ms, 0) + " ms"
                               : "not sold out (last sale at " + Fixed(f.last_sale_ms, 0) + " ms)")
        << "\nadmitted " << f.admitted << ", in entry order " << f.admitted_in_order << " ("
        << Fixed(f.in_order_share * 100, 2) << "%)"
        << "\npaid " << f.paid_users << " users / " << f.seats_paid << " seats; abandoned "
        << f.abandoned << "; late payers refused " << f.late_refused << ", accepted " << f.late_paid
        << "; left with no seat free " << f.sold_out_left << "; unfinished " << f.unfinished
        << "\n";
  }
  if (report.open_loop_skipped > 0) {
    out << "open loop: " << report.open_loop_skipped
        << " requests skipped (every user of their connection was busy): raise --depth\n";
  }
  if (report.server_lost) {
    out << "\ncheck: skipped, the server went away mid-run (" << report.server_lost_reason << ")\n";
    return;
  }
  out << "\ncheck: " << report.expected.seats_paid.size() << " schedules, "
      << report.expected.balances.size() - report.expected.uncertain.size() << " balances checked ("
      << report.expected.uncertain.size()
      << " uncertain, skipped): " << (report.breaches.empty() ? "all invariants hold" : "BREACH")
      << "\n";
  for (size_t i = 0; i < report.breaches.size() && i < kBreachLinesMax; ++i) {
    out << "  " << report.breaches[i] << "\n";
  }
  if (report.breaches.size() > kBreachLinesMax) {
    out << "  ... and " << report.breaches.size() - kBreachLinesMax << " more\n";
  }
}

std::string WriteChart(const LoadReport& report, const std::string& png_path) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    return "gnuplot is not installed (tools/setup-deps.sh installs gnuplot-nox): no chart";
  }
  char dir_template[] = "/tmp/encore-load-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return "cannot make a temporary directory: no chart";
  const std::string dir = dir_template;
  {
    std::ofstream data(dir + "/timeline.dat");
    for (const SecondSample& s : report.timeline) {
      data << Fixed(s.at_s, 3) << " " << s.requests << " " << s.p99_us / 1000.0 << "\n";
    }
  }
  {
    std::ofstream script(dir + "/chart.gp");
    script << "set terminal pngcairo size 1000,500 noenhanced\n"
           << "set output '" << png_path << "'\n"
           << "set title 'encore-load " << report.scenario << " (run " << report.run_id << ")'\n"
           << "set xlabel 'seconds'\nset ylabel 'requests/s'\nset y2label 'p99 (ms)'\n"
           << "set ytics nomirror\nset y2tics\nset grid\nset key top left\nset yrange [0:*]\n"
           << "set y2range [0:*]\n"
           << "plot '" << dir << "/timeline.dat' using 1:2 with lines lw 2 title 'requests/s', "
           << "'' using 1:3 axes x1y2 with lines lw 2 title 'p99 ms'\n";
  }
  const std::string command = "gnuplot '" + dir + "/chart.gp' > '" + dir + "/gnuplot.log' 2>&1";
  const int status = std::system(command.c_str());
  std::string note = status == 0 ? "" : "gnuplot failed (see " + dir + "/gnuplot.log): no chart";
  if (status == 0) std::filesystem::remove_all(dir);
  return note;
}

// --- Main ---------------------------------------------------------------------------

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitBreach = 3;
constexpr int kExitServerLost = 4;

constexpr char kUsage[] =
    R"(usage: encore-load <flash-sale|throughput> [options]
       encore-load verify --ack-log FILE [--host H] [--admin-port P]

  --host H              server address (default 127.0.0.1)
  --port P              client port (default 7400)
  --admin-port P        admin port (default 7401): setup and the final check
  --connections N       connections (default 4)
  --depth N             requests in flight per connection (default 256)
  --duration-s S        throughput: run time (default 10); flash-sale: give up after (default 120)
  --count N             throughput: stop after N requests
  --rate R              throughput: open loop at R requests/s (default: closed loop)
  --seed N              seed of the run's choices and ids (default: the clock)
  --json FILE           write the result as JSON
  --chart FILE.png      requests/s and p99 per second (needs gnuplot)
  --quiet               no progress line each second
  --ack-log FILE        append a line per acknowledged charge, hold and payment (and
                        per user with a request left unanswered), flushed as it comes
verify:                 check a server against every run recorded in --ack-log FILE:
                        every acked charge and payment is in the ledger, paid seats are
                        SOLD, sold == paid, balances == charges - payments
flash-sale:
  --users N (1000)  --seats N (100)  --price P (1000)  --active-max N (100, 0: no limit)
  --hold-ttl-ms T (2000)  --abandon-percent A (10)  --late-percent L (5)  --poll-ms M (100)
throughput:
  --seats N             seats of each connection's schedule (default 200000)  --price P
  --mix M               the operations (default mixed):
      mixed             hold, release, pay, charge, status
      holds             hold and release cycles only
      pays              whole purchases: charge, enter, hold, pay, then a new user
      hold-only         every request one HOLD_SEATS of one seat (a Redis SET NX PX);
                        set-up (untimed): each connection's users enter its schedules
                        of --seats seats in all (default: enough for 2M holds/s for the
                        run); once all are held, holds are refused SEAT_UNAVAILABLE
      pay-only          every request one PAY of a one-seat hold (a Redis payment
                        script); set-up (untimed): a user per payment charges, enters
                        and holds; --count payments in all (default 1000000)
                        hold-only and pay-only: --hold-ttl-ms defaults to 300000, and
                        rates and latencies are of the timed requests only

Exit code: 0 the server's state matched what the tool saw, 2 usage or connection
error, 3 a breach (printed), 4 the server went away mid-run or during the check
(connection lost or UNAVAILABLE answers: the report is printed, the check skipped;
run verify later).
)";

// Seats per connection for kHoldOnlyRateAssumed holds a second over the run
// (or for --count holds), so that holds keep succeeding to the end.
uint32_t HoldOnlySeatsDefault(const LoadOptions& options) {
  double holds = options.duration_s > 0 ? options.duration_s * kHoldOnlyRateAssumed : 0;
  if (options.count != 0 && (holds == 0 || static_cast<double>(options.count) < holds)) {
    holds = static_cast<double>(options.count);
  }
  const double per_connection = std::ceil(holds / std::max<uint32_t>(options.connections, 1));
  return static_cast<uint32_t>(
      std::clamp<double>(per_connection, 1, kHoldOnlySeatsPerConnectionMax));
}

template <typename Number>
bool ParseNumber(const std::string& text, Number* value) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, *value);
  return !text.empty() && error == std::errc() && stop == end;
}

absl::StatusOr<LoadOptions> ParseOptions(int argc, char** argv, bool* seats_given) {
  LoadOptions options;
  std::vector<std::string> words;
  bool duration_given = false;
  bool count_given = false;
  bool hold_ttl_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.rfind("--", 0) != 0) {
      words.push_back(word);
      continue;
    }
    std::string name = word.substr(2);
    if (name == "quiet") {
      options.progress = false;
      continue;
    }
    if (name == "help") return absl::InvalidArgumentError("");
    std::string value;
    if (const size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError("--" + name + " needs a value");
    }
    bool parsed = true;
    if (name == "host") {
      options.host = value;
    } else if (name == "port") {
      parsed = ParseNumber(value, &options.port);
    } else if (name == "admin-port") {
      parsed = ParseNumber(value, &options.admin_port);
    } else if (name == "connections") {
      parsed = ParseNumber(value, &options.connections);
    } else if (name == "depth") {
      parsed = ParseNumber(value, &options.depth);
    } else if (name == "duration-s") {
      parsed = ParseNumber(value, &options.duration_s);
      duration_given = true;
    } else if (name == "count") {
      parsed = ParseNumber(value, &options.count);
      count_given = true;
    } else if (name == "rate") {
      parsed = ParseNumber(value, &options.rate);
    } else if (name == "seed") {
      parsed = ParseNumber(value, &options.seed);
    } else if (name == "mix") {
      options.mix = value;
      parsed =
          value == "mixed" || value == "holds" || value == "pays" || IsSingleOperationMix(value);
    } else if (name == "json") {
      options.json_path = value;
    } else if (name == "chart") {
      options.chart_path = value;
    } else if (name == "ack-log") {
      options.ack_log_path = value;
    } else if (name == "users") {
      parsed = ParseNumber(value, &options.users);
    } else if (name == "seats") {
      parsed = ParseNumber(value, &options.seats);
      *seats_given = true;
    } else if (name == "price") {
      parsed = ParseNumber(value, &options.price);
    } else if (name == "active-max") {
      parsed = ParseNumber(value, &options.active_max);
    } else if (name == "hold-ttl-ms") {
      parsed = ParseNumber(value, &options.hold_ttl_ms);
      hold_ttl_given = true;
    } else if (name == "abandon-percent") {
      parsed = ParseNumber(value, &options.abandon_percent);
    } else if (name == "late-percent") {
      parsed = ParseNumber(value, &options.late_percent);
    } else if (name == "poll-ms") {
      parsed = ParseNumber(value, &options.poll_ms);
    } else {
      return absl::InvalidArgumentError("unknown option --" + name);
    }
    if (!parsed)
      return absl::InvalidArgumentError("--" + name + ": not a number in range: '" + value + "'");
  }
  if (words.size() != 1)
    return absl::InvalidArgumentError("give one scenario: flash-sale, throughput or verify");
  options.scenario = words[0];
  if (options.scenario == "throughput" && !*seats_given) options.seats = kThroughputSeatsDefault;
  if (options.scenario == "flash-sale" && !duration_given) options.duration_s = 120;
  if (options.scenario == "throughput" && options.count != 0 && !duration_given) {
    options.duration_s = 0;
  }
  if (options.scenario == "throughput" && IsSingleOperationMix(options.mix)) {
    if (!hold_ttl_given) options.hold_ttl_ms = kSingleOperationHoldTtlMs;
    if (options.mix == "pay-only" && *seats_given) {
      return absl::InvalidArgumentError(
          "--seats does not apply to --mix pay-only (a seat per payment: give --count)");
    }
    if (options.mix == "pay-only" && !count_given) options.count = kPayOnlyCountDefault;
    if (options.mix == "hold-only" && !*seats_given) options.seats = HoldOnlySeatsDefault(options);
  }
  if (absl::Status valid = ValidateLoadOptions(options); !valid.ok()) return valid;
  return options;
}

int MainVerify(const LoadOptions& options) {
  std::cerr << "encore-load verify " << options.ack_log_path << " against " << options.host << ":"
            << options.admin_port << "\n";
  absl::StatusOr<VerifyReport> report = VerifyAckLog(options, options.ack_log_path);
  if (!report.ok()) {
    std::cerr << "encore-load: " << report.status().message() << "\n";
    return kExitUsage;
  }
  PrintVerifyReport(*report, std::cout);
  return report->breaches.empty() ? kExitOk : kExitBreach;
}

}  // namespace

int Main(int argc, char** argv) {
  bool seats_given = false;
  absl::StatusOr<LoadOptions> options = ParseOptions(argc, argv, &seats_given);
  if (!options.ok()) {
    if (!options.status().message().empty()) {
      std::cerr << "encore-load: " << options.status().message() << "\n";
    }
    std::cerr << kUsage;
    return kExitUsage;
  }
  if (options->scenario == "verify") return MainVerify(*options);
  if (options->seed == 0) options->seed = static_cast<uint64_t>(WallMs());
  std::cerr << "encore-load " << options->scenario << " against " << options->host << ":"
            << options->port << " (admin " << options->admin_port << "), seed " << options->seed
            << "\n";
  absl::StatusOr<LoadReport> report = options->scenario == "flash-sale"
                                          ? RunFlashSale(*options, std::cerr)
                                          : RunThroughput(*options, std::cerr);
  if (!report.ok()) {
    std::cerr << "encore-load: " << report.status().message() << "\n";
    return kExitUsage;
  }
  if (!report->server_lost) {
    bool lost = false;
    report->breaches = CheckServerState(*options, report->expected, &lost);
    // Breaches read before the connection dropped still count.
    if (lost && report->breaches.empty()) {
      report->server_lost = true;
      report->server_lost_reason = "the connection to the server was lost during the check";
    }
  }
  PrintSummary(*report, std::cout);
  if (!options->chart_path.empty()) {
    report->chart_note = WriteChart(*report, options->chart_path);
    std::cout << (report->chart_note.empty() ? "chart: " + options->chart_path
                                             : "chart: " + report->chart_note)
              << "\n";
  }
  if (!options->json_path.empty()) {
    std::ofstream json(options->json_path);
    json << ReportJson(*options, *report);
    if (!json) std::cerr << "encore-load: cannot write " << options->json_path << "\n";
  }
  if (report->ack_log_failed) {
    std::cerr << "encore-load: cannot write the ack log " << options->ack_log_path << "\n";
    return kExitUsage;
  }
  if (report->server_lost) {
    std::cout << "server lost mid-run: " << report->server_lost_reason << "; the check is skipped"
              << (options->ack_log_path.empty()
                      ? ""
                      : " (run `encore-load verify --ack-log " + options->ack_log_path +
                            "` once the server is back)")
              << "\n";
    return kExitServerLost;
  }
  return report->breaches.empty() ? kExitOk : kExitBreach;
}

}  // namespace encore::load
