// Client: one TCP connection to an Encore server, pipelined.
//
// Connect() opens the connection and does the Hello handshake. Send*() assign
// the next request id, remember the callback under it and write the frame
// (frames sent while another thread is writing are coalesced into its next
// send(), so a pipelined connection needs few system calls); a
// reader thread cuts the replies into frames, decodes them and runs the
// callback of each reply's id, in whatever order the server answers. When the
// connection fails, the server closes it, or Close() is called, every callback
// still pending runs once with code UNAVAILABLE and a message saying why; a
// Send after that runs its callback at once, on the calling thread, the same
// way. Every callback runs exactly once.
//
// The synchronous helpers (Call, ListSchedules, ...) are built on the
// asynchronous ones: they wait for the reply, up to io_timeout_ms. A reply
// with a non-OK code (a business refusal, or an error the server sent) is a
// value; only the transport's failures are a non-OK absl::Status.
//
// Thread safety: Send*() and the synchronous helpers may be called from any
// thread. Callbacks run on the reader thread, one at a time: keep them short.
// A callback may call Send*() (its own request's slot is already free, and
// Send does not wait for room on the reader thread, so it cannot deadlock) and
// Close(), but not the synchronous helpers (they answer FailedPrecondition
// there). REQUIRES: the Client is not destroyed from one of its callbacks.
//
// Uses plain POSIX sockets and one std::thread; no exceptions cross the API.
#ifndef ENCORE_NET_CLIENT_H_
#define ENCORE_NET_CLIENT_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/command.h"
#include "encore/net/protocol.h"

namespace encore::net {

// Default client port of the server, and its admin port.
inline constexpr uint16_t kClientPortDefault = 7400;
inline constexpr uint16_t kAdminPortDefault = 7401;
// Largest response frame a client accepts by default: a seat map of
// kSeatsPerScheduleMax seats is about 1 MB.
inline constexpr uint32_t kResponseBytesMaxDefault = 16 * 1024 * 1024;
static_assert(kResponseBytesMaxDefault > 2 * kSeatsPerScheduleMax,
              "a whole seat map must fit in one response");

struct ClientOptions {
  // Host name or address. Default: "127.0.0.1".
  std::string host = "127.0.0.1";
  // Default: kClientPortDefault (the admin port is kAdminPortDefault).
  uint16_t port = kClientPortDefault;
  // Sent in the Hello; at most kNameBytesMax bytes each. Default: "encore-client", no key.
  std::string client_name = "encore-client";
  std::string api_key;
  // How long the TCP connect may take. Default: 3 s; must be > 0.
  int64_t connect_timeout_ms = 3'000;
  // How long the Hello reply, one socket write, and a synchronous call may
  // take. Default: 10 s; must be > 0.
  int64_t io_timeout_ms = 10'000;
  // Most requests in flight: past it Send*() waits until a reply arrives. The
  // limit the server states in its HelloReply applies too, when lower.
  // Default: kInFlightMaxDefault (1024); must be >= 1.
  uint32_t in_flight_max = kInFlightMaxDefault;
  // Largest response frame accepted; a larger one fails the connection.
  // Default: kResponseBytesMaxDefault.
  uint32_t response_bytes_max = kResponseBytesMaxDefault;
};

using ResponseCallback = std::function<void(const DecodedResponse&)>;

namespace internal {
struct CallSlot;
}  // namespace internal

class Client {
 public:
  // Connects and does the handshake. Unavailable when the server cannot be
  // reached (the message names host:port); PermissionDenied when the server
  // refuses the Hello as UNAUTHORIZED; FailedPrecondition on another refusal
  // or a protocol version this client does not speak; InvalidArgument for bad
  // options.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const ClientOptions& options);

  ~Client();  // Calls Close().
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // What the server said in its HelloReply.
  const HelloReplyInfo& hello() const { return hello_; }
  const ClientOptions& options() const { return options_; }

  // --- Asynchronous: `done` runs once, on the reader thread (see above). ---
  void Send(const Command& command, ResponseCallback done);
  void SendListSchedules(ConcertId concert, ResponseCallback done);
  void SendSeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                   ResponseCallback done);
  void SendLedger(UserId user, uint64_t before, uint32_t limit, ResponseCallback done);
  // Admin port (or admin key) only.
  void SendServerStats(ResponseCallback done);

  // --- Synchronous: the reply, or Unavailable / DeadlineExceeded /
  // FailedPrecondition (called from a callback). ---
  [[nodiscard]] absl::StatusOr<DecodedResponse> Call(const Command& command);
  [[nodiscard]] absl::StatusOr<DecodedResponse> ListSchedules(ConcertId concert);
  [[nodiscard]] absl::StatusOr<DecodedResponse> SeatMap(ScheduleId schedule, UserId user,
                                                        const QueueToken& token);
  [[nodiscard]] absl::StatusOr<DecodedResponse> Ledger(UserId user, uint64_t before,
                                                       uint32_t limit);
  [[nodiscard]] absl::StatusOr<DecodedResponse> ServerStats();

  // Requests sent and not yet answered.
  size_t in_flight() const;
  // False once the connection has failed or was closed.
  bool connected() const;

  // Fails what is pending (UNAVAILABLE), closes the connection and joins the
  // reader thread (unless called on it: then the destructor joins). Idempotent.
  void Close();

 private:
  // Appends a request's frame for request id `id` to `frame`.
  using Encoder = absl::FunctionRef<void(uint64_t id, std::vector<uint8_t>* frame)>;

  struct Pending {
    ResponseCallback done;                     // An asynchronous call, or
    std::shared_ptr<internal::CallSlot> slot;  // a synchronous one.
  };

  Client(const ClientOptions& options, int socket_fd, const HelloReplyInfo& hello,
         FrameReader reader);

  void Submit(Encoder encode, Pending pending);
  absl::StatusOr<DecodedResponse> Wait(Encoder encode);
  // Appends the frame to the outgoing buffer and, unless another thread is
  // already flushing it, flushes it: the calling thread sends whole batches
  // until the buffer is empty, so under load one send() carries many frames.
  // False (and the connection is failing) if the bytes cannot be written.
  // On the reader thread (a callback) it only appends: DrainFrames flushes
  // once the received replies are dispatched.
  bool WriteFrame(const std::vector<uint8_t>& frame);
  // Sends outgoing_ unless another thread is doing so; false once a write
  // has failed. REQUIRES: `lock` holds write_mutex_ (held again on return).
  bool Flush(std::unique_lock<std::mutex>& lock);
  void ReadLoop();
  // Dispatches every whole frame received; false (and the connection is
  // failing) on a frame that is too large or not a Response.
  bool DrainFrames();
  void Dispatch(const DecodedResponse& response);
  // Marks the connection failed with `reason` (the first reason wins) and
  // shuts the socket down, which ends the reader thread.
  void Fail(const std::string& reason);
  // On the reader thread, as it ends: fails every pending request.
  void FailAllPending();
  static void Complete(Pending& pending, const DecodedResponse& response);
  static void CompleteFailed(Pending& pending, uint64_t id, const std::string& reason);

  const ClientOptions options_;
  const HelloReplyInfo hello_;
  const uint32_t in_flight_max_;
  FrameReader frame_reader_;  // Reader thread only.

  mutable std::mutex mutex_;  // Guards the members below, up to write_mutex_.
  std::condition_variable room_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Pending> pending_;
  bool failed_ = false;         // No more requests are accepted.
  std::string failure_reason_;  // Why, once failed_ (or a failure is on its way).
  std::string server_message_;  // The last error the server sent with no request id.

  // Guards the members below, up to close_mutex_: frames wait in outgoing_
  // and one thread at a time (the flusher) sends them, in order.
  std::mutex write_mutex_;
  std::condition_variable flushed_;  // flushing_ went false.
  int socket_fd_;                    // Closed only under write_mutex_ with no flusher.
  std::vector<uint8_t> outgoing_;    // Whole frames not yet handed to send().
  bool flushing_ = false;            // A thread is sending; it owns sending_.
  bool write_failed_ = false;        // A send failed: later frames are dropped.
  std::vector<uint8_t> sending_;     // The batch being sent, outside the lock.

  std::mutex close_mutex_;  // Serializes Close() off the reader thread.
  std::thread reader_;
  std::thread::id reader_id_;
};

}  // namespace encore::net

#endif  // ENCORE_NET_CLIENT_H_
