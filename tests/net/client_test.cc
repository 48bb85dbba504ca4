// The client library against a fake server on a loopback socket: the
// handshake, replies matched by id when they come back out of order, the
// in-flight bound, and every pending request failing UNAVAILABLE when the
// connection ends. Also the queue token's text form.
#include "encore/net/client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "encore/commands.h"
#include "encore/net/protocol.h"
#include "encore/net/token_text.h"
#include "gtest/gtest.h"

namespace encore::net {
namespace {

// A socket bound to a free loopback port; listening only if asked.
int BindLoopback(bool listening, uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  if (listening) {
    EXPECT_EQ(::listen(fd, 8), 0);
  }
  socklen_t length = sizeof(address);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  *port = ntohs(address.sin_port);
  return fd;
}

// One accepted connection of the fake server: blocking reads and writes.
class FakeConnection {
 public:
  explicit FakeConnection(int fd) : fd_(fd) {}
  ~FakeConnection() { Close(); }

  // The next request; false when the client closed the connection.
  bool Read(DecodedRequest* request) {
    std::vector<uint8_t> buffer(4096);
    while (true) {
      std::span<const uint8_t> payload;
      if (reader_.NextFrame(&payload) == FrameReader::Next::kFrame) {
        DecodeResult decoded = DecodeRequest(payload);
        EXPECT_EQ(decoded.code, ResultCode::kOk) << decoded.message;
        *request = decoded.request;
        return true;
      }
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n <= 0) return false;
      reader_.Feed(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
    }
  }

  void Write(const std::vector<uint8_t>& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      sent += static_cast<size_t>(n);
    }
  }

  // Reads the Hello and answers it with `hello`.
  void AnswerHello(const HelloReplyInfo& hello) {
    DecodedRequest request;
    ASSERT_TRUE(Read(&request));
    ASSERT_EQ(request.kind, RequestKind::kHello);
    EXPECT_EQ(request.hello.protocol_version, kProtocolVersion);
    EXPECT_EQ(request.hello.client_name, "client-test");
    std::vector<uint8_t> frame;
    AppendHelloResponse(request.id, hello, &frame);
    Write(frame);
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  FrameReader reader_;
};

// A listening socket whose one connection is served by `script` on its own
// thread.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(FakeConnection&)> script) {
    listen_fd_ = BindLoopback(true, &port_);
    thread_ = std::thread([this, script = std::move(script)] {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      ASSERT_GE(fd, 0);
      FakeConnection connection(fd);
      script(connection);
    });
  }
  ~FakeServer() {
    Join();
    ::close(listen_fd_);
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

ClientOptions TestOptions(uint16_t port) {
  ClientOptions options;
  options.port = port;
  options.client_name = "client-test";
  options.io_timeout_ms = 30'000;
  return options;
}

// Collects callback results and lets the test wait for a number of them.
class Replies {
 public:
  ResponseCallback Expect(int64_t expected_amount) {
    return [this, expected_amount](const DecodedResponse& response) {
      std::lock_guard<std::mutex> lock(mutex_);
      responses_.push_back(response);
      expected_.push_back(expected_amount);
      arrived_.notify_all();
    };
  }
  void WaitFor(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    arrived_.wait(lock, [&] { return responses_.size() >= count; });
  }
  std::vector<DecodedResponse> responses() {
    std::lock_guard<std::mutex> lock(mutex_);
    return responses_;
  }
  std::vector<int64_t> expected() {
    std::lock_guard<std::mutex> lock(mutex_);
    return expected_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<DecodedResponse> responses_;
  std::vector<int64_t> expected_;
};

// --- Token text --------------------------------------------------------------------

TEST(TokenTextTest, FormatsLocatorThenMacAsLowercaseHex) {
  const QueueToken token{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(FormatToken(token), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(FormatToken(QueueToken{}), std::string(32, '0'));
}

TEST(TokenTextTest, RoundTrips) {
  for (const QueueToken token : {QueueToken{0, 0}, QueueToken{1, 2}, QueueToken{~0ULL, ~0ULL},
                                 QueueToken{0x8000000000000000ULL, 0x00000000000000ffULL}}) {
    absl::StatusOr<QueueToken> parsed = ParseToken(FormatToken(token));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, token);
  }
}

TEST(TokenTextTest, AcceptsUppercase) {
  absl::StatusOr<QueueToken> parsed = ParseToken("0123456789ABCDEFFEDCBA9876543210");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (QueueToken{0x0123456789abcdefULL, 0xfedcba9876543210ULL}));
}

TEST(TokenTextTest, RejectsWrongLength) {
  for (const char* text :
       {"", "0123", "0123456789abcdeffedcba987654321", "0123456789abcdeffedcba98765432100"}) {
    absl::StatusOr<QueueToken> parsed = ParseToken(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(TokenTextTest, RejectsNonHex) {
  for (const char* text :
       {"0123456789abcdeffedcba987654321g", "x123456789abcdeffedcba9876543210",
        "0123456789abcdef fedcba987654321", "-123456789abcdeffedcba9876543210"}) {
    absl::StatusOr<QueueToken> parsed = ParseToken(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

// --- Connecting --------------------------------------------------------------------

TEST(ClientTest, ConnectToClosedPortNamesHostAndPort) {
  uint16_t port = 0;
  // Bound but not listening: a connect is refused.
  const int fd = BindLoopback(false, &port);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(port));
  ::close(fd);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << client.status();
}

TEST(ClientTest, RejectsBadOptions) {
  ClientOptions options = TestOptions(1);
  options.in_flight_max = 0;
  EXPECT_EQ(Client::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = TestOptions(0);
  EXPECT_EQ(Client::Connect(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ClientTest, HandshakeReturnsTheServersHello) {
  HelloReplyInfo hello;
  hello.server_name = "fake";
  hello.in_flight_max = 64;
  hello.admin = true;
  FakeServer server([&](FakeConnection& connection) { connection.AnswerHello(hello); });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->hello().server_name, "fake");
  EXPECT_EQ((*client)->hello().in_flight_max, 64u);
  EXPECT_TRUE((*client)->hello().admin);
  EXPECT_EQ((*client)->in_flight(), 0u);
}

TEST(ClientTest, RefusedHelloIsPermissionDenied) {
  FakeServer server([](FakeConnection& connection) {
    DecodedRequest request;
    ASSERT_TRUE(connection.Read(&request));
    std::vector<uint8_t> frame;
    AppendErrorResponse(request.id, ResultCode::kUnauthorized, "wrong API key", &frame);
    connection.Write(frame);
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(client.status().message().find("wrong API key"), std::string::npos);
}

// --- Pipelining ----------------------------------------------------------------------

TEST(ClientTest, RepliesOutOfOrderReachTheirOwnCallbacks) {
  constexpr int kRequests = 10;
  FakeServer server([](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    std::vector<DecodedRequest> requests(kRequests);
    for (DecodedRequest& request : requests) ASSERT_TRUE(connection.Read(&request));
    // Answer newest first, each with its request's amount.
    std::vector<uint8_t> frames;
    for (auto it = requests.rbegin(); it != requests.rend(); ++it) {
      EXPECT_EQ(it->command.type, CommandType::kCharge);
      Reply reply = MakeReply(CommandType::kCharge, ResultCode::kOk);
      reply.amount = it->command.amount;
      reply.balance = static_cast<Points>(it->command.user);
      AppendCommandResponse(it->id, reply, &frames);
    }
    connection.Write(frames);
    DecodedRequest none;
    EXPECT_FALSE(connection.Read(&none));  // Until the client closes.
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  Replies replies;
  for (int i = 0; i < kRequests; ++i) {
    const Points amount = 1000 + i;
    (*client)->Send(MakeCharge(/*user=*/100 + i, amount, /*key=*/i + 1), replies.Expect(amount));
  }
  replies.WaitFor(kRequests);
  const std::vector<DecodedResponse> responses = replies.responses();
  const std::vector<int64_t> expected = replies.expected();
  ASSERT_EQ(responses.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(responses[i].code, ResultCode::kOk);
    EXPECT_EQ(responses[i].kind, ResponseKind::kCommand);
    EXPECT_EQ(responses[i].reply.amount, expected[i]);
    EXPECT_EQ(responses[i].reply.balance, 100 + (expected[i] - 1000));
  }
  // They did arrive newest first.
  EXPECT_EQ(responses.front().reply.amount, 1000 + kRequests - 1);
  EXPECT_EQ(responses.back().reply.amount, 1000);
  EXPECT_EQ((*client)->in_flight(), 0u);
  (*client)->Close();
}

TEST(ClientTest, SynchronousReadsDecodeTheirReplies) {
  FakeServer server([](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    DecodedRequest request;
    ASSERT_TRUE(connection.Read(&request));
    ASSERT_EQ(request.kind, RequestKind::kSeatMap);
    EXPECT_EQ(request.command.token, (QueueToken{5, 6}));
    std::vector<uint8_t> frame;
    AppendSeatMapResponse(request.id, request.command.schedule,
                          {SeatState::kAvailable, SeatState::kHeld, SeatState::kSold}, &frame);
    connection.Write(frame);
    ASSERT_TRUE(connection.Read(&request));
    ASSERT_EQ(request.kind, RequestKind::kCommand);
    EXPECT_EQ(request.command.type, CommandType::kBalance);
    frame.clear();
    AppendErrorResponse(request.id, ResultCode::kBusy, "try later", &frame);
    connection.Write(frame);
    EXPECT_FALSE(connection.Read(&request));
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<DecodedResponse> seats = (*client)->SeatMap(9, 3, QueueToken{5, 6});
  ASSERT_TRUE(seats.ok()) << seats.status();
  EXPECT_EQ(seats->kind, ResponseKind::kSeatMap);
  EXPECT_EQ(seats->seats,
            (std::vector<SeatState>{SeatState::kAvailable, SeatState::kHeld, SeatState::kSold}));
  // A refusal is a value, not an error status.
  absl::StatusOr<DecodedResponse> balance = (*client)->Call(MakeBalance(3));
  ASSERT_TRUE(balance.ok()) << balance.status();
  EXPECT_EQ(balance->code, ResultCode::kBusy);
  EXPECT_EQ(balance->message, "try later");
}

TEST(ClientTest, InFlightStaysWithinTheServersLimit) {
  constexpr int kRequests = 20;
  HelloReplyInfo hello;
  hello.in_flight_max = 2;  // Lower than the client's option: it wins.
  FakeServer server([&](FakeConnection& connection) {
    connection.AnswerHello(hello);
    DecodedRequest request;
    while (connection.Read(&request)) {
      std::vector<uint8_t> frame;
      AppendCommandResponse(request.id, MakeReply(CommandType::kBalance, ResultCode::kOk), &frame);
      connection.Write(frame);
    }
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  Replies replies;
  size_t in_flight_most = 0;
  for (int i = 0; i < kRequests; ++i) {
    (*client)->Send(MakeBalance(1), replies.Expect(0));
    in_flight_most = std::max(in_flight_most, (*client)->in_flight());
  }
  replies.WaitFor(kRequests);
  EXPECT_LE(in_flight_most, 2u);
  EXPECT_GE(in_flight_most, 1u);
}

TEST(ClientTest, CallbackMaySendButNotCallSynchronously) {
  FakeServer server([](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    DecodedRequest request;
    while (connection.Read(&request)) {
      std::vector<uint8_t> frame;
      Reply reply = MakeReply(CommandType::kCharge, ResultCode::kOk);
      reply.amount = request.command.amount;
      AppendCommandResponse(request.id, reply, &frame);
      connection.Write(frame);
    }
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  Client* raw = client->get();
  Replies replies;
  absl::Status nested_call;
  raw->Send(MakeCharge(1, 10, 1), [&](const DecodedResponse& first) {
    nested_call = raw->Call(MakeBalance(1)).status();
    raw->Send(MakeCharge(1, 20, 2), replies.Expect(20));
    replies.Expect(10)(first);
  });
  replies.WaitFor(2);
  EXPECT_EQ(nested_call.code(), absl::StatusCode::kFailedPrecondition);
  for (const DecodedResponse& response : replies.responses()) {
    EXPECT_EQ(response.code, ResultCode::kOk);
  }
  EXPECT_EQ(replies.responses().size(), 2u);
}

// --- Failures ------------------------------------------------------------------------

TEST(ClientTest, ServerCloseFailsPendingRequestsUnavailable) {
  constexpr int kRequests = 3;
  FakeServer server([](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    DecodedRequest request;
    for (int i = 0; i < kRequests; ++i) ASSERT_TRUE(connection.Read(&request));
    connection.Close();  // Without answering.
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  Replies replies;
  for (int i = 0; i < kRequests; ++i) {
    (*client)->Send(MakeCharge(1, 10 + i, i + 1), replies.Expect(10 + i));
  }
  replies.WaitFor(kRequests);
  for (const DecodedResponse& response : replies.responses()) {
    EXPECT_EQ(response.code, ResultCode::kUnavailable);
    EXPECT_NE(response.message.find("closed by the server"), std::string::npos) << response.message;
  }
  EXPECT_EQ((*client)->in_flight(), 0u);
  EXPECT_FALSE((*client)->connected());
  // Later requests fail at once, on this thread.
  Replies late;
  (*client)->Send(MakeBalance(1), late.Expect(0));
  ASSERT_EQ(late.responses().size(), 1u);
  EXPECT_EQ(late.responses()[0].code, ResultCode::kUnavailable);
  absl::StatusOr<DecodedResponse> call = (*client)->Call(MakeBalance(1));
  EXPECT_EQ(call.status().code(), absl::StatusCode::kUnavailable);
}

// A ReplyHandler that records (tag, reply) pairs and the batch ends, and may
// send one more request per reply from the reader thread.
class RecordingHandler final : public ReplyHandler {
 public:
  void OnReply(uint64_t tag, const DecodedResponse& response) override {
    std::lock_guard<std::mutex> lock(mutex_);
    replies_.emplace_back(tag, response);
    ++in_batch_;
    if (follow_up_ != nullptr && tag < 100) {
      // From the reader thread: goes out with the batch's other frames.
      EXPECT_TRUE(follow_up_->SendTo(MakeCharge(1, 1, tag + 100), this, tag + 100));
    }
    arrived_.notify_all();
  }
  void OnBatchEnd() override {
    std::lock_guard<std::mutex> lock(mutex_);
    EXPECT_GT(in_batch_, 0u) << "a batch end without a reply before it";
    batch_sizes_.push_back(in_batch_);
    in_batch_ = 0;
  }
  void SendFollowUpsOn(Client* client) { follow_up_ = client; }
  void WaitFor(size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    arrived_.wait(lock, [&] { return replies_.size() >= count; });
  }
  std::vector<std::pair<uint64_t, DecodedResponse>> replies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return replies_;
  }
  std::vector<size_t> batch_sizes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return batch_sizes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::pair<uint64_t, DecodedResponse>> replies_;
  std::vector<size_t> batch_sizes_;
  size_t in_batch_ = 0;
  Client* follow_up_ = nullptr;
};

TEST(ClientTest, SendToHandsEachReplyToItsHandlerWithItsTagThenEndsTheBatch) {
  constexpr int kRequests = 8;
  FakeServer server([](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    std::vector<DecodedRequest> requests(kRequests);
    for (DecodedRequest& request : requests) ASSERT_TRUE(connection.Read(&request));
    // All answered in one write, newest first; then the follow-ups the
    // handler sends from the reader thread, one by one.
    std::vector<uint8_t> frames;
    for (auto it = requests.rbegin(); it != requests.rend(); ++it) {
      Reply reply = MakeReply(CommandType::kCharge, ResultCode::kOk);
      reply.amount = it->command.amount;
      AppendCommandResponse(it->id, reply, &frames);
    }
    connection.Write(frames);
    for (int i = 0; i < kRequests; ++i) {
      DecodedRequest follow_up;
      ASSERT_TRUE(connection.Read(&follow_up));
      EXPECT_GE(follow_up.command.request_key, 100u);
      std::vector<uint8_t> frame;
      Reply reply = MakeReply(CommandType::kCharge, ResultCode::kOk);
      reply.amount = static_cast<Points>(follow_up.command.request_key);
      AppendCommandResponse(follow_up.id, reply, &frame);
      connection.Write(frame);
    }
    DecodedRequest none;
    EXPECT_FALSE(connection.Read(&none));  // Until the client closes.
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  RecordingHandler handler;
  handler.SendFollowUpsOn(client->get());
  for (uint64_t tag = 1; tag <= kRequests; ++tag) {
    ASSERT_TRUE(
        (*client)->SendTo(MakeCharge(1, static_cast<Points>(1000 + tag), tag), &handler, tag));
  }
  handler.WaitFor(2 * kRequests);
  const auto replies = handler.replies();
  ASSERT_EQ(replies.size(), 2u * kRequests);
  for (const auto& [tag, response] : replies) {
    EXPECT_EQ(response.code, ResultCode::kOk);
    // Each reply came with its own request's tag.
    EXPECT_EQ(response.reply.amount,
              tag < 100 ? static_cast<Points>(1000 + tag) : static_cast<Points>(tag));
  }
  // The first eight, newest first; then the follow-ups.
  EXPECT_EQ(replies.front().first, static_cast<uint64_t>(kRequests));
  EXPECT_EQ(replies[kRequests - 1].first, 1u);
  (*client)->Close();
  // Every reply was in a batch that ended (Close joins the reader, so the last
  // OnBatchEnd has run).
  size_t in_batches = 0;
  for (size_t size : handler.batch_sizes()) in_batches += size;
  EXPECT_EQ(in_batches, 2u * kRequests);
  EXPECT_EQ((*client)->in_flight(), 0u);
}

TEST(ClientTest, SendToFailsPendingRepliesUnavailableAndRefusesOnceFailed) {
  constexpr int kRequests = 3;
  FakeServer server([](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    DecodedRequest request;
    for (int i = 0; i < kRequests; ++i) ASSERT_TRUE(connection.Read(&request));
    connection.Close();  // Without answering.
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  RecordingHandler handler;
  for (uint64_t tag = 1; tag <= kRequests; ++tag) {
    ASSERT_TRUE((*client)->SendTo(MakeCharge(1, 10, tag), &handler, tag));
  }
  handler.WaitFor(kRequests);
  std::vector<uint64_t> tags;
  for (const auto& [tag, response] : handler.replies()) {
    EXPECT_EQ(response.code, ResultCode::kUnavailable);
    tags.push_back(tag);
  }
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(tags, (std::vector<uint64_t>{1, 2, 3}));
  // Once failed, SendTo says so and its handler hears nothing.
  for (int i = 0; i < 100 && (*client)->connected(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE((*client)->SendTo(MakeBalance(1), &handler, 99));
  (*client)->Close();
  EXPECT_EQ(handler.replies().size(), static_cast<size_t>(kRequests));
  EXPECT_EQ((*client)->in_flight(), 0u);
}

TEST(ClientTest, CloseFailsPendingRequestsUnavailable) {
  std::mutex mutex;
  std::condition_variable read;
  int requests_read = 0;
  FakeServer server([&](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    DecodedRequest request;
    while (connection.Read(&request)) {
      std::lock_guard<std::mutex> lock(mutex);
      ++requests_read;
      read.notify_all();
    }
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  Replies replies;
  (*client)->SendLedger(1, 0, 10, replies.Expect(0));
  (*client)->SendListSchedules(1, replies.Expect(0));
  {
    std::unique_lock<std::mutex> lock(mutex);
    read.wait(lock, [&] { return requests_read == 2; });
  }
  EXPECT_EQ((*client)->in_flight(), 2u);
  (*client)->Close();
  ASSERT_EQ(replies.responses().size(), 2u);
  for (const DecodedResponse& response : replies.responses()) {
    EXPECT_EQ(response.code, ResultCode::kUnavailable);
    EXPECT_NE(response.message.find("closed by the client"), std::string::npos);
  }
  (*client)->Close();  // Idempotent.
}

TEST(ClientTest, MalformedResponseFailsTheConnection) {
  FakeServer server([](FakeConnection& connection) {
    connection.AnswerHello(HelloReplyInfo{});
    DecodedRequest request;
    ASSERT_TRUE(connection.Read(&request));
    std::vector<uint8_t> frame;
    AppendFrameHeader(4, &frame);
    frame.insert(frame.end(), {1, 2, 3, 4});
    connection.Write(frame);
    EXPECT_FALSE(connection.Read(&request));
  });
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(TestOptions(server.port()));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<DecodedResponse> call = (*client)->Call(MakeBalance(1));
  EXPECT_EQ(call.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(call.status().message().find("malformed"), std::string::npos) << call.status();
}

}  // namespace
}  // namespace encore::net
