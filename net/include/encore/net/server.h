// Server: the TCP front of an Engine, speaking the wire protocol (protocol.h).
//
// Two listeners: the client listener and the admin listener. Each accepted
// connection is given, round robin, to one of `io_threads` I/O threads; an I/O
// thread owns an event loop and one engine Producer, and every connection it
// owns is served only by that thread (no locks on the request path).
//
// Per connection: the first frame must be a Hello (protocol version, API
// key); then requests are pipelined: engine commands go to the producer and
// are answered when their completions come back (possibly out of order);
// reads (schedule list, seat map, ledger) run on a small worker pool, because
// Engine::Inspect blocks; admin requests are refused (UNAUTHORIZED) unless the
// connection came in on the admin listener or its Hello carried the admin key.
// A frame over frame_bytes_max, or a payload that fails verification, gets a
// MALFORMED response and the connection is closed; an unknown request type
// gets UNSUPPORTED and the connection stays.
//
// Deadlines per connection: the Hello must be complete within
// hello_timeout_ms of the accept, and a frame, once its first byte has come,
// within frame_timeout_ms; otherwise the connection is closed. A byte now and
// then is not progress: without these, a client trickling one byte a second
// kept its slot forever (idle_timeout_ms only needs a byte per period).
//
// Engine capacity: a command whose shard ring (this I/O thread's producer)
// is full is not answered BUSY but held, and the connection is not read any
// further, until a completion frees a slot; connections waiting for the same
// shard are served first come, first served, and a connection finding others
// waiting queues behind them. So a client with one request at a time waits at
// most about one turn of the queue, however many connections pipeline.
//
// Limits per connection: in_flight_max requests in flight, of which at most
// kReadsInFlightPerConnectionMax reads, and output_bytes_max bytes of replies
// not yet written; past any of them the server stops reading that connection
// until it drains. A reply is appended whatever the output holds, so what one
// connection can make the server hold is about output_bytes_max + in_flight_max
// command replies (~200 bytes each) + kReadsInFlightPerConnectionMax read
// replies (a seat map is one byte per seat), twice over while a write is under
// way, plus one frame_bytes_max request. A connection that sends nothing for
// idle_timeout_ms is closed (also one the server stopped reading because its
// client does not read its replies).
//
// Keys: with api_key set, a client-listener Hello must carry api_key (or the
// admin key, when one is set). With admin_key set, an admin-listener Hello
// must carry admin_key. A key, when set, has at least kKeyBytesMin bytes, and
// the two differ (the same key would make every client an admin). A Hello
// that fails gets UNAUTHORIZED and is closed. After hello_failures_max failed
// Hellos from one address (an IPv6 address counts by its /64) every Hello from
// it, right key or not, is refused until hello_lockout_ms have passed since
// its last failure: a key is then guessed at hello_failures_max tries per
// lockout per address, not thousands a second. The table of addresses holds
// at most kHelloFailureAddressesMax (the oldest failure goes first).
//
// Thread safety: Start, Stop and the destructor from one thread; the
// accessors from any thread.
#ifndef ENCORE_NET_SERVER_H_
#define ENCORE_NET_SERVER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/engine.h"
#include "encore/net/protocol.h"

namespace encore::net {

namespace internal {
class ServerState;
}

inline constexpr uint32_t kIoThreadsMax = 64;
inline constexpr uint32_t kConnectionsMaxLimit = 1'000'000;
inline constexpr uint32_t kFrameBytesMaxLimit = 16u << 20;
inline constexpr uint32_t kInFlightMaxLimit = 1u << 16;
inline constexpr size_t kOutputBytesMaxMin = 64 * 1024;
// Reads (schedule list, seat map, ledger) one connection may have on the
// worker pool. Their replies can be large (a seat map of 1,000,000 seats is
// 1 MB) and are only counted against output_bytes_max once they arrive, so
// without this bound a client that pipelines seat maps and never reads the
// replies would make the server hold in_flight_max of them. Two keep the
// pool's two workers busy for one connection.
inline constexpr uint32_t kReadsInFlightPerConnectionMax = 2;
// Shortest api_key or admin_key: 16 bytes (128 bits of a random key). A short
// key falls to the guessing that hello_failures_max only slows.
inline constexpr size_t kKeyBytesMin = 16;
// Addresses whose failed Hellos are remembered; past it the one with the
// oldest failure is forgotten, so a flood of addresses cannot grow the table.
inline constexpr size_t kHelloFailureAddressesMax = 4096;
inline constexpr uint32_t kTimeoutMsLimit = 3'600'000;
static_assert(kFrameBytesMaxDefault <= kFrameBytesMaxLimit);
static_assert(kInFlightMaxDefault <= kInFlightMaxLimit);

struct ServerOptions {
  // "host:port" ("[v6]:port" for IPv6); port 0 picks a free port (see
  // client_port()). Default: 127.0.0.1:7400 and 127.0.0.1:7401.
  std::string client_listen = "127.0.0.1:7400";
  std::string admin_listen = "127.0.0.1:7401";
  // I/O threads, each with one engine producer. Default 2; 1 .. kIoThreadsMax
  // (and at most the engine's producers_max).
  uint32_t io_threads = 2;
  // Empty: no key needed. Default: empty. Otherwise kKeyBytesMin ..
  // kNameBytesMax bytes, and api_key != admin_key.
  std::string api_key;
  std::string admin_key;
  // Failed Hellos (wrong or missing key) from one address before its Hellos
  // are refused. Default 10; 1 .. 1000.
  uint32_t hello_failures_max = 10;
  // How long an address stays refused after its last failed Hello (and how
  // long a failure is remembered). Default 60,000; 1 .. kTimeoutMsLimit.
  uint32_t hello_lockout_ms = 60'000;
  // Open connections over both listeners; past it a new connection is closed
  // at once. Default 10,000; 1 .. kConnectionsMaxLimit.
  uint32_t connections_max = 10'000;
  // A connection that sends nothing this long is closed; 0: never. Default
  // 60,000; at most kTimeoutMsLimit.
  uint32_t idle_timeout_ms = 60'000;
  // A connection whose Hello is not complete this long after the accept is
  // closed; 0: never. Default 5,000; at most kTimeoutMsLimit.
  uint32_t hello_timeout_ms = 5'000;
  // A frame whose first byte came this long ago and that is still not
  // complete closes the connection; 0: never. The clock runs only while the
  // server is reading the connection. Default 10,000 (a 64 KiB frame at 6.5
  // KB/s); at most kTimeoutMsLimit.
  uint32_t frame_timeout_ms = 10'000;
  // Largest request payload. Default 64 KiB; 64 .. kFrameBytesMaxLimit.
  uint32_t frame_bytes_max = kFrameBytesMaxDefault;
  // Requests in flight per connection. Default 1024; 1 .. kInFlightMaxLimit.
  uint32_t in_flight_max = kInFlightMaxDefault;
  // Reply bytes queued for one connection before the server stops reading its
  // requests. Default 4 MiB; at least kOutputBytesMaxMin.
  size_t output_bytes_max = size_t{4} << 20;
  // Sent in the Hello reply. Default "encored". At most kNameBytesMax bytes.
  std::string server_name = "encored";
  // Longest Stop() waits for requests in flight to be answered and written.
  // Default 5,000.
  uint32_t stop_drain_timeout_ms = 5'000;
};

// Checks every field; InvalidArgument naming the first bad one.
[[nodiscard]] absl::Status ValidateServerOptions(const ServerOptions& options);

// What a request was, for its latency histogram: one per engine command type
// (ENCORE_COMMAND_TYPES), then one per request the server answers itself or
// with a read (ENCORE_SERVER_REQUEST_KINDS), each named as in its list.
enum class RequestType : uint8_t {
// clang-format off
#define ENCORE_X(enumerator, value, name) enumerator,
  ENCORE_COMMAND_TYPES(ENCORE_X)
  ENCORE_SERVER_REQUEST_KINDS(ENCORE_X)
#undef ENCORE_X
  // clang-format on
  kOther,  // Unknown command type, or a frame that could not be decoded.
};
inline constexpr uint32_t kRequestTypes = static_cast<uint32_t>(RequestType::kOther) + 1;

// kOther for a value outside the enum.
constexpr RequestType RequestTypeOf(CommandType type) {
  switch (type) {
#define ENCORE_X(enumerator, value, name) \
  case CommandType::enumerator:           \
    return RequestType::enumerator;
    ENCORE_COMMAND_TYPES(ENCORE_X)
#undef ENCORE_X
  }
  return RequestType::kOther;
}

// The request type of a decoded request; kOther for an unknown kind or command type.
inline RequestType RequestTypeOf(const DecodedRequest& request) {
  switch (request.kind) {
    case RequestKind::kCommand:
      return RequestTypeOf(request.command.type);
#define ENCORE_X(enumerator, value, name) \
  case RequestKind::enumerator:           \
    return RequestType::enumerator;
      ENCORE_SERVER_REQUEST_KINDS(ENCORE_X)
#undef ENCORE_X
  }
  return RequestType::kOther;
}

// "charge", "hold_seats", ..., "other": the `type` label of the metrics.
std::string_view RequestTypeName(RequestType type);

// Request latency (frame read -> reply appended to the connection's output)
// in fixed log buckets: bucket i < kLatencyBuckets - 1 counts requests of at
// most 2^i microseconds (and more than 2^(i-1)); the last counts the rest.
inline constexpr uint32_t kLatencyBuckets = 23;  // 1 us .. 2^21 us (2.1 s), then more.
inline constexpr uint32_t LatencyBucket(uint64_t nanoseconds) {
  const uint64_t micros_ceil = (nanoseconds + 999) / 1000;
  if (micros_ceil <= 1) return 0;
  uint32_t bucket = 0;
  for (uint64_t rest = micros_ceil - 1; rest != 0; rest >>= 1) ++bucket;
  return bucket < kLatencyBuckets - 1 ? bucket : kLatencyBuckets - 1;
}
static_assert(LatencyBucket(1'000) == 0 && LatencyBucket(1'001) == 1 && LatencyBucket(2'000) == 1 &&
              LatencyBucket(4'001) == 3 && LatencyBucket(UINT64_MAX / 2) == kLatencyBuckets - 1);

struct RequestLatency {
  std::array<uint64_t, kLatencyBuckets> bucket_counts{};
  uint64_t count = 0;
  uint64_t sum_ns = 0;
};
using RequestLatencies = std::array<RequestLatency, kRequestTypes>;

class Server {
 public:
  struct Stats {
    uint64_t connections_open = 0;
    uint64_t connections_accepted = 0;
    // Closed at accept because connections_max was reached.
    uint64_t connections_refused = 0;
    uint64_t connections_idle_closed = 0;
    // Closed because the Hello was not complete within hello_timeout_ms.
    uint64_t connections_hello_timeout_closed = 0;
    // Closed because a frame was not complete within frame_timeout_ms.
    uint64_t connections_frame_timeout_closed = 0;
    // Closed after a Hello with a wrong or missing key.
    uint64_t connections_auth_failed_closed = 0;
    // Closed after a Hello from an address locked out by its failures.
    uint64_t connections_auth_locked_closed = 0;
    // Closed for a protocol error (oversize, malformed, no Hello first, an
    // unsupported protocol version).
    uint64_t connections_protocol_closed = 0;
    // Commands held because their shard's ring was full (each is submitted
    // once a slot frees, instead of being answered BUSY).
    uint64_t commands_deferred = 0;
    uint64_t requests = 0;
  };

  // Validates the options, binds both listeners and starts the I/O threads.
  // InvalidArgument for bad options, Unavailable when a listener cannot bind
  // (naming the address and the reason, e.g. the port is in use).
  // REQUIRES: `engine` outlives the server, and is not closed before Stop().
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                                     Engine* engine);

  // Stop()s if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Stops accepting and reading, lets requests in flight be answered and
  // their replies written (up to stop_drain_timeout_ms), closes every
  // connection and joins the threads. Idempotent.
  void Stop();

  // The bound ports (the real ones when the options asked for port 0).
  uint16_t client_port() const;
  uint16_t admin_port() const;

  Stats stats() const;

  // Since start, summed over the I/O threads (each counts its own requests
  // with relaxed stores; this reads them with relaxed loads, so a reading
  // may be a request or two behind, never torn per counter).
  RequestLatencies request_latencies() const;

 private:
  explicit Server(std::unique_ptr<internal::ServerState> state);
  std::unique_ptr<internal::ServerState> state_;
};

}  // namespace encore::net

#endif  // ENCORE_NET_SERVER_H_
