// ClientImpl: what a Client is made of (see encore/net/client.h for the
// contract): the connection's socket, the pending requests by id, the
// outgoing buffer and its flusher, and the reader thread that dispatches
// replies. Client forwards every call here.
//
// Thread safety: as Client's.
#ifndef ENCORE_NET_CLIENT_IMPL_H_
#define ENCORE_NET_CLIENT_IMPL_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "encore/command.h"
#include "encore/net/client.h"
#include "encore/net/protocol.h"

namespace encore::net::internal {

// Where a synchronous call waits for its reply.
struct CallSlot {
  std::mutex mutex;
  std::condition_variable ready;
  bool done = false;
  absl::StatusOr<DecodedResponse> result;

  void Set(absl::StatusOr<DecodedResponse> value) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      result = std::move(value);
      done = true;
    }
    ready.notify_one();
  }
};

class ClientImpl {
 public:
  // Takes over `socket_fd`, whose handshake `hello` answered; frames
  // already read past the HelloReply are in `reader`. Starts the reader thread.
  ClientImpl(const ClientOptions& options, int socket_fd, const HelloReplyInfo& hello,
             FrameReader reader);
  ~ClientImpl();  // Calls Close().
  ClientImpl(const ClientImpl&) = delete;
  ClientImpl& operator=(const ClientImpl&) = delete;

  const HelloReplyInfo& hello() const { return hello_; }
  const ClientOptions& options() const { return options_; }

  void Send(const Command& command, ResponseCallback done);
  void SendListSchedules(ConcertId concert, ResponseCallback done);
  void SendSeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                   ResponseCallback done);
  void SendLedger(UserId user, uint64_t before, uint32_t limit, ResponseCallback done);
  void SendServerStats(ResponseCallback done);
  [[nodiscard]] bool SendTo(const Command& command, ReplyHandler* handler, uint64_t tag);

  [[nodiscard]] absl::StatusOr<DecodedResponse> Call(const Command& command);
  [[nodiscard]] absl::StatusOr<DecodedResponse> ListSchedules(ConcertId concert);
  [[nodiscard]] absl::StatusOr<DecodedResponse> SeatMap(ScheduleId schedule, UserId user,
                                                        const QueueToken& token);
  [[nodiscard]] absl::StatusOr<DecodedResponse> Ledger(UserId user, uint64_t before,
                                                       uint32_t limit);
  [[nodiscard]] absl::StatusOr<DecodedResponse> ServerStats();

  size_t in_flight() const;
  bool connected() const;
  void Close();

 private:
  // Appends a request's frame for request id `id` to `frame`.
  using Encoder = absl::FunctionRef<void(uint64_t id, std::vector<uint8_t>* frame)>;

  struct Pending {
    uint64_t id = 0;                  // 0: a free slot of pending_ring_.
    ResponseCallback done;            // An asynchronous call,
    std::shared_ptr<CallSlot> slot;   // a synchronous one, or
    ReplyHandler* handler = nullptr;  // one sent with SendTo, and its tag.
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

  // False when the connection has failed: `pending` was completed (failed)
  // at once, unless it is a SendTo request, which is dropped.
  bool Submit(Encoder encode, Pending pending);
  [[nodiscard]] absl::StatusOr<DecodedResponse> Wait(Encoder encode);
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

}  // namespace encore::net::internal

#endif  // ENCORE_NET_CLIENT_IMPL_H_
