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
// For many requests, SendTo() names a ReplyHandler and a tag instead of a
// callback: no allocation per request, and the handler hears when a batch of
// replies received together has been handed over (OnBatchEnd), so it can do
// its per-batch work (a lock, a clock reading, the next requests) once.
//
// Uses plain POSIX sockets and one std::thread; no exceptions cross the API.
#ifndef ENCORE_NET_CLIENT_H_
#define ENCORE_NET_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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

// Receives the replies of the requests sent with Client::SendTo. Both members
// run on the client's reader thread, one call at a time, under the same rules
// as the callbacks (they may SendTo or Send; no synchronous helpers).
class ReplyHandler {
 public:
  // Runs once for each request sent to this handler, with the request's tag:
  // its reply, or UNAVAILABLE when the connection fails first.
  virtual void OnReply(uint64_t tag, const DecodedResponse& response) = 0;
  // Runs after the replies received together (one read from the socket, or
  // the failure of every pending request) were all handed to OnReply, on each
  // handler that got at least one of them. Requests sent from here go out in
  // the same write as those sent from the OnReply calls before.
  virtual void OnBatchEnd() {}

 protected:
  ~ReplyHandler() = default;
};

namespace internal {
class ClientImpl;
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
  const HelloReplyInfo& hello() const;
  const ClientOptions& options() const;

  // --- Asynchronous: `done` runs once, on the reader thread (see above). ---
  void Send(const Command& command, ResponseCallback done);
  void SendListSchedules(ConcertId concert, ResponseCallback done);
  void SendSeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                   ResponseCallback done);
  void SendLedger(UserId user, uint64_t before, uint32_t limit, ResponseCallback done);
  // Admin port (or admin key) only.
  void SendServerStats(ResponseCallback done);
  // Sends `command`; handler->OnReply(tag, ...) runs once, later, on the
  // reader thread. False when the connection has already failed: nothing is
  // sent and OnReply does not run (unlike Send, which then runs the callback
  // at once). Waits for room as Send does. REQUIRES: `handler` outlives the
  // reply (or the failure) of every request sent to it.
  [[nodiscard]] bool SendTo(const Command& command, ReplyHandler* handler, uint64_t tag);

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
  explicit Client(std::unique_ptr<internal::ClientImpl> impl);
  std::unique_ptr<internal::ClientImpl> impl_;
};

}  // namespace encore::net

#endif  // ENCORE_NET_CLIENT_H_
