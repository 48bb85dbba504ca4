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
#include <vector>

#include "encore/command.h"
#include "encore/net/client.h"
#include "lane.h"
#include "workload.h"

namespace encore::load {

class TimedLane final : public net::ReplyHandler {
 public:
  // `issued` counts the requests sent against `count_max` (shared by the
  // lanes that share one count); none is sent once it reaches `count_max`
  // (0: no limit) or the clock reaches `stop_at`.
  TimedLane(Lane* lane, Workload* workload, uint32_t slots, std::atomic<uint64_t>* issued,
            uint64_t count_max, Clock::time_point stop_at);

  // Closed loop: every slot sends its first request (from this thread).
  void StartClosed();

  // Open loop: `rate` requests a second, each due at a fixed time; a request
  // due while every slot is busy is skipped (counted in late()).
  void RunOpen(double rate);

  uint64_t late() const;

  void OnReply(uint64_t tag, const net::DecodedResponse& response) override;

  void OnBatchEnd() override;

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
  uint64_t Allowed(uint64_t wanted, Clock::time_point now);

  // The slot's next request, to be sent at `sent_at`; *op = Op::kCount when
  // there is none. REQUIRES: lane mutex held.
  const Command& Prepare(uint32_t index, Clock::time_point sent_at, Op* op);

  // Closed loop, on the reader thread: the next request of every slot that
  // was answered in this batch. The reader never waits for room, so sending
  // under the lane's mutex cannot deadlock. Returns how many were sent.
  // REQUIRES: lane mutex held.
  uint64_t SendNextLocked();

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
