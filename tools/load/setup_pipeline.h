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

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "encore/command.h"
#include "encore/net/client.h"

namespace encore::load {

class SetupPipeline final : public net::ReplyHandler {
 public:
  using Make = std::function<Command(uint64_t index)>;
  using Take = std::function<absl::Status(uint64_t index, const net::DecodedResponse& reply)>;

  // The largest window for `client`: `wanted`, within the client's
  // in-flight limit (its option, and the server's, when lower).
  static uint32_t WindowFor(const net::Client& client, uint32_t wanted);

  // REQUIRES: window >= 1. A window past the client's in-flight limit works,
  // but its first requests wait for room: see WindowFor.
  SetupPipeline(net::Client* client, uint64_t count, uint32_t window, Make make, Take take)
      : client_(*client),
        count_(count),
        window_(window),
        make_(std::move(make)),
        take_(std::move(take)) {}

  // Sends the first `window` requests; the replies send the rest.
  void Start();

  // Waits for every reply; the first failure, or OK. A server that answers
  // nothing for kRepliesWaitMax fails it (the connection is closed).
  absl::Status Wait();

  void OnReply(uint64_t tag, const net::DecodedResponse& reply) override;

  void OnBatchEnd() override;

 private:
  void SendOne(uint64_t index);

  // Every request handed out is answered (or could not be sent), and no more
  // will be. REQUIRES: mutex_ held.
  bool Finished() const;

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
