// IoThread: one event loop serving its connections. Reading is reactor
// style (wait for readability, then one non-blocking read into the thread's
// buffer), so an idle connection holds no read buffer. Replies are appended
// to a connection's output and written with one async_write at a time, so the
// replies that come in while a write is under way go out together in the
// next one.
#include <pthread.h>

#include <algorithm>
#include <utility>

#include "boost/asio/post.hpp"
#include "boost/asio/write.hpp"
#include "server_internal.h"

namespace encore::net::internal {
namespace {

using ErrorCode = boost::system::error_code;

// Compares keys without stopping at the first difference.
bool SameKey(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i]);
  }
  return difference == 0;
}

// A read shows what the core holds once it is durable: what a failed
// journal never wrote would be gone after the restart. Past this wait the
// read answers UNAVAILABLE (as at once when the journal has failed).
constexpr std::chrono::milliseconds kReadDurableWaitMax{5000};

// OK once shard's events up to lsn are durable; else the UNAVAILABLE
// answer is appended to `frame` and false returned.
bool Durable(Engine& engine, uint32_t shard, uint64_t lsn, uint64_t request_id,
             std::vector<uint8_t>* frame) {
  const absl::Status durable = engine.WaitDurable(shard, lsn, kReadDurableWaitMax);
  if (durable.ok()) return true;
  AppendErrorResponse(request_id, ResultCode::kUnavailable, std::string(durable.message()), frame);
  return false;
}

void ListSchedules(Engine& engine, const DecodedRequest& request, std::vector<uint8_t>* frame) {
  // The concert catalog is on every shard; each shard lists its own schedules.
  ResultCode code = ResultCode::kOk;
  std::vector<ScheduleInfo> schedules;
  std::vector<uint64_t> seen_lsns(engine.shard_count());
  for (uint32_t shard = 0; shard < engine.shard_count(); ++shard) {
    seen_lsns[shard] = engine.Inspect(shard, [&](const Core& core) {
      std::vector<ScheduleId> ids;
      const ResultCode listed = core.ListSchedules(request.command.concert, &ids);
      if (shard == 0) code = listed;
      for (ScheduleId id : ids) {
        ScheduleInfo info;
        if (core.GetSchedule(id, &info) == ResultCode::kOk) schedules.push_back(info);
      }
    });
  }
  for (uint32_t shard = 0; shard < engine.shard_count(); ++shard) {
    if (!Durable(engine, shard, seen_lsns[shard], request.id, frame)) return;
  }
  if (code != ResultCode::kOk) {
    AppendErrorResponse(request.id, code, "no such concert", frame);
    return;
  }
  std::sort(schedules.begin(), schedules.end(), [](const ScheduleInfo& a, const ScheduleInfo& b) {
    return a.config.schedule < b.config.schedule;
  });
  AppendScheduleListResponse(request.id, schedules, frame);
}

// `admin`: an admin connection may read any seat map by sending no token.
void SeatMap(Engine& engine, const DecodedRequest& request, bool admin,
             std::vector<uint8_t>* frame) {
  const Command& command = request.command;
  ResultCode code = ResultCode::kOk;
  std::vector<SeatState> seats;
  const uint32_t shard = ShardOfSchedule(command.schedule, engine.shard_count());
  const uint64_t seen_lsn = engine.Inspect(shard, [&](const Core& core) {
    code = admin && command.token == QueueToken{}
               ? core.SeatMapUnchecked(command.schedule, &seats)
               : core.SeatMap(command.schedule, command.user, command.token, &seats);
  });
  if (!Durable(engine, shard, seen_lsn, request.id, frame)) return;
  if (code != ResultCode::kOk) {
    AppendErrorResponse(request.id, code, std::string(ResultCodeName(code)), frame);
    return;
  }
  AppendSeatMapResponse(request.id, command.schedule, seats, frame);
}

void Ledger(Engine& engine, const DecodedRequest& request, std::vector<uint8_t>* frame) {
  const uint32_t limit = request.ledger_limit == 0 ? kLedgerPageMax : request.ledger_limit;
  std::vector<LedgerEntry> entries;
  uint64_t next_before = 0;
  const uint32_t shard = ShardOfUser(request.command.user, engine.shard_count());
  const uint64_t seen_lsn = engine.Inspect(shard, [&](const Core& core) {
    core.Ledger(request.command.user, request.ledger_before, limit, &entries, &next_before);
  });
  if (!Durable(engine, shard, seen_lsn, request.id, frame)) return;
  AppendLedgerResponse(request.id, entries, next_before, frame);
}

RequestType TypeOf(const DecodeResult& decoded) {
  if (decoded.code == ResultCode::kMalformed) return RequestType::kOther;
  return RequestTypeOf(decoded.request);
}

// Runs on the worker pool.
void RunRead(Engine& engine, const DecodedRequest& request, bool admin,
             std::vector<uint8_t>* frame) {
  switch (request.kind) {
    case RequestKind::kListSchedules:
      return ListSchedules(engine, request, frame);
    case RequestKind::kSeatMap:
      return SeatMap(engine, request, admin, frame);
    case RequestKind::kLedger:
      return Ledger(engine, request, frame);
    default:
      return AppendErrorResponse(request.id, ResultCode::kUnsupported, "not a read", frame);
  }
}

}  // namespace

IoThread::IoThread(ServerState* server, std::unique_ptr<Producer> producer)
    : server_(server),
      work_(asio::make_work_guard(context_)),
      producer_(std::move(producer)),
      signal_(std::make_shared<CompletionSignal>(this)),
      deferred_(server->engine()->shard_count()),
      completions_(kCompletionBatch),
      read_buffer_(std::make_unique<std::array<uint8_t, kReadChunkBytes>>()),
      latency_(std::make_unique<LatencyCounters>()) {
  // The engine keeps the callback for its life: it holds the signal, not us.
  producer_->SetCompletionCallback([signal = signal_] { signal->Notify(); });
}

IoThread::~IoThread() {
  signal_->Detach();
  if (thread_.joinable()) {
    work_.reset();
    context_.stop();
    thread_.join();
  }
  connections_.clear();
  dirty_.clear();
  deferred_.clear();
}

void IoThread::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "encore-io");
    context_.run();
  });
}

void IoThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void IoThread::PostDrain() {
  asio::post(context_, [this] { Drain(); });
}

void IoThread::Adopt(asio::ip::tcp::socket socket, bool admin_listener) {
  ErrorCode error;
  asio::ip::tcp::endpoint peer;
  if (!draining_) socket.set_option(asio::ip::tcp::no_delay(true), error);
  if (!draining_ && !error) socket.non_blocking(true, error);
  if (!draining_ && !error) peer = socket.remote_endpoint(error);
  if (draining_ || error) {
    ErrorCode ignored;
    socket.close(ignored);
    server_->counters().connections_open.fetch_sub(1);
    return;
  }
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(connections_.size());
    connections_.emplace_back();
    slot_generations_.push_back(0);
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  auto connection = std::make_shared<Connection>(std::move(socket), context_, admin_listener,
                                                 server_->options().frame_bytes_max,
                                                 HelloFailures::KeyOf(peer.address()));
  connection->slot = slot;
  connection->generation = slot_generations_[slot];
  connections_[slot] = connection;
  ArmDeadline(connection);
  ArmRead(connection);
}

bool IoThread::MayTakeRequests(const Connection& connection) const {
  const ServerOptions& options = server_->options();
  return !connection.closed && !connection.finishing && !draining_ &&
         connection.deferred == nullptr && connection.in_flight < options.in_flight_max &&
         connection.reads_in_flight < kReadsInFlightPerConnectionMax &&
         connection.output_bytes() < options.output_bytes_max;
}

void IoThread::ArmRead(const ConnectionPtr& connection) {
  if (connection->waiting_read || !MayTakeRequests(*connection)) return;
  connection->waiting_read = true;
  connection->socket.async_wait(asio::ip::tcp::socket::wait_read,
                                [this, connection](ErrorCode error) {
                                  connection->waiting_read = false;
                                  if (connection->closed) return;
                                  if (error) return Close(connection);
                                  OnReadable(connection);
                                });
}

void IoThread::OnReadable(const ConnectionPtr& connection) {
  ErrorCode error;
  const size_t received = connection->socket.read_some(asio::buffer(*read_buffer_), error);
  if (error == asio::error::would_block || error == asio::error::try_again) {
    return ArmRead(connection);
  }
  if (error == asio::error::eof) {
    // The client sends no more: answer what it sent, then close.
    connection->finishing = true;
    return Service(connection);
  }
  if (error) return Close(connection);
  connection->last_receive_at = Clock::now();
  connection->reader.Feed(std::span<const uint8_t>(read_buffer_->data(), received));
  Service(connection);
}

void IoThread::Service(const ConnectionPtr& connection) {
  ProcessFrames(*connection);
  Flush(connection);
  if (connection->closed) return;
  if (connection->frame_started_at != Clock::time_point{}) ArmDeadline(connection);
  if (connection->finishing && connection->in_flight == 0 && !connection->write_armed &&
      connection->output.empty()) {
    return Close(connection);
  }
  ArmRead(connection);
}

void IoThread::ProcessFrames(Connection& connection) {
  // The frames of one read go to the engine as one batch (Producer::BeginBatch),
  // and are counted once: no locked instruction per request.
  producer_->BeginBatch();
  bool more = true;
  bool need_more = false;
  while (more && MayTakeRequests(connection)) {
    std::span<const uint8_t> payload;
    switch (connection.reader.NextFrame(&payload)) {
      case FrameReader::Next::kNeedMore:
        more = false;
        need_more = true;
        break;
      case FrameReader::Next::kTooLarge:
        Fail(connection, 0, ResultCode::kMalformed,
             "a frame is longer than the limit of " +
                 std::to_string(server_->options().frame_bytes_max) + " bytes");
        more = false;
        break;
      case FrameReader::Next::kFrame:
        ++frames_uncounted_;
        connection.frame_started_at = Clock::time_point{};
        HandleFrame(connection, payload);
        break;
    }
  }
  producer_->EndBatch();
  // The frame clock runs only while the server waits for the client's bytes,
  // not while it holds back frames it has (its own limits).
  if (!need_more || connection.reader.buffered() == 0) {
    connection.frame_started_at = Clock::time_point{};
  } else if (connection.frame_started_at == Clock::time_point{}) {
    connection.frame_started_at = Clock::now();
  }
  server_->counters().requests.fetch_add(frames_uncounted_, std::memory_order_relaxed);
  frames_uncounted_ = 0;
}

void IoThread::Fail(Connection& connection, uint64_t id, ResultCode code,
                    const std::string& message, std::atomic<uint64_t>* reason) {
  AppendErrorResponse(id, code, message, &connection.output);
  connection.finishing = true;
  (reason != nullptr ? *reason : server_->counters().connections_protocol_closed).fetch_add(1);
}

void IoThread::HandleFrame(Connection& connection, std::span<const uint8_t> payload) {
  const DecodeResult decoded = DecodeRequest(payload);
  // A request that went to the engine or the read pool is timed when its
  // reply comes back; one answered here is timed now.
  const uint64_t answered_later = pending_count_ + reads_in_flight_ + deferred_count_;
  AnswerFrame(connection, decoded);
  if (pending_count_ + reads_in_flight_ + deferred_count_ == answered_later) {
    RecordLatency(TypeOf(decoded), connection.last_receive_at, Clock::now());
  }
}

void IoThread::AnswerFrame(Connection& connection, const DecodeResult& decoded) {
  const uint64_t id = decoded.request.id;
  if (decoded.code == ResultCode::kMalformed) {
    return Fail(connection, id, ResultCode::kMalformed, decoded.message);
  }
  if (!connection.hello_done) return HandleHello(connection, decoded);
  if (decoded.code != ResultCode::kOk) {
    // Unsupported or invalid: answered, and the connection stays.
    return AppendErrorResponse(id, decoded.code, decoded.message, &connection.output);
  }
  HandleRequest(connection, decoded.request, TypeOf(decoded));
}

void IoThread::HandleHello(Connection& connection, const DecodeResult& decoded) {
  const DecodedRequest& request = decoded.request;
  const ServerOptions& options = server_->options();
  if (request.kind != RequestKind::kHello) {
    return Fail(connection, request.id, ResultCode::kUnauthorized,
                "the first request must be a Hello");
  }
  if (request.hello.protocol_version != kProtocolVersion) {
    return Fail(connection, request.id, ResultCode::kUnsupported,
                "protocol version " + std::to_string(request.hello.protocol_version) +
                    " is not supported; this server speaks " + std::to_string(kProtocolVersion));
  }
  // A locked-out address is refused before its key is looked at, so that it
  // learns nothing from trying. Without keys no Hello fails: no lookup.
  HelloFailures& failures = server_->hello_failures();
  const bool keyed = !options.api_key.empty() || !options.admin_key.empty();
  const Clock::time_point now = keyed ? Clock::now() : Clock::time_point{};
  const std::chrono::milliseconds locked_for =
      keyed ? failures.LockedFor(connection.address, now) : std::chrono::milliseconds(0);
  if (locked_for.count() > 0) {
    return Fail(connection, request.id, ResultCode::kUnauthorized,
                "too many failed Hellos from this address; retry in " +
                    std::to_string(locked_for.count()) + " ms",
                &server_->counters().connections_auth_locked_closed);
  }
  const std::string& key = request.hello.api_key;
  const bool admin_key = !options.admin_key.empty() && SameKey(key, options.admin_key);
  bool authorized;
  if (connection.admin_listener) {
    authorized = options.admin_key.empty() || admin_key;
  } else {
    authorized = options.api_key.empty() || SameKey(key, options.api_key) || admin_key;
  }
  if (decoded.code != ResultCode::kOk || !authorized) {
    if (!authorized) failures.RecordFailure(connection.address, now);
    return Fail(connection, request.id, ResultCode::kUnauthorized, "wrong or missing API key",
                &server_->counters().connections_auth_failed_closed);
  }
  connection.hello_done = true;
  connection.admin = connection.admin_listener || admin_key;
  HelloReplyInfo hello;
  hello.server_name = options.server_name;
  hello.frame_bytes_max = options.frame_bytes_max;
  hello.in_flight_max = options.in_flight_max;
  hello.admin = connection.admin;
  AppendHelloResponse(request.id, hello, &connection.output);
}

void IoThread::HandleRequest(Connection& connection, const DecodedRequest& request,
                             RequestType type) {
  if (request.admin && !connection.admin) {
    return AppendErrorResponse(request.id, ResultCode::kUnauthorized,
                               "admin requests need the admin listener or the admin key",
                               &connection.output);
  }
  switch (request.kind) {
    case RequestKind::kHello:
      return AppendErrorResponse(request.id, ResultCode::kInvalidArgument, "Hello was already sent",
                                 &connection.output);
    case RequestKind::kCommand:
      return SubmitCommand(connection, request, type);
    case RequestKind::kServerStats: {
      Engine& engine = *server_->engine();
      // Its LSNs name events a failed journal may never have written.
      if (const absl::Status failed = engine.WaitDurable(0, 0, std::chrono::milliseconds(0));
          !failed.ok()) {
        return AppendErrorResponse(request.id, ResultCode::kUnavailable,
                                   std::string(failed.message()), &connection.output);
      }
      StatsInfo stats;
      stats.connections = static_cast<uint32_t>(server_->counters().connections_open.load());
      stats.requests = server_->counters().requests.load() + frames_uncounted_;
      for (uint32_t shard = 0; shard < engine.shard_count(); ++shard) {
        const ShardStats figures = engine.shard_stats(shard);
        stats.shards.push_back(
            ShardFigures{shard, figures.last_lsn, figures.durable_lsn, figures.snapshots});
      }
      return AppendStatsResponse(request.id, stats, &connection.output);
    }
    case RequestKind::kListSchedules:
    case RequestKind::kSeatMap:
    case RequestKind::kLedger:
      return SubmitRead(connection, request, type);
  }
  AppendErrorResponse(request.id, ResultCode::kUnsupported, "unknown request kind",
                      &connection.output);
}

uint32_t IoThread::AddPending(const Connection& connection, uint64_t request_id, RequestType type,
                              Clock::time_point received_at) {
  uint32_t index;
  if (free_pending_.empty()) {
    index = static_cast<uint32_t>(pending_.size());
    pending_.emplace_back();
  } else {
    index = free_pending_.back();
    free_pending_.pop_back();
  }
  pending_[index] = Pending{request_id, connection.slot, connection.generation, received_at, type};
  ++pending_count_;
  return index;
}

void IoThread::SubmitCommand(Connection& connection, const DecodedRequest& request,
                             RequestType type) {
  const uint32_t shard = ShardOfCommand(request.command, static_cast<uint32_t>(deferred_.size()));
  // Those already waiting for this shard go first.
  if (!deferred_[shard].empty()) {
    return Defer(connection, request, type, connection.last_receive_at, shard);
  }
  const ResultCode code = Submit(connection, request, type, connection.last_receive_at);
  if (code == ResultCode::kOk) {
    ++connection.in_flight;
  } else if (code == ResultCode::kBusy) {
    Defer(connection, request, type, connection.last_receive_at, shard);
  } else {
    AnswerRefused(connection, request.id, code);
  }
}

ResultCode IoThread::Submit(Connection& connection, const DecodedRequest& request, RequestType type,
                            Clock::time_point received_at) {
  const uint32_t tag = AddPending(connection, request.id, type, received_at);
  const ResultCode code = producer_->Submit(request.command, tag);
  if (code != ResultCode::kOk) {
    free_pending_.push_back(tag);
    --pending_count_;
  }
  return code;
}

void IoThread::AnswerRefused(Connection& connection, uint64_t request_id, ResultCode code) {
  const char* message = code == ResultCode::kBusy          ? "the engine is busy; retry"
                        : code == ResultCode::kUnavailable ? "the engine is not taking commands"
                                                           : "unknown command";
  AppendErrorResponse(request_id, code, message, &connection.output);
}

void IoThread::Defer(Connection& connection, const DecodedRequest& request, RequestType type,
                     Clock::time_point received_at, uint32_t shard) {
  connection.deferred =
      std::make_unique<DeferredCommand>(DeferredCommand{request, type, received_at, shard});
  ++connection.in_flight;
  ++deferred_count_;
  deferred_[shard].push_back(connections_[connection.slot]);
  server_->counters().commands_deferred.fetch_add(1, std::memory_order_relaxed);
}

void IoThread::WakeDeferred() {
  if (deferred_count_ == 0) return;
  producer_->BeginBatch();
  for (std::deque<ConnectionPtr>& waiting : deferred_) {
    while (!waiting.empty()) {
      const ConnectionPtr& connection = waiting.front();
      if (connection->closed || connection->deferred == nullptr) {
        waiting.pop_front();
        continue;
      }
      const DeferredCommand& held = *connection->deferred;
      const ResultCode code = Submit(*connection, held.request, held.type, held.received_at);
      if (code == ResultCode::kBusy) break;  // Still full: it keeps its turn.
      if (code != ResultCode::kOk) {
        --connection->in_flight;
        AnswerRefused(*connection, held.request.id, code);
        RecordLatency(held.type, held.received_at, Clock::now());
      }
      connection->deferred.reset();
      --deferred_count_;
      MarkDirty(connection);
      waiting.pop_front();
    }
  }
  producer_->EndBatch();
}

void IoThread::MarkDirty(ConnectionPtr connection) {
  if (connection->dirty) return;
  connection->dirty = true;
  dirty_.push_back(std::move(connection));
}

void IoThread::SubmitRead(Connection& connection, const DecodedRequest& request, RequestType type) {
  ++connection.in_flight;
  ++connection.reads_in_flight;
  ++reads_in_flight_;
  asio::post(server_->read_pool(), [server = server_, thread = this, slot = connection.slot,
                                    generation = connection.generation, admin = connection.admin,
                                    received_at = connection.last_receive_at, type, request] {
    std::vector<uint8_t> frame;
    RunRead(*server->engine(), request, admin, &frame);
    asio::post(thread->context(),
               [thread, slot, generation, frame = std::move(frame), type, received_at]() mutable {
                 thread->DeliverFrame(slot, generation, std::move(frame), type, received_at);
               });
  });
}

void IoThread::DeliverFrame(uint32_t slot, uint32_t generation, std::vector<uint8_t> frame,
                            RequestType type, Clock::time_point received_at) {
  --reads_in_flight_;
  if (ConnectionPtr connection = Lookup(slot, generation)) {
    --connection->in_flight;
    --connection->reads_in_flight;
    connection->output.insert(connection->output.end(), frame.begin(), frame.end());
    RecordLatency(type, received_at, Clock::now());
    Service(connection);
  }
  CheckQuiet();
}

void IoThread::RecordLatency(RequestType type, Clock::time_point received_at,
                             Clock::time_point now) {
  const auto index = static_cast<uint32_t>(type);
  const int64_t elapsed_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - received_at).count();
  const uint64_t nanoseconds = elapsed_ns > 0 ? static_cast<uint64_t>(elapsed_ns) : 0;
  // Only this thread writes these: load + store, no locked read-modify-write.
  std::atomic<uint64_t>& bucket = latency_->buckets[index][LatencyBucket(nanoseconds)];
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  std::atomic<uint64_t>& sum = latency_->sum_ns[index];
  sum.store(sum.load(std::memory_order_relaxed) + nanoseconds, std::memory_order_relaxed);
}

void IoThread::AddLatencies(RequestLatencies* latencies) const {
  for (uint32_t type = 0; type < kRequestTypes; ++type) {
    RequestLatency& into = (*latencies)[type];
    for (uint32_t bucket = 0; bucket < kLatencyBuckets; ++bucket) {
      const uint64_t count = latency_->buckets[type][bucket].load(std::memory_order_relaxed);
      into.bucket_counts[bucket] += count;
      into.count += count;
    }
    into.sum_ns += latency_->sum_ns[type].load(std::memory_order_relaxed);
  }
}

void IoThread::Drain() {
  // Before polling: a completion pushed after this point posts a new drain.
  signal_->Rearm();
  for (;;) {
    const size_t taken = producer_->Poll(completions_);
    // One clock reading times the whole batch of replies.
    const Clock::time_point now = taken != 0 ? Clock::now() : Clock::time_point{};
    for (size_t i = 0; i < taken; ++i) {
      const Completion& completion = completions_[i];
      const Pending pending = pending_[completion.tag];
      free_pending_.push_back(static_cast<uint32_t>(completion.tag));
      --pending_count_;
      ConnectionPtr connection = Lookup(pending.slot, pending.generation);
      if (connection == nullptr) continue;  // Closed meanwhile: dropped.
      --connection->in_flight;
      AppendCommandResponse(pending.request_id, completion.reply, &connection->output);
      RecordLatency(pending.type, pending.received_at, now);
      MarkDirty(std::move(connection));
    }
    if (taken < completions_.size()) break;
  }
  // The slots just freed go to the commands held for them before the
  // connections answered above may read more.
  WakeDeferred();
  // One write per connection for everything this drain gathered.
  for (const ConnectionPtr& connection : dirty_) {
    connection->dirty = false;
    if (!connection->closed) Service(connection);
  }
  dirty_.clear();
  CheckQuiet();
}

void IoThread::Flush(const ConnectionPtr& connection) {
  if (connection->closed || connection->write_armed || connection->output.empty()) return;
  connection->writing.swap(connection->output);
  connection->write_armed = true;
  ++writes_in_flight_;
  asio::async_write(connection->socket, asio::buffer(connection->writing),
                    [this, connection](ErrorCode error, size_t /*bytes*/) {
                      connection->write_armed = false;
                      --writes_in_flight_;
                      if (!connection->closed) {
                        if (error) {
                          Close(connection);
                        } else {
                          if (connection->writing.capacity() > kOutputRetainBytes) {
                            std::vector<uint8_t>().swap(connection->writing);
                          }
                          connection->writing.clear();
                          Service(connection);
                        }
                      }
                      CheckQuiet();
                    });
}

Clock::time_point IoThread::NextDeadline(const Connection& connection) const {
  const ServerOptions& options = server_->options();
  Clock::time_point deadline = Clock::time_point::max();
  if (options.idle_timeout_ms != 0) {
    deadline = std::min(
        deadline, connection.last_receive_at + std::chrono::milliseconds(options.idle_timeout_ms));
  }
  if (options.hello_timeout_ms != 0 && !connection.hello_done) {
    deadline = std::min(
        deadline, connection.accepted_at + std::chrono::milliseconds(options.hello_timeout_ms));
  }
  if (options.frame_timeout_ms != 0 && connection.frame_started_at != Clock::time_point{}) {
    deadline = std::min(deadline, connection.frame_started_at +
                                      std::chrono::milliseconds(options.frame_timeout_ms));
  }
  return deadline;
}

void IoThread::ArmDeadline(const ConnectionPtr& connection) {
  const Clock::time_point deadline = NextDeadline(*connection);
  // Armed for this time or earlier: that wait re-arms when it fires. So a
  // busy connection re-arms about once per deadline, not once per read.
  if (deadline == Clock::time_point::max() || deadline >= connection->deadline_armed_at) return;
  connection->deadline_armed_at = deadline;
  // Cancels the wait armed before, whose handler then sees operation_aborted.
  connection->deadline_timer.expires_at(deadline);
  connection->deadline_timer.async_wait([this, connection](ErrorCode error) {
    if (error || connection->closed) return;
    OnDeadline(connection);
  });
}

void IoThread::OnDeadline(const ConnectionPtr& connection) {
  connection->deadline_armed_at = Clock::time_point::max();
  const ServerOptions& options = server_->options();
  const Clock::time_point now = Clock::now();
  auto passed = [now](Clock::time_point since, uint32_t ms) {
    return ms != 0 && since != Clock::time_point{} && now - since >= std::chrono::milliseconds(ms);
  };
  ServerState::Counters& counters = server_->counters();
  std::atomic<uint64_t>* reason = nullptr;
  if (!connection->hello_done && passed(connection->accepted_at, options.hello_timeout_ms)) {
    reason = &counters.connections_hello_timeout_closed;
  } else if (passed(connection->frame_started_at, options.frame_timeout_ms)) {
    reason = &counters.connections_frame_timeout_closed;
  } else if (passed(connection->last_receive_at, options.idle_timeout_ms)) {
    reason = &counters.connections_idle_closed;
  }
  if (reason == nullptr) return ArmDeadline(connection);
  reason->fetch_add(1);
  Close(connection);
}

void IoThread::Close(const ConnectionPtr& connection) {
  if (connection->closed) return;
  connection->closed = true;
  ErrorCode ignored;
  connection->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  connection->socket.close(ignored);
  connection->deadline_timer.cancel();
  connection->output.clear();
  if (connection->deferred != nullptr) {
    // Its queue entry is skipped when it comes to the front.
    connection->deferred.reset();
    --deferred_count_;
  }
  const uint32_t slot = connection->slot;
  connections_[slot].reset();
  ++slot_generations_[slot];
  free_slots_.push_back(slot);
  server_->counters().connections_open.fetch_sub(1);
}

IoThread::ConnectionPtr IoThread::Lookup(uint32_t slot, uint32_t generation) const {
  if (slot >= connections_.size()) return nullptr;
  const ConnectionPtr& connection = connections_[slot];
  if (connection == nullptr || connection->generation != generation) return nullptr;
  return connection;
}

void IoThread::BeginDrain() {
  draining_ = true;
  CheckQuiet();
}

void IoThread::CheckQuiet() {
  if (!draining_ || quiet_reported_) return;
  if (pending_count_ != 0 || reads_in_flight_ != 0 || writes_in_flight_ != 0 ||
      deferred_count_ != 0) {
    return;
  }
  quiet_reported_ = true;
  server_->ReportQuiet();
}

void IoThread::CloseAll() {
  draining_ = true;
  for (size_t slot = 0; slot < connections_.size(); ++slot) {
    if (ConnectionPtr connection = connections_[slot]) Close(connection);
  }
  for (std::deque<ConnectionPtr>& waiting : deferred_) waiting.clear();
  // The loop ends once the handlers of the closed sockets have run.
  work_.reset();
}

}  // namespace encore::net::internal
