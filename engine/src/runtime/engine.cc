// Engine, Producer, and the engine's lifecycle.
#include "encore/engine.h"

#include <sys/random.h>

#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "internal/check.h"
#include "runtime/engine_state.h"

namespace encore {
namespace internal {
namespace {

bool IsPowerOfTwo(uint32_t value) { return value != 0 && (value & (value - 1)) == 0; }

std::array<uint64_t, 2> RandomKey() {
  std::array<uint64_t, 2> key{};
  uint8_t* bytes = reinterpret_cast<uint8_t*>(key.data());
  size_t filled = 0;
  while (filled < sizeof(key)) {
    const ssize_t got = getrandom(bytes + filled, sizeof(key) - filled, 0);
    ENCORE_CHECK(got > 0);
    filled += static_cast<size_t>(got);
  }
  return key;
}

}  // namespace

absl::Status ValidateEngineOptions(const EngineOptions& options) {
  auto invalid = [](const char* field, uint64_t value, const char* range) {
    return absl::InvalidArgumentError(
        absl::StrCat("EngineOptions.", field, " = ", value, ": must be ", range));
  };
  if (options.shards < 1 || options.shards > kShardsMax) {
    return invalid("shards", options.shards, "1 .. 64");
  }
  if (options.producers_max < 1 || options.producers_max > kProducersMax) {
    return invalid("producers_max", options.producers_max, "1 .. 256");
  }
  if (!IsPowerOfTwo(options.ring_capacity) || options.ring_capacity < kRingCapacityMin ||
      options.ring_capacity > kRingCapacityMax) {
    return invalid("ring_capacity", options.ring_capacity, "a power of two, 16 .. 1048576");
  }
  if (options.batch_max < 1 || options.batch_max > options.ring_capacity) {
    return invalid("batch_max", options.batch_max, "1 .. ring_capacity");
  }
  if (options.idle_sleep_max_ms < 1 || options.idle_sleep_max_ms > 1000) {
    return invalid("idle_sleep_max_ms", options.idle_sleep_max_ms, "1 .. 1000");
  }
  if (options.request_results_max < 1 ||
      options.request_results_max > CoreOptions::kRequestResultsMaxLimit) {
    return invalid("request_results_max", options.request_results_max, "1 .. 67108864");
  }
  if (absl::Status limits = ValidateCoreLimits(options.limits, "EngineOptions.limits.");
      !limits.ok()) {
    return limits;
  }
  if (options.snapshot_log_ratio > 1000) {
    return invalid("snapshot_log_ratio", options.snapshot_log_ratio, "0 .. 1000");
  }
  if (options.full_ring != FullRingPolicy::kBusy && options.full_ring != FullRingPolicy::kBlock) {
    return invalid("full_ring", static_cast<uint64_t>(options.full_ring), "kBusy or kBlock");
  }
  if (options.drive != Drive::kThreads && options.drive != Drive::kManual) {
    return invalid("drive", static_cast<uint64_t>(options.drive), "kThreads or kManual");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::array<uint64_t, 2>> TokenKey(const EngineOptions& options, Journal* journal) {
  if (options.token_key != std::array<uint64_t, 2>{}) return options.token_key;
  // No journal: nothing is kept, tokens live as long as the process.
  if (journal == nullptr) return RandomKey();
  // Tokens handed out before a restart must stay valid: the key is kept with
  // the data. The first open draws it from the OS CSPRNG and stores it.
  constexpr char kName[] = "queue_token_key";
  absl::StatusOr<std::optional<std::string>> stored = journal->GetMetadata(kName);
  if (!stored.ok()) return stored.status();
  std::array<uint64_t, 2> key{};
  if (stored->has_value()) {
    if ((*stored)->size() != sizeof(key)) {
      return absl::DataLossError("the stored queue token key has the wrong size");
    }
    std::memcpy(key.data(), (*stored)->data(), sizeof(key));
    return key;
  }
  key = RandomKey();
  const absl::Status put = journal->PutMetadata(
      kName, std::string(reinterpret_cast<const char*>(key.data()), sizeof(key)));
  // A journal that keeps nothing keeps no key: tokens then live as long as
  // the process, like everything else.
  if (!put.ok() && !absl::IsUnimplemented(put)) return put;
  return key;
}

EngineState::EngineState(const EngineOptions& options, const std::array<uint64_t, 2>& token_key)
    : options_(options),
      noop_journal_(kShardsMax),
      clock_(options.clock != nullptr ? options.clock : &system_clock_),
      journal_(options.journal != nullptr ? options.journal : &noop_journal_) {
  CoreOptions core_options;
  core_options.token_key = token_key;
  core_options.request_results_max = options.request_results_max;
  core_options.limits = options.limits;
  core_options.shard_count = options.shards;
  for (uint32_t shard = 0; shard < options.shards; ++shard) {
    core_options.shard_index = shard;
    shards_.push_back(std::make_unique<Shard>(this, shard, core_options));
  }
}

EngineState::~EngineState() { Close(); }

absl::StatusOr<ProducerState*> EngineState::NewProducer() {
  std::lock_guard<std::mutex> lock(producers_mutex_);
  if (closing()) return absl::FailedPreconditionError("the engine is closed");
  const uint32_t index = producer_count_.load(std::memory_order_relaxed);
  if (index >= options_.producers_max) {
    return absl::ResourceExhaustedError(absl::StrCat("all ", options_.producers_max,
                                                     " producers (EngineOptions.producers_max) "
                                                     "are taken"));
  }
  // The engine keeps the rings; a handle only points at them, so a shard
  // never touches freed memory, whatever the handle's lifetime.
  producers_[index] = std::make_unique<ProducerState>(this);
  producer_count_.store(index + 1, std::memory_order_release);
  return producers_[index].get();
}

bool EngineState::AllAnswered() const {
  const uint32_t producers = producer_count();
  for (uint32_t producer = 0; producer < producers; ++producer) {
    uint64_t released = 0;
    for (const auto& shard : shards_) released += shard->released_to(producer);
    if (released != producers_[producer]->submitted()) return false;
  }
  return true;
}

void EngineState::SetFailed(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(failure_mutex_);
  if (failed_.load(std::memory_order_relaxed)) return;
  failure_ = status.ok() ? absl::InternalError("the engine failed") : status;
  failed_.store(true, std::memory_order_release);
}

absl::Status EngineState::failure() const {
  std::lock_guard<std::mutex> lock(failure_mutex_);
  return failure_;
}

uint64_t EngineState::Inspect(uint32_t shard, const std::function<void(const Core&)>& fn) {
  ENCORE_CHECK(shard < shards_.size());
  if (manual()) {
    // No thread owns the core: the caller is the only one running it.
    return shards_[shard]->InspectStopped(fn);
  }
  if (stopping()) {
    // The threads are gone (or going): wait for them, then read directly.
    Close();
    return shards_[shard]->InspectStopped(fn);
  }
  return shards_[shard]->Inspect(fn);
}

bool EngineState::DriveRound() {
  bool moved = false;
  for (auto& shard : shards_) moved |= shard->Step();
  if (moved) return true;
  // Nothing left to apply: what remains waits for the journal.
  for (auto& shard : shards_) moved |= shard->WaitForJournal();
  return moved;
}

void EngineState::Close() {
  if (closed_) return;
  closing_.store(true, std::memory_order_release);
  if (manual()) {
    // No threads to stop: finish what is in flight on this thread, as the
    // shard threads would, or stop where nothing can move.
    auto quiescent = [this] {
      for (const auto& shard : shards_) {
        if (!shard->Quiescent()) return false;
      }
      return true;
    };
    while (!quiescent() && DriveRound()) {
    }
    stopping_.store(true, std::memory_order_release);
    closed_ = true;
    return;
  }
  // A Submit that passed the closing check finishes its push first.
  while (submits_under_way_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  stopping_.store(true, std::memory_order_release);
  for (auto& shard : shards_) shard->wakeup().Notify();
  for (auto& shard : shards_) shard->Join();
  closed_ = true;
}

}  // namespace internal

uint32_t ShardOfCommand(const Command& command, uint32_t shard_count) {
  if (command.type == CommandType::kCharge || command.type == CommandType::kBalance) {
    return ShardOfUser(command.user, shard_count);
  }
  if (command.type == CommandType::kCreateSchedule) {
    return ShardOfSchedule(command.schedule_config.schedule, shard_count);
  }
  if (command.type == CommandType::kCreateConcert) return 0;
  return ShardOfSchedule(command.schedule, shard_count);
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  absl::Status valid = internal::ValidateEngineOptions(options);
  if (!valid.ok()) return valid;
  absl::StatusOr<std::array<uint64_t, 2>> token_key = internal::TokenKey(options, options.journal);
  if (!token_key.ok()) return token_key.status();
  auto state = std::make_unique<internal::EngineState>(options, *token_key);
  for (uint32_t shard = 0; shard < state->shard_count(); ++shard) {
    absl::Status recovered = state->shard(shard).Recover();
    if (!recovered.ok()) return recovered;
  }
  for (uint32_t shard = 0; shard < state->shard_count(); ++shard) {
    state->shard(shard).ResendPaymentsInFlight();
  }
  if (!state->manual()) {
    for (uint32_t shard = 0; shard < state->shard_count(); ++shard) state->shard(shard).Start();
  }
  return std::unique_ptr<Engine>(new Engine(std::move(state)));
}

Engine::Engine(std::unique_ptr<internal::EngineState> state) : state_(std::move(state)) {}

Engine::~Engine() { Close(); }

absl::StatusOr<std::unique_ptr<Producer>> Engine::NewProducer() {
  absl::StatusOr<internal::ProducerState*> state = state_->NewProducer();
  if (!state.ok()) return state.status();
  return std::unique_ptr<Producer>(new Producer(*state));
}

uint64_t Engine::Inspect(uint32_t shard, const std::function<void(const Core&)>& fn) {
  return state_->Inspect(shard, fn);
}

absl::Status Engine::WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) {
  ENCORE_CHECK(shard < state_->shard_count());
  Journal& journal = state_->journal();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    absl::Status failure = journal.status();
    if (failure.ok()) failure = state_->failure();
    if (!failure.ok()) {
      return absl::UnavailableError(absl::StrCat("the journal failed (", failure.message(),
                                                 "): what a read would show may be lost"));
    }
    if (journal.DurableLsn(shard) >= lsn) return absl::OkStatus();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::UnavailableError(absl::StrCat("shard ", shard, ": lsn ", lsn,
                                                 " not durable within ", timeout.count(), " ms"));
    }
    journal.WaitDurable(shard, lsn, left);
  }
}

bool Engine::Step(uint32_t shard) {
  ENCORE_CHECK(state_->manual() && shard < state_->shard_count());
  return state_->shard(shard).Step();
}

void Engine::Close() { state_->Close(); }

uint32_t Engine::shard_count() const { return state_->shard_count(); }

absl::Status Engine::status() const { return state_->failure(); }

ShardStats Engine::shard_stats(uint32_t shard) const { return state_->shard(shard).stats(); }

}  // namespace encore
