// The client library (Client and its ClientImpl): POSIX sockets, one reader
// thread, the pending requests by id (replies may come back in any order).
// The reader takes a batch of received replies off the pending set under one
// lock, and sends what their callbacks send with one write.
#include "encore/net/client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <span>
#include <utility>

#include "client_impl.h"
#include "encore/result_code.h"

namespace encore::net {
namespace internal {
namespace {

using Clock = std::chrono::steady_clock;

// Receive buffer of the reader thread.
constexpr size_t kReadChunkBytes = 64 * 1024;
// Most replies dispatched as one batch (one lock, one OnBatchEnd).
constexpr size_t kDispatchBatchMax = 1024;
// The ring of pending requests has twice the in-flight limit of slots (so an
// id finds its slot free unless a request twice as old is still pending),
// within these bounds; the rest go to a map.
constexpr size_t kPendingRingSlotsMin = 16;
constexpr size_t kPendingRingSlotsMax = size_t{1} << 16;
static_assert(std::has_single_bit(kPendingRingSlotsMin) &&
              std::has_single_bit(kPendingRingSlotsMax));

size_t PendingRingSlots(uint32_t in_flight_max) {
  return std::bit_ceil(
      std::clamp<size_t>(size_t{2} * in_flight_max, kPendingRingSlotsMin, kPendingRingSlotsMax));
}

std::string Endpoint(const ClientOptions& options) {
  return options.host + ":" + std::to_string(options.port);
}

std::string ErrnoText(int error) { return std::strerror(error); }

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

// Writes all of `bytes`; an empty string, or what went wrong. A blocking
// socket with SO_SNDTIMEO set: EAGAIN means the write timed out.
std::string SendAll(int fd, std::span<const uint8_t> bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return "the write timed out (the server is not reading)";
    } else {
      return ErrnoText(errno);
    }
  }
  return "";
}

// Connects one resolved address within the deadline; the socket (blocking
// again) or -1 with *error set.
int ConnectAddress(const addrinfo& address, Clock::time_point deadline, std::string* error) {
  const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          address.ai_protocol);
  if (fd < 0) {
    *error = ErrnoText(errno);
    return -1;
  }
  int result = ::connect(fd, address.ai_addr, address.ai_addrlen);
  if (result < 0 && errno == EINPROGRESS) {
    pollfd waiting{fd, POLLOUT, 0};
    do {
      result = ::poll(&waiting, 1, RemainingMs(deadline));
    } while (result < 0 && errno == EINTR);
    if (result == 0) {
      *error = "timed out";
      ::close(fd);
      return -1;
    }
    int socket_error = 0;
    socklen_t length = sizeof(socket_error);
    if (result < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &length) < 0) {
      socket_error = errno;
    }
    result = socket_error == 0 ? 0 : -1;
    errno = socket_error;
  }
  if (result < 0) {
    *error = ErrnoText(errno);
    ::close(fd);
    return -1;
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

// A connected, blocking socket with TCP_NODELAY and a write timeout.
absl::StatusOr<int> OpenSocket(const ClientOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const std::string port = std::to_string(options.port);
  const int resolved = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &addresses);
  if (resolved != 0) {
    return absl::UnavailableError("cannot resolve " + Endpoint(options) + ": " +
                                  ::gai_strerror(resolved));
  }
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
  std::string error = "no address";
  int fd = -1;
  for (const addrinfo* address = addresses; address != nullptr && fd < 0;
       address = address->ai_next) {
    fd = ConnectAddress(*address, deadline, &error);
  }
  ::freeaddrinfo(addresses);
  if (fd < 0) {
    return absl::UnavailableError("cannot connect to " + Endpoint(options) + ": " + error);
  }
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  timeval write_timeout{};
  write_timeout.tv_sec = static_cast<time_t>(options.io_timeout_ms / 1000);
  write_timeout.tv_usec = static_cast<suseconds_t>(options.io_timeout_ms % 1000 * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &write_timeout, sizeof(write_timeout));
  return fd;
}

absl::Status HelloRefused(const ClientOptions& options, const DecodedResponse& response) {
  const std::string text = "the server at " + Endpoint(options) +
                           " refused the hello: " + std::string(ResultCodeName(response.code)) +
                           " (" + std::to_string(static_cast<int>(response.code)) + ")" +
                           (response.message.empty() ? "" : ": " + response.message);
  if (response.code == ResultCode::kUnauthorized) return absl::PermissionDeniedError(text);
  return absl::FailedPreconditionError(text);
}

// Sends the Hello and reads frames until its reply. Frames after it stay in
// `reader` for the reader thread.
absl::StatusOr<HelloReplyInfo> Handshake(int fd, const ClientOptions& options,
                                         FrameReader* reader) {
  std::vector<uint8_t> frame;
  AppendHelloRequest(0, HelloRequest{kProtocolVersion, options.client_name, options.api_key},
                     &frame);
  const std::string where = Endpoint(options);
  if (std::string error = SendAll(fd, frame); !error.empty()) {
    return absl::UnavailableError("hello to " + where + ": " + error);
  }
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options.io_timeout_ms);
  std::vector<uint8_t> buffer(kReadChunkBytes);
  while (true) {
    std::span<const uint8_t> payload;
    const FrameReader::Next next = reader->NextFrame(&payload);
    if (next == FrameReader::Next::kTooLarge) {
      return absl::UnavailableError("hello to " + where + ": the reply frame is too large");
    }
    if (next == FrameReader::Next::kFrame) {
      absl::StatusOr<DecodedResponse> response = DecodeResponse(payload);
      if (!response.ok()) {
        return absl::UnavailableError("hello to " + where + ": " +
                                      std::string(response.status().message()));
      }
      if (response->code != ResultCode::kOk) return HelloRefused(options, *response);
      if (response->kind != ResponseKind::kHello) {
        return absl::FailedPreconditionError("hello to " + where +
                                             ": the server answered with another message");
      }
      if (response->hello.protocol_version != kProtocolVersion) {
        return absl::FailedPreconditionError(
            "the server at " + where + " speaks protocol version " +
            std::to_string(response->hello.protocol_version) + "; this client speaks " +
            std::to_string(kProtocolVersion));
      }
      return response->hello;
    }
    pollfd waiting{fd, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, RemainingMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      return absl::DeadlineExceededError("hello to " + where + ": no reply within " +
                                         std::to_string(options.io_timeout_ms) + " ms");
    }
    const ssize_t n = ready < 0 ? -1 : ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n == 0) {
      return absl::UnavailableError("hello to " + where + ": the server closed the connection");
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError("hello to " + where + ": " + ErrnoText(errno));
    }
    reader->Feed(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
  }
}

absl::Status ValidateOptions(const ClientOptions& options) {
  if (options.host.empty() || options.port == 0) {
    return absl::InvalidArgumentError("a client needs a host and a non-zero port");
  }
  if (options.client_name.size() > kNameBytesMax || options.api_key.size() > kNameBytesMax) {
    return absl::InvalidArgumentError("client name and API key are at most 128 bytes");
  }
  if (options.connect_timeout_ms <= 0 || options.io_timeout_ms <= 0) {
    return absl::InvalidArgumentError("timeouts must be > 0 ms");
  }
  if (options.in_flight_max < 1) return absl::InvalidArgumentError("in_flight_max must be >= 1");
  if (options.response_bytes_max < 1024) {
    return absl::InvalidArgumentError("response_bytes_max must be >= 1024");
  }
  return absl::OkStatus();
}

}  // namespace

ClientImpl::ClientImpl(const ClientOptions& options, int socket_fd, const HelloReplyInfo& hello,
                       FrameReader reader)
    : options_(options),
      hello_(hello),
      in_flight_max_(hello.in_flight_max == 0
                         ? options.in_flight_max
                         : std::min(options.in_flight_max, hello.in_flight_max)),
      frame_reader_(std::move(reader)),
      pending_ring_(PendingRingSlots(in_flight_max_)),
      socket_fd_(socket_fd) {
  reader_ = std::thread([this] { ReadLoop(); });
  reader_id_ = reader_.get_id();
}

ClientImpl::~ClientImpl() { Close(); }

void ClientImpl::Close() {
  const std::string reason = "connection to " + Endpoint(options_) + " closed by the client";
  // On the reader thread (a callback): the reader ends once the callback
  // returns, and the destructor joins it. Taking close_mutex_ here could
  // deadlock with a Close() on another thread that is joining this one.
  if (std::this_thread::get_id() == reader_id_) return Fail(reason);
  std::lock_guard<std::mutex> close_lock(close_mutex_);
  Fail(reason);
  if (!reader_.joinable()) return;
  reader_.join();
  // A flusher may still be in send() outside the lock (the shutdown in Fail
  // ends it soon): the descriptor must not be closed, and reused, under it.
  std::unique_lock<std::mutex> write_lock(write_mutex_);
  flushed_.wait(write_lock, [this] { return !flushing_; });
  if (socket_fd_ >= 0) {
    ::close(socket_fd_);
    socket_fd_ = -1;
  }
}

size_t ClientImpl::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_count_;
}

bool ClientImpl::connected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !failed_;
}

// --- Sending ----------------------------------------------------------------------

void ClientImpl::Send(const Command& command, ResponseCallback done) {
  Submit([&command](uint64_t id,
                    std::vector<uint8_t>* frame) { AppendCommandRequest(id, command, frame); },
         Pending{0, std::move(done), nullptr});
}

void ClientImpl::SendListSchedules(ConcertId concert, ResponseCallback done) {
  Submit([concert](uint64_t id,
                   std::vector<uint8_t>* frame) { AppendListSchedulesRequest(id, concert, frame); },
         Pending{0, std::move(done), nullptr});
}

void ClientImpl::SendSeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                             ResponseCallback done) {
  Submit(
      [&](uint64_t id, std::vector<uint8_t>* frame) {
        AppendSeatMapRequest(id, schedule, user, token, frame);
      },
      Pending{0, std::move(done), nullptr});
}

void ClientImpl::SendLedger(UserId user, uint64_t before, uint32_t limit, ResponseCallback done) {
  Submit([&](uint64_t id,
             std::vector<uint8_t>* frame) { AppendLedgerRequest(id, user, before, limit, frame); },
         Pending{0, std::move(done), nullptr});
}

void ClientImpl::SendServerStats(ResponseCallback done) {
  Submit([](uint64_t id, std::vector<uint8_t>* frame) { AppendServerStatsRequest(id, frame); },
         Pending{0, std::move(done), nullptr});
}

bool ClientImpl::SendTo(const Command& command, ReplyHandler* handler, uint64_t tag) {
  return Submit(
      [&command](uint64_t id, std::vector<uint8_t>* frame) {
        AppendCommandRequest(id, command, frame);
      },
      Pending{0, nullptr, nullptr, handler, tag});
}

bool ClientImpl::Submit(Encoder encode, Pending pending) {
  const bool on_reader = std::this_thread::get_id() == reader_id_;
  uint64_t id = 0;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // The reader thread does not wait for room: only it can make room.
    if (!on_reader) {
      room_.wait(lock, [this] { return failed_ || pending_count_ < in_flight_max_; });
    }
    if (failed_) {
      const std::string reason = failure_reason_;
      lock.unlock();
      if (pending.handler == nullptr) CompleteFailed(pending, 0, reason);
      return false;
    }
    id = next_id_++;
    pending.id = id;
    AddPending(std::move(pending));
  }
  // Once the request is pending, a failed write is reported through the
  // reader thread, which fails every pending request as it ends.
  if (on_reader) {
    // From a callback: the reader sends these once the replies it received
    // are dispatched (DrainFrames), so requests sent from callbacks share a
    // send(), and need no lock here.
    encode(id, &reader_outgoing_);
    return true;
  }
  // One frame buffer per sending thread: no allocation once warm. Encoding
  // happens outside both locks; only the copy into the outgoing buffer is
  // serialized.
  thread_local std::vector<uint8_t> frame;
  frame.clear();
  encode(id, &frame);
  WriteFrame(frame);
  return true;
}

void ClientImpl::AddPending(Pending pending) {
  Pending& slot = pending_ring_[pending.id & (pending_ring_.size() - 1)];
  if (slot.id == 0) {
    pending.MoveTo(&slot);
  } else {
    pending_overflow_.emplace(pending.id, std::move(pending));
  }
  ++pending_count_;
}

bool ClientImpl::TakePending(uint64_t id, Pending* pending) {
  Pending& slot = pending_ring_[id & (pending_ring_.size() - 1)];
  if (id != 0 && slot.id == id) {
    slot.MoveTo(pending);
  } else {
    auto it = pending_overflow_.find(id);
    if (it == pending_overflow_.end()) return false;
    it->second.MoveTo(pending);
    pending_overflow_.erase(it);
  }
  --pending_count_;
  return true;
}

bool ClientImpl::WriteFrame(const std::vector<uint8_t>& frame) {
  std::unique_lock<std::mutex> lock(write_mutex_);
  // Closed, or a write failed: the reader fails every pending request.
  if (socket_fd_ < 0 || write_failed_) return false;
  outgoing_.insert(outgoing_.end(), frame.begin(), frame.end());
  return Flush(lock);
}

void ClientImpl::FlushReaderFrames() {
  if (reader_outgoing_.empty()) return;
  std::unique_lock<std::mutex> lock(write_mutex_);
  // Closed, or a write failed: the reader fails every pending request.
  if (socket_fd_ >= 0 && !write_failed_) {
    if (outgoing_.empty()) {
      outgoing_.swap(reader_outgoing_);
    } else {
      outgoing_.insert(outgoing_.end(), reader_outgoing_.begin(), reader_outgoing_.end());
    }
    Flush(lock);
  }
  reader_outgoing_.clear();
}

bool ClientImpl::Flush(std::unique_lock<std::mutex>& lock) {
  // Another thread is flushing: it sends what is appended with its next batch.
  if (flushing_ || outgoing_.empty() || socket_fd_ < 0 || write_failed_) return !write_failed_;
  flushing_ = true;
  // This thread is the flusher until the buffer is empty. It sends outside
  // the lock, so other senders keep appending meanwhile; only the flusher
  // touches sending_, and batches go out in the order they were appended.
  std::string error;
  while (!outgoing_.empty() && error.empty()) {
    sending_.clear();
    sending_.swap(outgoing_);
    const int fd = socket_fd_;
    lock.unlock();
    error = SendAll(fd, sending_);
    lock.lock();
  }
  flushing_ = false;
  if (!error.empty()) {
    write_failed_ = true;
    outgoing_.clear();
  }
  // Close() waits for the flusher before it closes the descriptor.
  flushed_.notify_all();
  if (error.empty()) return true;
  lock.unlock();
  Fail("write to " + Endpoint(options_) + " failed: " + error);
  lock.lock();
  return false;
}

// --- Synchronous calls ------------------------------------------------------------

absl::StatusOr<DecodedResponse> ClientImpl::Wait(Encoder encode) {
  if (std::this_thread::get_id() == reader_id_) {
    return absl::FailedPreconditionError(
        "a synchronous call from a client callback would deadlock; use the Send functions");
  }
  auto slot = std::make_shared<CallSlot>();
  Submit(encode, Pending{0, nullptr, slot});
  std::unique_lock<std::mutex> lock(slot->mutex);
  if (!slot->ready.wait_for(lock, std::chrono::milliseconds(options_.io_timeout_ms),
                            [&] { return slot->done; })) {
    return absl::DeadlineExceededError("no reply from " + Endpoint(options_) + " within " +
                                       std::to_string(options_.io_timeout_ms) + " ms");
  }
  return std::move(slot->result);
}

absl::StatusOr<DecodedResponse> ClientImpl::Call(const Command& command) {
  return Wait([&command](uint64_t id, std::vector<uint8_t>* frame) {
    AppendCommandRequest(id, command, frame);
  });
}

absl::StatusOr<DecodedResponse> ClientImpl::ListSchedules(ConcertId concert) {
  return Wait([concert](uint64_t id, std::vector<uint8_t>* frame) {
    AppendListSchedulesRequest(id, concert, frame);
  });
}

absl::StatusOr<DecodedResponse> ClientImpl::SeatMap(ScheduleId schedule, UserId user,
                                                    const QueueToken& token) {
  return Wait([&](uint64_t id, std::vector<uint8_t>* frame) {
    AppendSeatMapRequest(id, schedule, user, token, frame);
  });
}

absl::StatusOr<DecodedResponse> ClientImpl::Ledger(UserId user, uint64_t before, uint32_t limit) {
  return Wait([&](uint64_t id, std::vector<uint8_t>* frame) {
    AppendLedgerRequest(id, user, before, limit, frame);
  });
}

absl::StatusOr<DecodedResponse> ClientImpl::ServerStats() {
  return Wait(
      [](uint64_t id, std::vector<uint8_t>* frame) { AppendServerStatsRequest(id, frame); });
}

// --- Receiving --------------------------------------------------------------------

void ClientImpl::ReadLoop() {
  std::vector<uint8_t> buffer(kReadChunkBytes);
  // Frames may have arrived together with the Hello reply.
  bool reading = DrainFrames();
  while (reading) {
    const ssize_t n = ::recv(socket_fd_, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      frame_reader_.Feed(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
      reading = DrainFrames();
    } else if (n == 0) {
      Fail("connection to " + Endpoint(options_) + " closed by the server");
      reading = false;
    } else if (errno != EINTR) {
      Fail("read from " + Endpoint(options_) + " failed: " + ErrnoText(errno));
      reading = false;
    }
  }
  FailAllPending();
}

bool ClientImpl::DrainFrames() {
  while (true) {
    size_t count = 0;
    FrameReader::Next next = FrameReader::Next::kFrame;
    std::string failure;
    while (count < kDispatchBatchMax) {
      std::span<const uint8_t> payload;
      next = frame_reader_.NextFrame(&payload);
      if (next == FrameReader::Next::kNeedMore) break;
      if (next == FrameReader::Next::kTooLarge) {
        failure = "the server at " + Endpoint(options_) + " sent a frame over " +
                  std::to_string(options_.response_bytes_max) + " bytes";
        break;
      }
      absl::StatusOr<DecodedResponse> response = DecodeResponse(payload);
      if (!response.ok()) {
        failure = "the server at " + Endpoint(options_) + " sent a malformed response";
        break;
      }
      if (received_.size() == count) received_.emplace_back();
      received_[count++] = *std::move(response);
    }
    // The replies before a bad frame are answered; then the connection fails.
    DispatchBatch(count);
    if (!failure.empty()) {
      Fail(failure);
      return false;
    }
    // Send what the callbacks sent, in one go.
    FlushReaderFrames();
    if (next == FrameReader::Next::kNeedMore) return true;
  }
}

void ClientImpl::DispatchBatch(size_t count) {
  if (count == 0) return;
  if (dispatching_.size() < count) dispatching_.resize(count);
  size_t taken = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < count; ++i) {
      const DecodedResponse& response = received_[i];
      if (TakePending(response.id, &dispatching_[i])) {
        ++taken;
        continue;
      }
      dispatching_[i].id = 0;
      // Not ours (e.g. the error the server sends before closing a connection
      // it cannot read): keep it to explain the failure that follows.
      if (response.code != ResultCode::kOk) {
        server_message_ = std::string(ResultCodeName(response.code)) + " (" +
                          std::to_string(static_cast<int>(response.code)) + ")" +
                          (response.message.empty() ? "" : ": " + response.message);
      }
    }
  }
  if (taken > 0) room_.notify_all();
  for (size_t i = 0; i < count; ++i) {
    if (dispatching_[i].id != 0) Complete(dispatching_[i], received_[i]);
    // A large reply (a seat map, a ledger page) is not kept for the next batch.
    if (received_[i].kind != ResponseKind::kCommand) received_[i] = DecodedResponse{};
  }
  EndBatch();
}

void ClientImpl::Fail(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_) {
      failed_ = true;
      failure_reason_ = reason;
      if (!server_message_.empty()) failure_reason_ += " (the server said " + server_message_ + ")";
    }
  }
  room_.notify_all();
  // Ends the reader's recv() and any blocked send(); the descriptor itself is
  // closed only after the reader is joined, so it is never reused under it.
  ::shutdown(socket_fd_, SHUT_RDWR);
}

void ClientImpl::FailAllPending() {
  std::vector<Pending> failing;
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_ = true;
    reason = failure_reason_;
    failing.reserve(pending_count_);
    for (Pending& pending : pending_ring_) {
      if (pending.id != 0) pending.MoveTo(&failing.emplace_back());
    }
    for (auto& [id, pending] : pending_overflow_) failing.push_back(std::move(pending));
    pending_overflow_.clear();
    pending_count_ = 0;
  }
  room_.notify_all();
  // In request order, so the failures read like the requests were sent.
  std::sort(failing.begin(), failing.end(),
            [](const Pending& a, const Pending& b) { return a.id < b.id; });
  for (Pending& pending : failing) CompleteFailed(pending, pending.id, reason);
  EndBatch();
}

void ClientImpl::Complete(Pending& pending, const DecodedResponse& response) {
  if (pending.slot != nullptr) {
    pending.slot->Set(response);
  } else if (pending.handler != nullptr) {
    pending.handler->OnReply(pending.tag, response);
    NoteHandler(pending.handler);
  } else if (pending.done) {
    pending.done(response);
  }
  pending.Clear();
}

void ClientImpl::CompleteFailed(Pending& pending, uint64_t id, const std::string& reason) {
  if (pending.slot != nullptr) {
    pending.slot->Set(absl::UnavailableError(reason));
    pending.Clear();
    return;
  }
  DecodedResponse failed;
  failed.id = id;
  failed.code = ResultCode::kUnavailable;
  failed.message = reason;
  Complete(pending, failed);
}

void ClientImpl::NoteHandler(ReplyHandler* handler) {
  if (!batch_handlers_.empty() && batch_handlers_.back() == handler) return;
  if (std::find(batch_handlers_.begin(), batch_handlers_.end(), handler) != batch_handlers_.end()) {
    return;
  }
  batch_handlers_.push_back(handler);
}

void ClientImpl::EndBatch() {
  // By index: an OnBatchEnd adds no handler (a SendTo that fails calls none).
  for (size_t i = 0; i < batch_handlers_.size(); ++i) batch_handlers_[i]->OnBatchEnd();
  batch_handlers_.clear();
}

}  // namespace internal

// --- Client: the API, forwarded to its ClientImpl ---------------------------------

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  if (absl::Status valid = internal::ValidateOptions(options); !valid.ok()) return valid;
  absl::StatusOr<int> fd = internal::OpenSocket(options);
  if (!fd.ok()) return fd.status();
  FrameReader reader(options.response_bytes_max);
  absl::StatusOr<HelloReplyInfo> hello = internal::Handshake(*fd, options, &reader);
  if (!hello.ok()) {
    ::close(*fd);
    return hello.status();
  }
  return std::unique_ptr<Client>(
      new Client(std::make_unique<internal::ClientImpl>(options, *fd, *hello, std::move(reader))));
}

Client::Client(std::unique_ptr<internal::ClientImpl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;

const HelloReplyInfo& Client::hello() const { return impl_->hello(); }
const ClientOptions& Client::options() const { return impl_->options(); }

void Client::Send(const Command& command, ResponseCallback done) {
  impl_->Send(command, std::move(done));
}
void Client::SendListSchedules(ConcertId concert, ResponseCallback done) {
  impl_->SendListSchedules(concert, std::move(done));
}
void Client::SendSeatMap(ScheduleId schedule, UserId user, const QueueToken& token,
                         ResponseCallback done) {
  impl_->SendSeatMap(schedule, user, token, std::move(done));
}
void Client::SendLedger(UserId user, uint64_t before, uint32_t limit, ResponseCallback done) {
  impl_->SendLedger(user, before, limit, std::move(done));
}
void Client::SendServerStats(ResponseCallback done) { impl_->SendServerStats(std::move(done)); }
bool Client::SendTo(const Command& command, ReplyHandler* handler, uint64_t tag) {
  return impl_->SendTo(command, handler, tag);
}

absl::StatusOr<DecodedResponse> Client::Call(const Command& command) {
  return impl_->Call(command);
}
absl::StatusOr<DecodedResponse> Client::ListSchedules(ConcertId concert) {
  return impl_->ListSchedules(concert);
}
absl::StatusOr<DecodedResponse> Client::SeatMap(ScheduleId schedule, UserId user,
                                                const QueueToken& token) {
  return impl_->SeatMap(schedule, user, token);
}
absl::StatusOr<DecodedResponse> Client::Ledger(UserId user, uint64_t before, uint32_t limit) {
  return impl_->Ledger(user, before, limit);
}
absl::StatusOr<DecodedResponse> Client::ServerStats() { return impl_->ServerStats(); }

size_t Client::in_flight() const { return impl_->in_flight(); }
bool Client::connected() const { return impl_->connected(); }
void Client::Close() { impl_->Close(); }

}  // namespace encore::net
