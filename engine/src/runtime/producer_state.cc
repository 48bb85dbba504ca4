// ProducerState: one thread's rings to and from every shard.
#include "runtime/producer_state.h"

#include <cstring>
#include <thread>

#include "internal/check.h"
#include "runtime/engine_state.h"

namespace encore {
namespace internal {

ProducerState::ProducerState(EngineState* engine)
    : engine_(engine),
      in_flight_to_shard_(engine->shard_count(), 0),
      broadcast_copies_taken_(engine->shard_count(), 0) {
  const uint32_t capacity = engine->options().ring_capacity;
  for (uint32_t shard = 0; shard < engine->shard_count(); ++shard) {
    to_shard_.push_back(std::make_unique<Ring<Request>>(capacity));
    whole_to_shard_.push_back(std::make_unique<Ring<Command>>(capacity));
    from_shard_.push_back(std::make_unique<Ring<CompletionSlot>>(capacity));
  }
}

bool ProducerState::Push(uint32_t shard, const Command& command, uint64_t tag, bool silent) {
  if (in_flight_to_shard_[shard] >= engine_->options().ring_capacity) return false;
  Request request;
  std::memcpy(request.head.data(), &command, kCommandHeadBytes);
  request.tag = tag;
  request.silent = silent;
  request.whole = NeedsWholeCommand(command.type);
  // The in-flight bound keeps the rings from filling: neither push can fail.
  // The whole command goes first, so the shard finds it when it pops the head.
  if (request.whole) {
    const bool pushed_whole = whole_to_shard_[shard]->push(command);
    ENCORE_CHECK(pushed_whole);
  }
  const bool pushed = to_shard_[shard]->push(request);
  ENCORE_CHECK(pushed);
  ++in_flight_to_shard_[shard];
  ++in_flight_;
  submitted_.store(submitted_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  if (batching_) {
    wake_deferred_ |= uint64_t{1} << shard;
  } else {
    engine_->shard(shard).wakeup().Notify();
  }
  return true;
}

void ProducerState::WakeDeferred() {
  for (uint64_t bits = wake_deferred_; bits != 0; bits &= bits - 1) {
    engine_->shard(static_cast<uint32_t>(__builtin_ctzll(bits))).wakeup().Notify();
  }
  wake_deferred_ = 0;
}

void ProducerState::BeginBatch() {
  ENCORE_CHECK(!batching_);
  // Counted once for the whole batch: Close() waits for it to end.
  engine_->submits_under_way().fetch_add(1, std::memory_order_acq_rel);
  batching_ = true;
}

void ProducerState::EndBatch() {
  ENCORE_CHECK(batching_);
  batching_ = false;
  WakeDeferred();
  engine_->submits_under_way().fetch_sub(1, std::memory_order_acq_rel);
}

bool ProducerState::WaitForRoom(uint32_t shard) {
  // The shards must be awake to make room.
  WakeDeferred();
  while (in_flight_to_shard_[shard] >= engine_->options().ring_capacity) {
    if (engine_->closing()) return false;
    // Completions free room; keep them for the caller's next Poll. Taken
    // from the rings themselves: Poll hands out the stash first, so once 64
    // were stashed it never reached the rings again, and a batch larger than
    // the ring waited for ever.
    Completion completions[64];
    const size_t taken = TakeFromRings(completions);
    if (taken > 0) {
      stash_.insert(stash_.end(), completions, completions + taken);
      continue;
    }
    wakeup_.Sleep(std::chrono::milliseconds(10), [this] { return AnyInRings(); });
  }
  return true;
}

ResultCode ProducerState::Submit(const Command& command, uint64_t tag) {
  // Counted so Close() waits for a Submit that already passed the check (a
  // batch is counted once, by BeginBatch).
  struct Done {
    EngineState* engine;
    bool counted;
    ~Done() {
      if (counted) engine->submits_under_way().fetch_sub(1, std::memory_order_acq_rel);
    }
  } done{engine_, !batching_};
  if (done.counted) engine_->submits_under_way().fetch_add(1, std::memory_order_acq_rel);
  if (engine_->closing() || engine_->failed()) return ResultCode::kUnavailable;
  const uint32_t shards = engine_->shard_count();
  const bool block = engine_->options().full_ring == FullRingPolicy::kBlock;
  if (command.type == CommandType::kCreateConcert) {
    // The catalog of concerts is on every shard (each checks that a new
    // schedule's concert exists): broadcast, and answer with shard 0's reply.
    for (uint32_t shard = 0; shard < shards; ++shard) {
      if (in_flight_to_shard_[shard] >= engine_->options().ring_capacity &&
          !(block && WaitForRoom(shard))) {
        return block ? ResultCode::kUnavailable : ResultCode::kBusy;
      }
    }
    for (uint32_t shard = 0; shard < shards; ++shard) {
      Push(shard, command, tag, shard != 0);
    }
    broadcasts_.push_back(Broadcast{Completion{tag, Reply{}}, shards, false});
    return ResultCode::kOk;
  }
  const uint32_t shard = ShardOfCommand(command, shards);
  if (Push(shard, command, tag, false)) return ResultCode::kOk;
  if (!block) return ResultCode::kBusy;
  if (!WaitForRoom(shard)) return ResultCode::kUnavailable;
  Push(shard, command, tag, false);
  return ResultCode::kOk;
}

size_t ProducerState::Poll(std::span<Completion> out) {
  size_t taken = 0;
  while (taken < out.size() && !stash_.empty()) {
    out[taken++] = stash_.front();
    stash_.pop_front();
  }
  taken += TakeFromRings(out.subspan(taken));
  // Broadcasts whose copies are all in, in order.
  while (taken < out.size() && !broadcasts_.empty() && broadcasts_.front().copies_left == 0) {
    Completion& completion = broadcasts_.front().completion;
    if (broadcasts_.front().unavailable) {
      completion.reply = MakeReply(CommandType::kCreateConcert, ResultCode::kUnavailable);
    }
    out[taken++] = completion;
    broadcasts_.pop_front();
    ++broadcasts_answered_;
  }
  return taken;
}

size_t ProducerState::TakeFromRings(std::span<Completion> out) {
  size_t taken = 0;
  for (uint32_t shard = 0; shard < from_shard_.size() && taken < out.size(); ++shard) {
    CompletionSlot slot;
    while (taken < out.size() && from_shard_[shard]->pop(slot)) {
      --in_flight_to_shard_[shard];
      --in_flight_;
      if (slot.completion.reply.type == CommandType::kCreateConcert) {
        TakeBroadcast(shard, slot);  // Handed out below, once every copy is in.
      } else if (!slot.silent) {
        out[taken++] = slot.completion;
      }
    }
  }
  return taken;
}

void ProducerState::TakeBroadcast(uint32_t shard, const CompletionSlot& slot) {
  const uint64_t index = broadcast_copies_taken_[shard]++ - broadcasts_answered_;
  ENCORE_CHECK(index < broadcasts_.size());
  Broadcast& broadcast = broadcasts_[index];
  // Shard 0's copy carries the answer; the others only have to be durable.
  if (!slot.silent) broadcast.completion = slot.completion;
  if (slot.completion.reply.code == ResultCode::kUnavailable) broadcast.unavailable = true;
  --broadcast.copies_left;
}

bool ProducerState::AnyCompletion() {
  if (!stash_.empty()) return true;
  if (!broadcasts_.empty() && broadcasts_.front().copies_left == 0) return true;
  return AnyInRings();
}

bool ProducerState::AnyInRings() const {
  for (const auto& ring : from_shard_) {
    if (ring->read_available() > 0) return true;
  }
  return false;
}

size_t ProducerState::Wait(std::span<Completion> out, std::chrono::milliseconds timeout) {
  size_t taken = Poll(out);
  if (taken > 0) return taken;
  const uint32_t spins = engine_->options().idle_spins;
  for (uint32_t spin = 0; spin < spins; ++spin) {
    if (AnyCompletion()) return Poll(out);
    std::this_thread::yield();
  }
  wakeup_.Sleep(timeout, [this] { return AnyCompletion(); });
  return Poll(out);
}

Reply ProducerState::Call(const Command& command) {
  ENCORE_CHECK(in_flight_ == 0 && stash_.empty() && broadcasts_.empty());
  const ResultCode submitted = Submit(command, 0);
  if (submitted != ResultCode::kOk) return MakeReply(command.type, submitted);
  // A broadcast's other copies complete silently: wait for them too, so the
  // next Call starts with nothing in flight.
  Completion completion;
  bool answered = false;
  const bool manual = engine_->manual();
  while (!answered || in_flight_ > 0) {
    Completion taken;
    const std::span<Completion> out(&taken, 1);
    if ((manual ? Poll(out) : Wait(out, std::chrono::milliseconds(100))) == 1) {
      completion = taken;
      answered = true;
      continue;
    }
    // No shard threads: this thread runs them until the reply comes.
    if (manual && !engine_->DriveRound()) {
      return answered ? completion.reply : MakeReply(command.type, ResultCode::kUnavailable);
    }
  }
  return completion.reply;
}

}  // namespace internal

Producer::Producer(internal::ProducerState* state) : state_(state) {}

ResultCode Producer::Submit(const Command& command, uint64_t tag) {
  return state_->Submit(command, tag);
}
void Producer::BeginBatch() { state_->BeginBatch(); }
void Producer::EndBatch() { state_->EndBatch(); }
size_t Producer::Poll(std::span<Completion> out) { return state_->Poll(out); }
size_t Producer::Wait(std::span<Completion> out, std::chrono::milliseconds timeout) {
  state_->CheckNotBatching();
  return state_->Wait(out, timeout);
}
Reply Producer::Call(const Command& command) {
  state_->CheckNotBatching();
  return state_->Call(command);
}
uint64_t Producer::in_flight() const { return state_->in_flight(); }
void Producer::SetCompletionCallback(std::function<void()> callback) {
  state_->SetCompletionCallback(std::move(callback));
}

}  // namespace encore
