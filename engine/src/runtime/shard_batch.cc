// Shard: one batch. Drain the rings, read the clock, apply, journal; what
// the batch produced is stamped with its last LSN and released when durable.
#include <cstring>

#include "internal/check.h"
#include "runtime/engine_state.h"
#include "runtime/shard.h"

namespace encore::internal {

bool Shard::RunBatch() {
  // Drain first, then stamp: every command of the batch was queued before
  // the clock was read, so none carries a time older than its submission.
  const uint32_t producers = DrainRings();

  events_.Clear();
  const TimestampMs now = engine_->clock().NowMs();
  core_.AdvanceTime(now, &events_);
  // The batch's events so far (its timers, applied before inspections) are
  // in the core and go to the journal after the last LSN.
  if (inspections_.pending()) inspections_.RunAll(core_, last_lsn_ + events_.count());
  for (const PeerMessage& message : batch_peer_) {
    HandlePeer(message, now);
    engine_->peer_messages_in_flight().fetch_sub(1, std::memory_order_acq_rel);
  }
  for (const auto& entry : batch_requests_) {
    if (entry.second.whole) continue;  // Rare: admin commands.
    core_.Prefetch(Expand(entry.second));
  }
  size_t whole = 0;
  for (const auto& [producer, request] : batch_requests_) {
    if (request.whole) {
      HandleRequest(producer, request, batch_whole_[whole++], now);
      continue;
    }
    HandleRequest(producer, request, Expand(request), now);
  }
  if (!batch_peer_.empty() || !batch_requests_.empty()) {
    ShardCounters::Bump(counters_.batches);
    ShardCounters::Bump(counters_.batch_commands, batch_requests_.size());
    ShardCounters::Bump(counters_.peer_messages, batch_peer_.size());
    // The consumer may read its rings' fill level: what the batch left behind.
    uint64_t backlog = 0;
    for (uint32_t producer = 0; producer < producers; ++producer) {
      backlog += engine_->producer(producer).to_shard(index_).read_available();
    }
    counters_.ring_backlog.store(backlog, std::memory_order_relaxed);
  }

  const bool wrote = !events_.empty();
  if (wrote) {
    ShardCounters::Bump(counters_.events, events_.count());
    engine_->journal().Submit(index_, last_lsn_ + 1, static_cast<uint32_t>(events_.count()),
                              events_.bytes());
    last_lsn_ += events_.count();
    snapshots_.NoteLogged(events_.count(), events_.bytes().size());
    counters_.last_lsn.store(last_lsn_, std::memory_order_relaxed);
  }
  // Everything this batch produced waits for the whole batch to be durable.
  for (size_t i = unstamped_from_; i < pending_.size(); ++i) pending_[i].lsn = last_lsn_;
  const size_t released = Release();
  unstamped_from_ = pending_.size();
  snapshots_.MaybeTake(core_, last_lsn_);
  return !batch_peer_.empty() || !batch_requests_.empty() || wrote || released > 0;
}

uint32_t Shard::DrainRings() {
  const EngineOptions& options = engine_->options();
  batch_peer_.clear();
  batch_requests_.clear();
  batch_whole_.clear();
  for (uint32_t peer = 0; peer < inbox_.size(); ++peer) {
    PeerMessage message;
    while (batch_peer_.size() < options.batch_max && inbox_[peer]->pop(message)) {
      batch_peer_.push_back(message);
    }
  }
  const uint32_t producers = engine_->producer_count();
  for (uint32_t i = 0; i < producers; ++i) {
    const uint32_t producer = (round_robin_ + i) % producers;
    Ring<Request>& ring = engine_->producer(producer).to_shard(index_);
    Request request;
    while (batch_peer_.size() + batch_requests_.size() < options.batch_max && ring.pop(request)) {
      batch_requests_.push_back({producer, request});
      if (request.whole) {
        // Pushed before its head: it is there.
        batch_whole_.emplace_back();
        const bool popped =
            engine_->producer(producer).whole_to_shard(index_).pop(batch_whole_.back());
        ENCORE_CHECK(popped);
      }
    }
  }
  ++round_robin_;
  return producers;
}

const Command& Shard::Expand(const Request& request) {
  // Only the head changes: the fields past it keep a default Command's
  // values, which no client command reads.
  std::memcpy(static_cast<void*>(&expanded_), request.head.data(), kCommandHeadBytes);
  return expanded_;
}

void Shard::HandleRequest(uint32_t producer, const Request& request, const Command& command,
                          TimestampMs now) {
  const size_t outbox_before = outbox_.size();
  const Reply reply = core_.Apply(command, now, &events_, &outbox_);
  ShardCounters::Bump(counters_.commands[static_cast<uint32_t>(command.type) % kCommandTypeSlots]);
  ShardCounters::Bump(counters_.results[ResultCodeSlot(reply.code) % kResultCodeSlots]);
  if (outbox_.size() == outbox_before) {
    QueueCompletion(producer, Completion{request.tag, reply}, request.silent);
    return;
  }
  // A payment whose payer lives elsewhere: answer when its debit comes back.
  const DebitRequest debit = outbox_.back();
  outbox_.clear();
  DeferPayment(producer, request.tag, debit);
}

void Shard::QueueCompletion(uint32_t producer, const Completion& completion, bool silent) {
  Pending& pending = pending_.emplace_back();
  pending.lsn = 0;  // Stamped at the end of the batch.
  pending.to_peer = false;
  pending.target = producer;
  pending.body.slot = CompletionSlot{completion, silent};
}

}  // namespace encore::internal
