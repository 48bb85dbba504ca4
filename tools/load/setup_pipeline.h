// SetupPipeline: the untimed set-up requests of a run (charges, queue
// entries, holds to pay later), pipelined over one lane's connection and
// kept out of the run's figures.
//
// Request i is make(i); take(i, reply) runs for its reply on the client's
// reader thread, and a non-OK status from it stops the pipeline (the first
// one is what Wait returns). At most `window` requests are in flight.
//
// Thread safety: make() runs on the thread that calls Start and on the reader
// thread, possibly at once, so it must only read what no one changes (or
// entries of index i); take() runs on the reader thread, one reply at a time.
// Whatever take() writes is visible to the thread that Wait() returned on.
#ifndef ENCORE_TOOLS_LOAD_SETUP_PIPELINE_H_
#define ENCORE_TOOLS_LOAD_SETUP_PIPELINE_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "completions.h"
#include "encore/command.h"
#include "encore/net/client.h"

namespace encore::load {

class SetupPipeline final : public net::ReplyHandler {
 public:
  using Make = std::function<Command(uint64_t index)>;
  using Take = std::function<absl::Status(uint64_t index, const net::DecodedResponse& reply)>;

  // The largest window for `client`: `wanted`, within the client's
  // in-flight limit (its option, and the server's, when lower).
  static uint32_t WindowFor(const net::Client& client, uint32_t wanted) {
    uint32_t limit = std::min(wanted, client.options().in_flight_max);
    if (client.hello().in_flight_max != 0) limit = std::min(limit, client.hello().in_flight_max);
    return std::max<uint32_t>(limit, 1);
  }

  // REQUIRES: window >= 1. A window past the client's in-flight limit works,
  // but its first requests wait for room: see WindowFor.
  SetupPipeline(net::Client* client, uint64_t count, uint32_t window, Make make, Take take)
      : client_(*client),
        count_(count),
        window_(window),
        make_(std::move(make)),
        take_(std::move(take)) {}

  // Sends the first `window` requests; the replies send the rest.
  void Start() {
    uint64_t first = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      first = std::min<uint64_t>(window_, count_);
      next_ = first;
    }
    for (uint64_t i = 0; i < first; ++i) SendOne(i);
  }

  // Waits for every reply; the first failure, or OK. A server that answers
  // nothing for kRepliesWaitMax fails it (the connection is closed).
  absl::Status Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    uint64_t seen = answered_;
    while (!Finished()) {
      if (!changed_.wait_for(lock, kRepliesWaitMax,
                             [&] { return Finished() || answered_ != seen; })) {
        lock.unlock();
        client_.Close();  // Fails the rest, so their replies come.
        lock.lock();
        if (status_.ok()) status_ = absl::DeadlineExceededError("the server stopped answering");
      }
      seen = answered_;
    }
    return status_;
  }

  void OnReply(uint64_t tag, const net::DecodedResponse& reply) override {
    absl::Status taken = take_(tag, reply);
    ++batch_replies_;
    if (!taken.ok() && batch_status_.ok()) batch_status_ = std::move(taken);
  }

  void OnBatchEnd() override {
    uint64_t from = 0;
    uint64_t to = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      answered_ += batch_replies_;
      if (!batch_status_.ok() && status_.ok()) status_ = batch_status_;
      if (status_.ok()) {
        from = next_;
        to = std::min(count_, next_ + batch_replies_);
        next_ = to;
      }
    }
    batch_replies_ = 0;
    batch_status_ = absl::OkStatus();
    for (uint64_t i = from; i < to; ++i) SendOne(i);
    std::lock_guard<std::mutex> lock(mutex_);
    if (Finished()) changed_.notify_all();
  }

 private:
  void SendOne(uint64_t index) {
    if (client_.SendTo(make_(index), this, index)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    ++unsent_;
    if (status_.ok()) status_ = absl::UnavailableError("the connection to the server was lost");
    if (Finished()) changed_.notify_all();
  }

  // Every request handed out is answered (or could not be sent), and no more
  // will be. REQUIRES: mutex_ held.
  bool Finished() const {
    return answered_ + unsent_ == next_ && (next_ == count_ || !status_.ok());
  }

  net::Client& client_;
  const uint64_t count_;
  const uint32_t window_;
  const Make make_;
  const Take take_;
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t next_ = 0;      // Under mutex_: the next index to send.
  uint64_t answered_ = 0;  // Under mutex_.
  uint64_t unsent_ = 0;    // Under mutex_: the connection had failed.
  absl::Status status_;    // Under mutex_: the first failure.
  // Reader thread only: the batch being received.
  uint64_t batch_replies_ = 0;
  absl::Status batch_status_;
};

}  // namespace encore::load

#endif  // ENCORE_TOOLS_LOAD_SETUP_PIPELINE_H_
