// The timed requests of a lane (see timed_lane.h). The per-request path is
// OnReply, OnBatchEnd and SendNextLocked; Allowed and Prepare are defined
// here, with them, so the compiler inlines them there.
#include "timed_lane.h"

#include <algorithm>
#include <thread>

namespace encore::load {

TimedLane::TimedLane(Lane* lane, Workload* workload, uint32_t slots, std::atomic<uint64_t>* issued,
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

// The per-request helpers, inline here as when they were defined in the class.
inline uint64_t TimedLane::Allowed(uint64_t wanted, Clock::time_point now) {
  if (now >= stop_at_) return 0;
  if (count_max_ == 0) return wanted;
  const uint64_t before = issued_.fetch_add(wanted);
  return before >= count_max_ ? 0 : std::min(wanted, count_max_ - before);
}

inline const Command& TimedLane::Prepare(uint32_t index, Clock::time_point sent_at, Op* op) {
  const Command& command = workload_.Next(index, op);
  if (*op != Op::kCount) slots_[index] = Slot{*op, command.request_key, sent_at};
  return command;
}

inline uint64_t TimedLane::SendNextLocked() {
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

void TimedLane::StartClosed() {
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

void TimedLane::RunOpen(double rate) {
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

uint64_t TimedLane::late() const {
  std::lock_guard<std::mutex> lock(lane_.mutex);
  return late_;
}

void TimedLane::OnReply(uint64_t tag, const net::DecodedResponse& response) {
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

void TimedLane::OnBatchEnd() {
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

}  // namespace encore::load
