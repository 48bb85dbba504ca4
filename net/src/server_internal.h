// The server's private parts: the shared state (listeners, worker pool,
// counters) and the I/O threads with their connections.
//
// An IoThread owns an io_context run by one thread, one engine Producer, and
// the connections assigned to it. Everything of a connection is touched only
// on its I/O thread. Requests to the engine are tagged with an index into the
// thread's table of pending requests, which names the connection by slot and
// generation: a reply for a connection closed meanwhile finds a different
// generation and is dropped.
#ifndef ENCORE_NET_SRC_SERVER_INTERNAL_H_
#define ENCORE_NET_SRC_SERVER_INTERNAL_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/thread_pool.hpp"
#include "encore/engine.h"
#include "encore/net/protocol.h"
#include "encore/net/server.h"
#include "hello_failures.h"

namespace encore::net::internal {

namespace asio = ::boost::asio;
using Clock = std::chrono::steady_clock;

class IoThread;
class ServerState;

// Bytes read from a socket in one go (one buffer per I/O thread).
inline constexpr size_t kReadChunkBytes = 64 * 1024;
// A connection's write buffer above this is freed once written.
inline constexpr size_t kOutputRetainBytes = 64 * 1024;
// Completions taken from the producer per Poll.
inline constexpr size_t kCompletionBatch = 256;
// Worker threads for reads (Engine::Inspect blocks).
inline constexpr size_t kReadWorkers = 2;

// A command taken from a connection that its shard's ring had no room for:
// held until a completion frees a slot (IoThread::WakeDeferred).
struct DeferredCommand {
  DecodedRequest request;
  RequestType type = RequestType::kOther;
  Clock::time_point received_at;
  uint32_t shard = 0;
};

struct Connection {
  Connection(asio::ip::tcp::socket socket_in, asio::io_context& context, bool admin_listener_in,
             uint32_t frame_bytes_max, const HelloFailures::Key& address_in)
      : socket(std::move(socket_in)),
        deadline_timer(context),
        reader(frame_bytes_max),
        address(address_in),
        admin_listener(admin_listener_in) {}

  size_t output_bytes() const { return output.size() + writing.size(); }

  asio::ip::tcp::socket socket;
  // Armed for the earliest of the idle, Hello and frame deadlines.
  asio::steady_timer deadline_timer;
  Clock::time_point deadline_armed_at = Clock::time_point::max();
  FrameReader reader;
  // Replies not yet handed to the socket, and those being written.
  std::vector<uint8_t> output;
  std::vector<uint8_t> writing;
  const Clock::time_point accepted_at = Clock::now();
  Clock::time_point last_receive_at = accepted_at;
  // When the server first saw the incomplete frame now buffered, while
  // reading; Clock::time_point{} when there is none.
  Clock::time_point frame_started_at{};
  std::unique_ptr<DeferredCommand> deferred;  // Counted in in_flight.
  const HelloFailures::Key address;
  uint32_t slot = 0;
  uint32_t generation = 0;
  // Requests taken and not answered yet (engine and worker pool).
  uint32_t in_flight = 0;
  // Of those, the reads on the worker pool (at most
  // kReadsInFlightPerConnectionMax: their replies are not bounded by
  // output_bytes_max until they arrive).
  uint32_t reads_in_flight = 0;
  bool admin_listener;
  bool admin = false;  // May send admin requests.
  bool hello_done = false;
  bool waiting_read = false;  // An async wait for readability is armed.
  bool write_armed = false;   // An async_write is under way.
  bool dirty = false;         // Queued in the drain's list to flush.
  // No more requests are taken; closed once the replies in flight are out.
  bool finishing = false;
  bool closed = false;
};

// Connects the engine's completion callback (a shard thread) to an I/O
// thread's loop. Owned jointly by the callback, which the engine keeps for
// its life, so it must survive the server: Detach() makes it inert.
class CompletionSignal {
 public:
  explicit CompletionSignal(IoThread* thread) : thread_(thread) {}
  // Shard thread: queue at most one drain at a time.
  void Notify();
  // I/O thread, before it polls: completions pushed from now on post again.
  void Rearm() { drain_queued_.store(false, std::memory_order_seq_cst); }
  void Detach();

 private:
  std::atomic<bool> drain_queued_{false};
  std::mutex mutex_;
  IoThread* thread_;  // Guarded by mutex_; null once detached.
};

class IoThread {
 public:
  IoThread(ServerState* server, std::unique_ptr<Producer> producer);
  ~IoThread();

  asio::io_context& context() { return context_; }
  void Start();
  // Posts the drain of completions (from CompletionSignal, any thread).
  void PostDrain();
  // Takes a newly accepted socket (posted to this thread).
  void Adopt(asio::ip::tcp::socket socket, bool admin_listener);
  // Stop, step 1 (posted): take no more requests; report when quiet.
  void BeginDrain();
  // Stop, step 2 (posted): close every connection and let the loop end.
  void CloseAll();
  // After the loop has ended.
  void Join();

  // A read answered by the worker pool (posted back to this thread).
  void DeliverFrame(uint32_t slot, uint32_t generation, std::vector<uint8_t> frame,
                    RequestType type, Clock::time_point received_at);

  // Any thread: adds this thread's latency counts into *latencies.
  void AddLatencies(RequestLatencies* latencies) const;

 private:
  struct Pending {
    uint64_t request_id = 0;
    uint32_t slot = 0;
    uint32_t generation = 0;
    Clock::time_point received_at;
    RequestType type = RequestType::kOther;
  };
  // Written only by this I/O thread (relaxed load + store, no read-modify-
  // write), read by the metrics thread; own cache lines, away from the rest.
  struct alignas(64) LatencyCounters {
    std::array<std::array<std::atomic<uint64_t>, kLatencyBuckets>, kRequestTypes> buckets{};
    std::array<std::atomic<uint64_t>, kRequestTypes> sum_ns{};
  };
  using ConnectionPtr = std::shared_ptr<Connection>;

  // Runs ProcessFrames, Flush and ArmRead and closes a finished connection.
  void Service(const ConnectionPtr& connection);
  void ProcessFrames(Connection& connection);
  void HandleFrame(Connection& connection, std::span<const uint8_t> payload);
  void AnswerFrame(Connection& connection, const DecodeResult& decoded);
  void HandleHello(Connection& connection, const DecodeResult& decoded);
  void HandleRequest(Connection& connection, const DecodedRequest& request, RequestType type);
  void SubmitCommand(Connection& connection, const DecodedRequest& request, RequestType type);
  void SubmitRead(Connection& connection, const DecodedRequest& request, RequestType type);
  // Answers and closes once the reply is out; counts the close under
  // `reason` (default: connections_protocol_closed).
  void Fail(Connection& connection, uint64_t id, ResultCode code, const std::string& message,
            std::atomic<uint64_t>* reason = nullptr);
  bool MayTakeRequests(const Connection& connection) const;

  void ArmRead(const ConnectionPtr& connection);
  void OnReadable(const ConnectionPtr& connection);
  // Arms the deadline timer for the connection's earliest deadline, unless
  // it is armed for that time or earlier already.
  void ArmDeadline(const ConnectionPtr& connection);
  void OnDeadline(const ConnectionPtr& connection);
  Clock::time_point NextDeadline(const Connection& connection) const;
  // Holds a command its shard's ring has no room for (or that would overtake
  // those already held for that shard) and stops reading the connection.
  void Defer(Connection& connection, const DecodedRequest& request, RequestType type,
             Clock::time_point received_at, uint32_t shard);
  // After completions: submits held commands, first come first served, while
  // their rings take them.
  void WakeDeferred();
  // Submits and records the pending request; kOk or the producer's refusal.
  [[nodiscard]] ResultCode Submit(Connection& connection, const DecodedRequest& request,
                                  RequestType type, Clock::time_point received_at);
  void AnswerRefused(Connection& connection, uint64_t request_id, ResultCode code);
  void MarkDirty(ConnectionPtr connection);
  void Flush(const ConnectionPtr& connection);
  void Close(const ConnectionPtr& connection);
  void Drain();
  void CheckQuiet();

  ConnectionPtr Lookup(uint32_t slot, uint32_t generation) const;
  uint32_t AddPending(const Connection& connection, uint64_t request_id, RequestType type,
                      Clock::time_point received_at);
  // I/O thread: counts one request answered at `now`.
  void RecordLatency(RequestType type, Clock::time_point received_at, Clock::time_point now);

  ServerState* server_;
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<Producer> producer_;
  std::shared_ptr<CompletionSignal> signal_;
  std::thread thread_;

  // Connections by slot; slot_generations_ bumps when a slot is freed.
  std::vector<ConnectionPtr> connections_;
  std::vector<uint32_t> slot_generations_;
  std::vector<uint32_t> free_slots_;
  // Engine requests by tag.
  std::vector<Pending> pending_;
  std::vector<uint32_t> free_pending_;
  uint64_t pending_count_ = 0;
  // Frames of the read being processed, added to the server's request count
  // once it is done (ProcessFrames).
  uint64_t frames_uncounted_ = 0;
  uint64_t reads_in_flight_ = 0;
  uint64_t writes_in_flight_ = 0;
  // Connections holding a deferred command, per shard, in arrival order (a
  // closed one is skipped when it comes to the front).
  std::vector<std::deque<ConnectionPtr>> deferred_;
  uint64_t deferred_count_ = 0;
  std::vector<ConnectionPtr> dirty_;
  std::vector<Completion> completions_;
  std::unique_ptr<std::array<uint8_t, kReadChunkBytes>> read_buffer_;
  bool draining_ = false;
  bool quiet_reported_ = false;
  std::unique_ptr<LatencyCounters> latency_;
};

class ServerState {
 public:
  ServerState(const ServerOptions& options, Engine* engine);
  ~ServerState();

  [[nodiscard]] absl::Status Start();
  void Stop();

  const ServerOptions& options() const { return options_; }
  Engine* engine() { return engine_; }
  HelloFailures& hello_failures() { return hello_failures_; }
  asio::thread_pool& read_pool() { return read_pool_; }
  IoThread& io_thread(uint32_t index) { return *io_threads_[index]; }
  uint16_t client_port() const { return client_port_; }
  uint16_t admin_port() const { return admin_port_; }

  // An I/O thread, draining for Stop, has nothing in flight any more.
  void ReportQuiet();

  struct Counters {
    std::atomic<uint64_t> connections_open{0};
    std::atomic<uint64_t> connections_accepted{0};
    std::atomic<uint64_t> connections_refused{0};
    std::atomic<uint64_t> connections_idle_closed{0};
    std::atomic<uint64_t> connections_hello_timeout_closed{0};
    std::atomic<uint64_t> connections_frame_timeout_closed{0};
    std::atomic<uint64_t> connections_auth_failed_closed{0};
    std::atomic<uint64_t> connections_auth_locked_closed{0};
    std::atomic<uint64_t> connections_protocol_closed{0};
    std::atomic<uint64_t> commands_deferred{0};
    std::atomic<uint64_t> requests{0};
  };
  Counters& counters() { return counters_; }
  Server::Stats stats() const;
  RequestLatencies request_latencies() const;

 private:
  struct Listener {
    explicit Listener(asio::io_context& context) : acceptor(context), retry_timer(context) {}
    asio::ip::tcp::acceptor acceptor;
    asio::steady_timer retry_timer;
    bool admin = false;
  };
  [[nodiscard]] absl::Status Listen(const std::string& address, Listener* listener, uint16_t* port);
  void Accept(Listener* listener);

  const ServerOptions options_;
  Engine* engine_;
  HelloFailures hello_failures_;
  asio::thread_pool read_pool_{kReadWorkers};
  std::vector<std::unique_ptr<IoThread>> io_threads_;
  // Both listeners run on I/O thread 0.
  std::unique_ptr<Listener> client_listener_;
  std::unique_ptr<Listener> admin_listener_;
  uint16_t client_port_ = 0;
  uint16_t admin_port_ = 0;
  uint32_t next_thread_ = 0;  // Round robin; touched only on I/O thread 0.
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  Counters counters_;

  std::mutex quiet_mutex_;
  std::condition_variable quiet_changed_;
  uint32_t quiet_threads_ = 0;  // Guarded by quiet_mutex_.
};

}  // namespace encore::net::internal

#endif  // ENCORE_NET_SRC_SERVER_INTERNAL_H_
