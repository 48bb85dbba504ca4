// EngineState: what an Engine is made of. It owns the shards (runtime/shard.h)
// and the producers' states (runtime/producer_state.h), and holds what they
// share: the options, the clock, the journal, the close and failure flags,
// and the count of saga messages in flight. The rings between them are
// listed in runtime/ring.h.
//
// Thread safety: the accessors from any thread; NewProducer under its own
// mutex; Close and DriveRound by the Engine.
#ifndef ENCORE_RUNTIME_ENGINE_STATE_H_
#define ENCORE_RUNTIME_ENGINE_STATE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/clock.h"
#include "encore/engine.h"
#include "encore/journal.h"
#include "runtime/producer_state.h"
#include "runtime/shard.h"

namespace encore::internal {

class EngineState {
 public:
  EngineState(const EngineOptions& options, const std::array<uint64_t, 2>& token_key);
  ~EngineState();

  // The new producer's state, owned by the engine; or ResourceExhausted.
  [[nodiscard]] absl::StatusOr<ProducerState*> NewProducer();
  uint64_t Inspect(uint32_t shard, const std::function<void(const Core&)>& fn);
  void Close();
  // Drive::kManual: one Step of every shard; if none moved, waits on the
  // journal for each. False when nothing could move.
  bool DriveRound();

  const EngineOptions& options() const { return options_; }
  bool manual() const { return options_.drive == Drive::kManual; }
  const Clock& clock() const { return *clock_; }
  Journal& journal() { return *journal_; }
  uint32_t shard_count() const { return options_.shards; }
  Shard& shard(uint32_t index) { return *shards_[index]; }
  uint32_t producer_count() const { return producer_count_.load(std::memory_order_acquire); }
  ProducerState& producer(uint32_t index) { return *producers_[index]; }
  bool closing() const { return closing_.load(std::memory_order_acquire); }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  std::atomic<int64_t>& peer_messages_in_flight() { return peer_messages_in_flight_; }
  std::atomic<int32_t>& submits_under_way() { return submits_under_way_; }
  // True when every command submitted has been answered (checked at close).
  bool AllAnswered() const;
  // The first failure (the journal's); then every command gets UNAVAILABLE.
  void SetFailed(const absl::Status& status);
  [[nodiscard]] absl::Status failure() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  EngineOptions options_;
  SystemClock system_clock_;
  NoopJournal noop_journal_;
  const Clock* clock_;
  Journal* journal_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex producers_mutex_;
  std::unique_ptr<ProducerState> producers_[kProducersMax];
  std::atomic<uint32_t> producer_count_{0};
  std::atomic<bool> closing_{false};
  std::atomic<bool> stopping_{false};
  bool closed_ = false;
  std::atomic<int64_t> peer_messages_in_flight_{0};
  std::atomic<int32_t> submits_under_way_{0};
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mutex_;
  absl::Status failure_;
};

// kOk, or InvalidArgument naming the field.
[[nodiscard]] absl::Status ValidateEngineOptions(const EngineOptions& options);

// The queue-token key: the options' if set, else the one stored in the
// journal (may be null), else a new random one, stored there.
[[nodiscard]] absl::StatusOr<std::array<uint64_t, 2>> TokenKey(const EngineOptions& options,
                                                               Journal* journal);

}  // namespace encore::internal

#endif  // ENCORE_RUNTIME_ENGINE_STATE_H_
