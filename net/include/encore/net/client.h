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
  // Appends a request's frame for request id `id` to `frame`.
  using Encoder = absl::FunctionRef<void(uint64_t id, std::vector<uint8_t>* frame)>;

  struct Pending {
    uint64_t id = 0;                           // 0: a free slot of pending_ring_.
    ResponseCallback done;                     // An asynchronous call,
    std::shared_ptr<internal::CallSlot> slot;  // a synchronous one, or
    ReplyHandler* handler = nullptr;           // one sent with SendTo, and its tag.
    uint64_t tag = 0;

    // Moves this into `to`, leaving this empty; touches the callback and the
    // slot only when set (a SendTo request has neither). REQUIRES: `to`
    // holds no callback or slot.
    void MoveTo(Pending* to) {
      to->id = id;
      to->handler = handler;
      to->tag = tag;
      if (done) to->done = std::move(done);
      if (slot != nullptr) to->slot = std::move(slot);
      Clear();
    }
    void Clear() {
      id = 0;
      handler = nullptr;
      tag = 0;
      if (done) done = nullptr;
      if (slot != nullptr) slot.reset();
    }
  };

  Client(const ClientOptions& options, int socket_fd, const HelloReplyInfo& hello,
         FrameReader reader);

  // False when the connection has failed: `pending` was completed (failed)
  // at once, unless it is a SendTo request, which is dropped.
  bool Submit(Encoder encode, Pending pending);
  absl::StatusOr<DecodedResponse> Wait(Encoder encode);
  // The pending requests, by id: a ring indexed by the id's low bits, and a
  // map for an id whose ring slot is still taken by an older request (one
  // answered late). TakePending moves it into *pending, which must be empty.
  // REQUIRES: mutex_ held.
  void AddPending(Pending pending);
  bool TakePending(uint64_t id, Pending* pending);
  // Appends the frame to the outgoing buffer and, unless another thread is
  // already flushing it, flushes it: the calling thread sends whole batches
  // until the buffer is empty, so under load one send() carries many frames.
  // False (and the connection is failing) if the bytes cannot be written.
  // Not on the reader thread: its frames go to reader_outgoing_.
  bool WriteFrame(const std::vector<uint8_t>& frame);
  // On the reader thread, once per batch of replies: moves the frames its
  // callbacks sent (reader_outgoing_) to the outgoing buffer and flushes it.
  void FlushReaderFrames();
  // Sends outgoing_ unless another thread is doing so; false once a write
  // has failed. REQUIRES: `lock` holds write_mutex_ (held again on return).
  bool Flush(std::unique_lock<std::mutex>& lock);
  void ReadLoop();
  // Dispatches every whole frame received, in batches; false (and the
  // connection is failing) on a frame that is too large or not a Response.
  bool DrainFrames();
  // Runs the callbacks of received_[0, count) (taking their pending requests
  // under one lock), then OnBatchEnd of the handlers they reached.
  void DispatchBatch(size_t count);
  // Marks the connection failed with `reason` (the first reason wins) and
  // shuts the socket down, which ends the reader thread.
  void Fail(const std::string& reason);
  // On the reader thread, as it ends: fails every pending request.
  void FailAllPending();
  // Both run the request's callback (or wake its caller, or call its
  // handler, noted in batch_handlers_ for OnBatchEnd), then empty `pending`.
  void Complete(Pending& pending, const DecodedResponse& response);
  void CompleteFailed(Pending& pending, uint64_t id, const std::string& reason);
  // Reader thread: notes a handler that got a reply of this batch; calls
  // OnBatchEnd of each, once the batch is dispatched, and forgets them.
  void NoteHandler(ReplyHandler* handler);
  void EndBatch();

  const ClientOptions options_;
  const HelloReplyInfo hello_;
  const uint32_t in_flight_max_;
  FrameReader frame_reader_;  // Reader thread only.

  mutable std::mutex mutex_;  // Guards the members below, up to write_mutex_.
  std::condition_variable room_;
  uint64_t next_id_ = 1;
  std::vector<Pending> pending_ring_;  // A power of two long; see AddPending.
  std::unordered_map<uint64_t, Pending> pending_overflow_;
  size_t pending_count_ = 0;
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

  // Reader thread only: frames sent from callbacks and handlers, moved to
  // outgoing_ once per batch of replies; the batch being dispatched and its
  // requests; the handlers that got a reply of it.
  std::vector<uint8_t> reader_outgoing_;
  std::vector<DecodedResponse> received_;
  std::vector<Pending> dispatching_;
  std::vector<ReplyHandler*> batch_handlers_;

  std::mutex close_mutex_;  // Serializes Close() off the reader thread.
  std::thread reader_;
  std::thread::id reader_id_;
};

}  // namespace encore::net

#endif  // ENCORE_NET_CLIENT_H_
