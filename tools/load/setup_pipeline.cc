// The set-up pipeline (see setup_pipeline.h).
#include "setup_pipeline.h"

#include <algorithm>

#include "completions.h"

namespace encore::load {

uint32_t SetupPipeline::WindowFor(const net::Client& client, uint32_t wanted) {
  uint32_t limit = std::min(wanted, client.options().in_flight_max);
  if (client.hello().in_flight_max != 0) limit = std::min(limit, client.hello().in_flight_max);
  return std::max<uint32_t>(limit, 1);
}

void SetupPipeline::Start() {
  uint64_t first = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first = std::min<uint64_t>(window_, count_);
    next_ = first;
  }
  for (uint64_t i = 0; i < first; ++i) SendOne(i);
}

absl::Status SetupPipeline::Wait() {
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

void SetupPipeline::OnReply(uint64_t tag, const net::DecodedResponse& reply) {
  absl::Status taken = take_(tag, reply);
  ++batch_replies_;
  if (!taken.ok() && batch_status_.ok()) batch_status_ = std::move(taken);
}

void SetupPipeline::OnBatchEnd() {
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

void SetupPipeline::SendOne(uint64_t index) {
  if (client_.SendTo(make_(index), this, index)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  ++unsent_;
  if (status_.ok()) status_ = absl::UnavailableError("the connection to the server was lost");
  if (Finished()) changed_.notify_all();
}

bool SetupPipeline::Finished() const {
  return answered_ + unsent_ == next_ && (next_ == count_ || !status_.ok());
}

}  // namespace encore::load
