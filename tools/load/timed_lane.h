// TimedLane: drives the timed requests of a throughput run over one lane,
// cheaply enough that the tool takes little CPU from a server on the same
// machine.
//
// A Workload says what to send; the lane has `slots` places, each with at
// most one request in flight (a slot is a user of the mix, or a place in the
// pipeline). Closed loop: every slot sends, and each reply sends that slot's
// next request. Open loop: a pacer thread sends on a free slot when a
// request is due.
//
// Per request the lane allocates nothing and takes no lock of its own:
// requests go with Client::SendTo (a tag, no callback), OnReply copies the
// few reply fields into a buffer, and OnBatchEnd handles the replies received
// together under one lock: it reads the clock once, records their latencies
// and outcomes, hands them to the workload, reads the clock once more, and
// sends the next requests (from the reader thread, so they share one write).
//
// Latency: a reply's latency runs from its request's send time to the time
// its batch is handled. The send time is read once before a batch of sends
// (closed loop), or is the time the request was due (open loop); the receive
// time is read once per batch of replies, after the batch was decoded. Both
// readings err late for the receive and early for the send, so a latency is
// never under-stated; what it adds is at most the time to decode and handle
// one batch (a few microseconds to a few tens).
//
// Thread safety: the workload runs under the lane's mutex. StartClosed runs
// on the calling thread, RunOpen on a pacer thread; the rest on the client's
// reader thread.
#ifndef ENCORE_TOOLS_LOAD_TIMED_LANE_H_
#define ENCORE_TOOLS_LOAD_TIMED_LANE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "encore/command.h"
#include "encore/net/client.h"
#include "lane.h"

namespace encore::load {

// What a workload learns of a reply.
struct ReplyFields {
  ResultCode code = ResultCode::kOk;
  HoldId hold = 0;
  HoldProof hold_proof = 0;
  QueueToken token;
  Points amount = 0;
};

// The requests of a timed run. Every member runs under the lane's mutex.
class Workload {
 public:
  virtual ~Workload() = default;
  // The next request of `slot` (its key in request_key), and in *op which
  // operation it is; *op = Op::kCount when the workload has nothing more to
  // send (on any slot). The command is the workload's own, valid until the
  // next call (so under the lane's mutex: copy it to use it after unlocking):
  // a single-operation workload patches the few fields that change
  // in one it keeps, since clearing a 400-byte Command per request was most of
  // the time hold-only spent choosing its requests (perf).
  virtual const Command& Next(uint32_t slot, Op* op) = 0;
  // The reply to the request `slot` sent last (`op`, `key`).
  virtual void OnReply(uint32_t slot, Op op, RequestKey key, const ReplyFields& reply) = 0;
  // Once every reply is in: adds what the workload kept aside to the lane's
  // expectations.
  virtual void Finish() {}
};

class TimedLane final : public net::ReplyHandler {
 public:
  // `issued` counts the requests sent against `count_max` (shared by the
  // lanes that share one count); none is sent once it reaches `count_max`
  // (0: no limit) or the clock reaches `stop_at`.
  TimedLane(Lane* lane, Workload* workload, uint32_t slots, std::atomic<uint64_t>* issued,
            uint64_t count_max, Clock::time_point stop_at)
      : lane_(*lane),
        workload_(*workload),
        issued_(*issued),
        count_max_(count_max),
        stop_at_(stop_at),
        slots_(slots) {
    arrived_.reserve(slots);
    for (uint32_t i = 0; i < slots; ++i) idle_.push_back(i);
  }

  // Closed loop: every slot sends its first request (from this thread).
  void StartClosed() {
    closed_ = true;
    const Clock::time_point now = Clock::now();
    for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
      std::unique_lock<std::mutex> lock(lane_.mutex);
      if (Allowed(1, now) == 0) return;
      Op op = Op::kCount;
      // A copy: the workload's command changes under the lock, released below.
      const Command command = Prepare(slot, now, &op);
      if (op == Op::kCount) return;
      // Off the reader thread a send may wait for room, which only the reader
      // makes: no lock is held here.
      lock.unlock();
      lane_.completions().Add();
      if (!lane_.client().SendTo(command, this, slot)) {
        lane_.completions().Done();
        return;
      }
    }
  }

  // Open loop: `rate` requests a second, each due at a fixed time; a request
  // due while every slot is busy is skipped (counted in late()).
  void RunOpen(double rate) {
    const auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
    Clock::time_point due = Clock::now();
    while (Clock::now() < stop_at_) {
      due += interval;
      std::this_thread::sleep_until(due);
      std::unique_lock<std::mutex> lock(lane_.mutex);
      if (idle_.empty()) {
        ++late_;
        continue;
      }
      const uint32_t slot = idle_.front();
      if (Allowed(1, Clock::now()) == 0) return;
      Op op = Op::kCount;
      // A copy: the workload's command changes under the lock, released below.
      const Command command = Prepare(slot, due, &op);
      if (op == Op::kCount) return;
      idle_.pop_front();
      lock.unlock();
      lane_.completions().Add();
      if (!lane_.client().SendTo(command, this, slot)) {
        lane_.completions().Done();
        return;
      }
    }
  }

  uint64_t late() const {
    std::lock_guard<std::mutex> lock(lane_.mutex);
    return late_;
  }

  void OnReply(uint64_t tag, const net::DecodedResponse& response) override {
    Arrival& arrival = arrived_.emplace_back();
    arrival.slot = static_cast<uint32_t>(tag);
    arrival.reply.code = response.code;
    arrival.reply.hold = response.reply.hold;
    arrival.reply.hold_proof = response.reply.hold_proof;
    arrival.reply.token = response.reply.token;
    arrival.reply.amount = response.reply.amount;
    if (response.code == ResultCode::kUnavailable && unavailable_message_.empty()) {
      unavailable_message_ = response.message;
    }
  }

  void OnBatchEnd() override {
    const Clock::time_point received = Clock::now();
    uint64_t sent = 0;
    {
      std::lock_guard<std::mutex> lock(lane_.mutex);
      for (const Arrival& arrival : arrived_) {
        const Slot& slot = slots_[arrival.slot];
        lane_.RecordLocked(slot.op, arrival.reply.code, unavailable_message_,
                           MicrosBetween(slot.sent_at, received));
        workload_.OnReply(arrival.slot, slot.op, slot.key, arrival.reply);
        if (!closed_) idle_.push_back(arrival.slot);
      }
      if (closed_) sent = SendNextLocked();
    }
    const uint64_t handled = arrived_.size();
    arrived_.clear();
    // Last: once the count comes out even, the run may end and free this.
    lane_.completions().Update(sent, handled);
  }

 private:
  struct Slot {
    Op op = Op::kCount;
    RequestKey key = 0;
    Clock::time_point sent_at;
  };
  struct Arrival {
    uint32_t slot = 0;
    ReplyFields reply;
  };

  // How many of `wanted` requests may still go. REQUIRES: lane mutex held.
  uint64_t Allowed(uint64_t wanted, Clock::time_point now) {
    if (now >= stop_at_) return 0;
    if (count_max_ == 0) return wanted;
    const uint64_t before = issued_.fetch_add(wanted);
    return before >= count_max_ ? 0 : std::min(wanted, count_max_ - before);
  }

  // The slot's next request, to be sent at `sent_at`; *op = Op::kCount when
  // there is none. REQUIRES: lane mutex held.
  const Command& Prepare(uint32_t index, Clock::time_point sent_at, Op* op) {
    const Command& command = workload_.Next(index, op);
    if (*op != Op::kCount) slots_[index] = Slot{*op, command.request_key, sent_at};
    return command;
  }

  // Closed loop, on the reader thread: the next request of every slot that
  // was answered in this batch. The reader never waits for room, so sending
  // under the lane's mutex cannot deadlock. Returns how many were sent.
  // REQUIRES: lane mutex held.
  uint64_t SendNextLocked() {
    const Clock::time_point now = Clock::now();
    const uint64_t allowed = Allowed(arrived_.size(), now);
    uint64_t sent = 0;
    for (uint64_t i = 0; i < allowed; ++i) {
      const uint32_t slot = arrived_[i].slot;
      Op op = Op::kCount;
      const Command& command = Prepare(slot, now, &op);
      if (op == Op::kCount) break;
      // False: the connection has failed (nothing was sent, nothing will run).
      if (!lane_.client().SendTo(command, this, slot)) break;
      ++sent;
    }
    return sent;
  }

  Lane& lane_;
  Workload& workload_;
  std::atomic<uint64_t>& issued_;
  const uint64_t count_max_;
  const Clock::time_point stop_at_;
  bool closed_ = false;  // Set before the first request.
  // Under lane_.mutex:
  std::vector<Slot> slots_;
  std::deque<uint32_t> idle_;  // Open loop: slots with no request in flight.
  uint64_t late_ = 0;
  // Reader thread only: the replies of the batch being received.
  std::vector<Arrival> arrived_;
  std::string unavailable_message_;  // The first UNAVAILABLE reply's message.
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_TIMED_LANE_H_
