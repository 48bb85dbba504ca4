// Shard: the single-writer thread around one Core.
#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "internal/check.h"
#include "runtime/engine_state.h"

namespace encore::internal {

Shard::Shard(EngineState* engine, uint32_t index, const CoreOptions& core_options)
    : engine_(engine),
      index_(index),
      core_(core_options),
      released_(new std::atomic<uint64_t>[kProducersMax]) {
  for (uint32_t producer = 0; producer < kProducersMax; ++producer) released_[producer] = 0;
  const uint32_t shards = engine->shard_count();
  for (uint32_t peer = 0; peer < shards; ++peer) {
    inbox_.push_back(std::make_unique<Ring<PeerMessage>>(engine->options().ring_capacity));
  }
  events_.Reserve(1 << 16);
  batch_peer_.reserve(engine->options().batch_max);
  batch_requests_.reserve(engine->options().batch_max);
}

void Shard::Start() {
  thread_ = std::thread([this] {
    // Named for top -H and perf: encore-shard<N>.
    pthread_setname_np(pthread_self(), absl::StrCat("encore-shard", index_).c_str());
    Run();
  });
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
}

absl::Status Shard::Recover() {
  const auto started = std::chrono::steady_clock::now();
  Journal& journal = engine_->journal();
  absl::StatusOr<std::optional<Journal::StoredSnapshot>> snapshot = journal.LatestSnapshot(index_);
  if (!snapshot.ok()) return snapshot.status();
  if (snapshot->has_value()) {
    const absl::Status loaded = core_.LoadSnapshot((*snapshot)->second);
    if (!loaded.ok()) {
      return absl::DataLossError(absl::StrCat("shard ", index_, ": snapshot at lsn ",
                                              (*snapshot)->first, ": ", loaded.message()));
    }
    last_lsn_ = (*snapshot)->first;
    last_snapshot_bytes_ = (*snapshot)->second.size();
  }
  uint64_t replayed = 0;
  const absl::Status read = journal.ReadShard(
      index_, last_lsn_ + 1,
      [&](uint64_t first_lsn, std::span<const uint8_t> records, uint32_t count) -> absl::Status {
        if (first_lsn != last_lsn_ + 1) {
          return absl::DataLossError(absl::StrCat("shard ", index_,
                                                  ": gap in the log: expected lsn ", last_lsn_ + 1,
                                                  ", found ", first_lsn));
        }
        uint64_t lsn = first_lsn;
        absl::Status applied;
        const size_t walked = ForEachEventRecord(records, [&](const EventView& event) {
          applied = core_.ApplyEvent(event);
          if (!applied.ok()) return false;
          ++lsn;
          return true;
        });
        if (!applied.ok()) {
          return absl::DataLossError(
              absl::StrCat("shard ", index_, " lsn ", lsn, ": ", applied.message()));
        }
        if (walked != records.size() || lsn != first_lsn + count) {
          return absl::DataLossError(absl::StrCat("shard ", index_, " lsn ", first_lsn,
                                                  ": batch holds ", lsn - first_lsn,
                                                  " whole events, says ", count));
        }
        last_lsn_ += count;
        replayed += count;
        log_bytes_since_snapshot_ += records.size();
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  // The snapshot policy counts from the last snapshot, not from this start:
  // a server restarted more often than every snapshot_every_events would
  // otherwise never take one, and replay ever more log at each start.
  events_since_snapshot_ = replayed;
  const absl::Status invariants = core_.CheckInvariants();
  if (!invariants.ok()) {
    return absl::DataLossError(absl::StrCat("shard ", index_, " after recovery to lsn ", last_lsn_,
                                            ": ", invariants.message()));
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.recovered_events = replayed;
  stats_.recovery_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();
  counters_.last_lsn.store(last_lsn_, std::memory_order_relaxed);
  return absl::OkStatus();
}

ShardStats Shard::stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  ShardStats stats = stats_;
  for (uint32_t i = 0; i < kCommandTypeSlots; ++i) {
    stats.commands[i] = counters_.commands[i].load(std::memory_order_relaxed);
  }
  for (uint32_t i = 0; i < kResultCodeSlots; ++i) {
    stats.results[i] = counters_.results[i].load(std::memory_order_relaxed);
  }
  stats.batches = counters_.batches.load(std::memory_order_relaxed);
  stats.batch_commands = counters_.batch_commands.load(std::memory_order_relaxed);
  stats.events = counters_.events.load(std::memory_order_relaxed);
  stats.peer_messages = counters_.peer_messages.load(std::memory_order_relaxed);
  stats.ring_backlog = counters_.ring_backlog.load(std::memory_order_relaxed);
  stats.last_lsn = counters_.last_lsn.load(std::memory_order_relaxed);
  stats.durable_lsn = engine_->journal().DurableLsn(index_);
  return stats;
}

void Shard::MaybeSnapshot() {
  const uint64_t every = engine_->options().snapshot_every_events;
  if (!snapshots_enabled_.load(std::memory_order_relaxed) || every == 0 ||
      events_since_snapshot_ < every ||
      log_bytes_since_snapshot_ <
          uint64_t{engine_->options().snapshot_log_ratio} * last_snapshot_bytes_) {
    return;
  }
  // The previous snapshot is still being stored: the next one waits for it.
  if (snapshot_storing_.load(std::memory_order_acquire)) return;
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  const auto started = std::chrono::steady_clock::now();
  Journal& journal = engine_->journal();
  // The snapshot covers last_lsn_: wait until the log holds everything before
  // it, so dropping the log below it never loses an event.
  while (journal.DurableLsn(index_) < last_lsn_) {
    if (!journal.status().ok()) return;
    journal.WaitDurable(index_, last_lsn_, std::chrono::milliseconds(10));
  }
  core_.SaveSnapshot(&snapshot_buffer_);
  events_since_snapshot_ = 0;
  log_bytes_since_snapshot_ = 0;
  last_snapshot_bytes_ = snapshot_buffer_.size();
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    stats_.last_snapshot_stall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - started)
                                        .count();
  }
  const uint64_t lsn = last_lsn_;
  if (engine_->manual()) {
    // One thread drives everything: store now, so a seed replays exactly.
    StoreSnapshot(lsn);
    return;
  }
  snapshot_storing_.store(true, std::memory_order_release);
  snapshot_thread_ = std::thread([this, lsn] {
    pthread_setname_np(pthread_self(), absl::StrCat("encore-snap", index_).c_str());
    StoreSnapshot(lsn);
    snapshot_storing_.store(false, std::memory_order_release);
  });
}

void Shard::StoreSnapshot(uint64_t lsn) {
  Journal& journal = engine_->journal();
  const absl::Status stored = journal.PutSnapshot(index_, lsn, snapshot_buffer_.bytes());
  if (absl::IsUnimplemented(stored)) {
    snapshots_enabled_.store(false, std::memory_order_relaxed);  // It keeps no snapshots.
    return;
  }
  if (!stored.ok() || !journal.DeleteBefore(index_, lsn + 1).ok()) {
    engine_->SetFailed(stored.ok() ? absl::InternalError("dropping the log failed") : stored);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.snapshots;
    stats_.last_snapshot_lsn = lsn;
    stats_.last_snapshot_bytes = snapshot_buffer_.size();
  }
  // The state only grows between snapshots in a sale: map a quarter more now,
  // here, so the shard's next serialization takes no page faults.
  // Failing to is harmless: the shard then faults them in itself.
  (void)snapshot_buffer_.Prefault(snapshot_buffer_.size() + snapshot_buffer_.size() / 4);
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

void Shard::Run() {
  const EngineOptions& options = engine_->options();
  uint32_t idle_rounds = 0;
  for (;;) {
    if (RunBatch()) {
      idle_rounds = 0;
      continue;
    }
    if (engine_->stopping() && Quiescent()) break;
    if (++idle_rounds < options.idle_spins) {
      std::this_thread::yield();
      continue;
    }
    if (!pending_.empty() && engine_->journal().DurableLsn(index_) < pending_.front().lsn) {
      engine_->journal().WaitDurable(index_, pending_.front().lsn,
                                     std::chrono::milliseconds(options.idle_sleep_max_ms));
      continue;
    }
    // Sleep until work arrives, or the next timer (at most idle_sleep_max_ms).
    // While closing, look again soon: the last sagas may be finishing elsewhere.
    int64_t sleep_ms = engine_->stopping() ? 1 : options.idle_sleep_max_ms;
    const TimestampMs next_deadline = core_.NextDeadlineMs();
    if (next_deadline != kNoDeadline) {
      sleep_ms = std::clamp<int64_t>(next_deadline - engine_->clock().NowMs(), 0, sleep_ms);
    }
    wakeup_.Sleep(std::chrono::milliseconds(sleep_ms), [this] { return HasInput(); });
  }
}

bool Shard::RunBatch() {
  const EngineOptions& options = engine_->options();
  // Drain first, then stamp: every command of the batch was queued before
  // the clock was read, so none carries a time older than its submission.
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

  events_.Clear();
  const TimestampMs now = engine_->clock().NowMs();
  core_.AdvanceTime(now, &events_);
  if (inspection_pending_.load(std::memory_order_acquire)) RunInspections();
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
    Bump(counters_.batches);
    Bump(counters_.batch_commands, batch_requests_.size());
    Bump(counters_.peer_messages, batch_peer_.size());
    // The consumer may read its rings' fill level: what the batch left behind.
    uint64_t backlog = 0;
    for (uint32_t producer = 0; producer < producers; ++producer) {
      backlog += engine_->producer(producer).to_shard(index_).read_available();
    }
    counters_.ring_backlog.store(backlog, std::memory_order_relaxed);
  }

  const bool wrote = !events_.empty();
  if (wrote) {
    Bump(counters_.events, events_.count());
    engine_->journal().Submit(index_, last_lsn_ + 1, static_cast<uint32_t>(events_.count()),
                              events_.bytes());
    last_lsn_ += events_.count();
    events_since_snapshot_ += events_.count();
    log_bytes_since_snapshot_ += events_.bytes().size();
    counters_.last_lsn.store(last_lsn_, std::memory_order_relaxed);
  }
  // Everything this batch produced waits for the whole batch to be durable.
  for (size_t i = unstamped_from_; i < pending_.size(); ++i) pending_[i].lsn = last_lsn_;
  const size_t released = Release();
  unstamped_from_ = pending_.size();
  MaybeSnapshot();
  return !batch_peer_.empty() || !batch_requests_.empty() || wrote || released > 0;
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
  Bump(counters_.commands[static_cast<uint32_t>(command.type) % kCommandTypeSlots]);
  Bump(counters_.results[ResultCodeSlot(reply.code) % kResultCodeSlots]);
  if (outbox_.size() == outbox_before) {
    QueueCompletion(producer, Completion{request.tag, reply}, request.silent);
    return;
  }
  // A payment whose payer lives elsewhere: answer when its debit comes back.
  const DebitRequest debit = outbox_.back();
  outbox_.clear();
  deferred_[{debit.schedule, debit.payment}] = Waiter{producer, request.tag};
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
  Bump(counters_.results[ResultCodeSlot(reply.code) % kResultCodeSlots]);
  QueueCompletion(waiter->second.producer, Completion{waiter->second.tag, reply}, false);
  deferred_.erase(waiter);
}

void Shard::QueueCompletion(uint32_t producer, const Completion& completion, bool silent) {
  Pending& pending = pending_.emplace_back();
  pending.lsn = 0;  // Stamped at the end of the batch.
  pending.to_peer = false;
  pending.target = producer;
  pending.body.slot = CompletionSlot{completion, silent};
}

void Shard::QueuePeer(uint32_t shard, const PeerMessage& message) {
  engine_->peer_messages_in_flight().fetch_add(1, std::memory_order_acq_rel);
  Pending& pending = pending_.emplace_back();
  pending.lsn = 0;  // Stamped at the end of the batch.
  pending.to_peer = true;
  pending.target = shard;
  pending.body.message = message;
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

bool Shard::WaitForJournal() {
  if (pending_.empty()) return false;
  Journal& journal = engine_->journal();
  const uint64_t lsn = pending_.front().lsn;
  if (journal.DurableLsn(index_) < lsn)
    journal.WaitDurable(index_, lsn, std::chrono::milliseconds(0));
  return journal.DurableLsn(index_) >= lsn || !journal.status().ok();
}

bool Shard::HasInput() const {
  if (inspection_pending_.load(std::memory_order_acquire)) return true;
  for (const auto& ring : inbox_) {
    if (ring->read_available() > 0) return true;
  }
  const uint32_t producers = engine_->producer_count();
  for (uint32_t producer = 0; producer < producers; ++producer) {
    if (engine_->producer(producer).to_shard(index_).read_available() > 0) return true;
  }
  return false;
}

bool Shard::Quiescent() const {
  if (!pending_.empty() || !deferred_.empty()) return false;
  if (engine_->peer_messages_in_flight().load(std::memory_order_acquire) != 0) return false;
  return engine_->AllAnswered();
}

uint64_t Shard::Inspect(const std::function<void(const Core&)>& fn) {
  Inspection inspection{&fn};
  {
    std::lock_guard<std::mutex> lock(inspect_mutex_);
    inspections_.push_back(&inspection);
    inspection_pending_.store(true, std::memory_order_release);
  }
  wakeup_.Notify();
  std::unique_lock<std::mutex> lock(inspect_mutex_);
  inspect_done_.wait(lock, [&] { return inspection.done; });
  return inspection.lsn;
}

void Shard::RunInspections() {
  std::lock_guard<std::mutex> lock(inspect_mutex_);
  for (Inspection* inspection : inspections_) {
    (*inspection->fn)(core_);
    // The batch's events so far (its timers, applied before inspections)
    // are in the core and go to the journal after the last LSN.
    inspection->lsn = last_lsn_ + events_.count();
    inspection->done = true;
  }
  inspections_.clear();
  inspection_pending_.store(false, std::memory_order_release);
  inspect_done_.notify_all();
}

}  // namespace encore::internal
