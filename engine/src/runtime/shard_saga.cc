// Shard: a payment's saga. The schedule's shard holds the seats and defers
// the reply; the debit goes to the payer's shard, whose outcome comes back
// and settles the payment. Messages wait in pending_ like replies, so a shard
// never tells another what its own log does not hold yet.
#include <vector>

#include "runtime/engine_state.h"
#include "runtime/shard.h"

namespace encore::internal {

void Shard::DeferPayment(uint32_t producer, uint64_t tag, const DebitRequest& debit) {
  deferred_[{debit.schedule, debit.payment}] = Waiter{producer, tag};
  PeerMessage message{};
  message.kind = PeerMessage::Kind::kDebit;
  message.debit = debit;
  QueuePeer(ShardOfUser(debit.user, engine_->shard_count()), message);
}

void Shard::HandlePeer(const PeerMessage& message, TimestampMs now) {
  if (message.kind == PeerMessage::Kind::kDebit) {
    PeerMessage answer{};
    answer.kind = PeerMessage::Kind::kOutcome;
    answer.outcome = core_.ApplyDebit(message.debit, now, &events_);
    QueuePeer(ShardOfSchedule(message.debit.schedule, engine_->shard_count()), answer);
    return;
  }
  bool settled = false;
  const Reply reply = core_.SettlePayment(message.outcome, now, &events_, &settled);
  auto waiter = deferred_.find({message.outcome.schedule, message.outcome.payment});
  // No waiter: a payment resent after a restart; its client retries with its
  // request key and gets the recorded result.
  if (!settled || waiter == deferred_.end()) return;
  ShardCounters::Bump(counters_.results[ResultCodeSlot(reply.code) % kResultCodeSlots]);
  QueueCompletion(waiter->second.producer, Completion{waiter->second.tag, reply}, false);
  deferred_.erase(waiter);
}

void Shard::QueuePeer(uint32_t shard, const PeerMessage& message) {
  engine_->peer_messages_in_flight().fetch_add(1, std::memory_order_acq_rel);
  Pending& pending = pending_.emplace_back();
  pending.lsn = 0;  // Stamped at the end of the batch.
  pending.to_peer = true;
  pending.target = shard;
  pending.body.message = message;
}

void Shard::ResendPaymentsInFlight() {
  std::vector<DebitRequest> requests;
  core_.PaymentsInFlight(&requests);
  for (const DebitRequest& request : requests) {
    PeerMessage message{};
    message.kind = PeerMessage::Kind::kDebit;
    message.debit = request;
    QueuePeer(ShardOfUser(request.user, engine_->shard_count()), message);
  }
  for (Pending& pending : pending_) pending.lsn = last_lsn_;
  unstamped_from_ = pending_.size();
}

}  // namespace encore::internal
