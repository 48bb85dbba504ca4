// Shard: handing out what is durable. Completions go to their producers'
// rings (room is guaranteed), saga messages to the other shards' inboxes;
// each producer and shard is woken once per release. After a journal failure,
// everything pending is answered UNAVAILABLE instead.
#include "internal/check.h"
#include "runtime/engine_state.h"
#include "runtime/shard.h"

namespace encore::internal {

size_t Shard::Release() {
  if (pending_.empty() && deferred_.empty()) return 0;
  if (!engine_->journal().status().ok() || engine_->failed()) {
    engine_->SetFailed(engine_->journal().status());
    return ReleaseAfterFailure();
  }
  if (pending_.empty()) return 0;
  const uint64_t durable = engine_->journal().DurableLsn(index_);
  size_t released = 0;
  uint64_t woken_producers[kProducersMax / 64] = {};
  uint64_t woken_shards = 0;
  // Completions pushed per producer, published once they are all in its ring.
  uint32_t pushed_to[kProducersMax];
  while (!pending_.empty() && pending_.front().lsn <= durable) {
    Pending& next = pending_.front();
    if (next.to_peer) {
      if (!engine_->shard(next.target).inbox_from(index_).push(next.body.message)) break;
      woken_shards |= uint64_t{1} << next.target;
    } else {
      // Room is guaranteed: a producer has at most ring_capacity in flight.
      const bool pushed = engine_->producer(next.target).from_shard(index_).push(next.body.slot);
      ENCORE_CHECK(pushed);
      const uint64_t bit = uint64_t{1} << (next.target % 64);
      if ((woken_producers[next.target / 64] & bit) == 0) pushed_to[next.target] = 0;
      ++pushed_to[next.target];
      woken_producers[next.target / 64] |= bit;
    }
    pending_.pop_front();
    ++released;
  }
  for (uint32_t word = 0; word < kProducersMax / 64; ++word) {
    for (uint64_t bits = woken_producers[word]; bits != 0; bits &= bits - 1) {
      const uint32_t producer = word * 64 + __builtin_ctzll(bits);
      released_[producer].fetch_add(pushed_to[producer], std::memory_order_acq_rel);
      engine_->producer(producer).NotifyCompletions();
    }
  }
  for (uint64_t bits = woken_shards; bits != 0; bits &= bits - 1) {
    engine_->shard(__builtin_ctzll(bits)).wakeup().Notify();
  }
  return released;
}

size_t Shard::ReleaseAfterFailure() {
  size_t released = 0;
  while (!pending_.empty()) {
    Pending& next = pending_.front();
    if (next.to_peer) {
      // The saga stops here; recovery resends the debit of a pinned payment.
      engine_->peer_messages_in_flight().fetch_sub(1, std::memory_order_acq_rel);
    } else {
      next.body.slot.completion.reply =
          MakeReply(next.body.slot.completion.reply.type, ResultCode::kUnavailable);
      const bool pushed = engine_->producer(next.target).from_shard(index_).push(next.body.slot);
      ENCORE_CHECK(pushed);
      released_[next.target].fetch_add(1, std::memory_order_acq_rel);
      engine_->producer(next.target).NotifyCompletions();
    }
    pending_.pop_front();
    ++released;
  }
  // Payments waiting for an answer that will not come are answered too.
  for (const auto& [key, waiter] : deferred_) {
    const bool pushed =
        engine_->producer(waiter.producer)
            .from_shard(index_)
            .push(CompletionSlot{
                Completion{waiter.tag, MakeReply(CommandType::kPay, ResultCode::kUnavailable)},
                false});
    ENCORE_CHECK(pushed);
    released_[waiter.producer].fetch_add(1, std::memory_order_acq_rel);
    engine_->producer(waiter.producer).NotifyCompletions();
    ++released;
  }
  deferred_.clear();
  return released;
}

}  // namespace encore::internal
