// End to end on loopback: the client library against the real server over an
// engine on the RocksDB journal. Every operation; pipelined out-of-order
// replies; two clients racing for one seat (exactly one wins); the token gate;
// admin operations refused on the client port; a restart keeps the state; and
// bad input (truncated frame, wrong buffer type, huge numbers, a client that
// stops reading) leaves other clients unaffected.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "encore/commands.h"
#include "encore/engine.h"
#include "encore/net/client.h"
#include "encore/net/protocol.h"
#include "encore/net/server.h"
#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/loopback_server.h"

namespace encore::testing {
namespace {

// The loopback server on the RocksDB journal (sync), and clients for it.
class Stack {
 public:
  explicit Stack(const std::string& path) : journal_(OpenJournal(path)), server_(journal_.get()) {}
  ~Stack() = default;

  std::unique_ptr<net::Client> Connect(bool admin = false) {
    net::ClientOptions options;
    options.port = admin ? server_.admin_port() : server_.client_port();
    auto client = net::Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(*client);
  }
  uint16_t client_port() const { return server_.client_port(); }

 private:
  static std::unique_ptr<RocksDbJournal> OpenJournal(const std::string& path) {
    RocksDbJournalOptions journal_options;
    journal_options.path = path;
    journal_options.durability = Durability::kSync;
    return std::move(*RocksDbJournal::Open(journal_options));
  }
  // Declared first: destroyed last, after the server and engine that use it.
  std::unique_ptr<RocksDbJournal> journal_;
  LoopbackServer server_;
};

std::string TempPath() {
  char dir_template[] = "/tmp/encore-e2e-XXXXXX";
  return std::string(mkdtemp(dir_template));
}

net::DecodedResponse Must(absl::StatusOr<net::DecodedResponse> response) {
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? *response : net::DecodedResponse{};
}

TEST(EndToEndTest, EveryOperationThroughTheRealServerAndARestartKeepsIt) {
  const std::string dir = TempPath();
  QueueToken token;
  HoldId hold = 0;
  {
    Stack stack(dir + "/data");
    auto admin = stack.Connect(/*admin=*/true);
    auto client = stack.Connect();
    // Admin operations: refused on the client port, done on the admin port.
    EXPECT_EQ(Must(client->Call(MakeCreateConcert(kConcert, "E2E", 1))).code,
              ResultCode::kUnauthorized);
    EXPECT_EQ(Must(admin->Call(MakeCreateConcert(kConcert, "E2E", 1))).code, ResultCode::kOk);
    EXPECT_EQ(Must(admin->Call(MakeCreateSchedule(OnSaleNowConfig(kSchedule, 40), 2))).code,
              ResultCode::kOk);
    EXPECT_EQ(
        Must(admin->Call(MakeSetAdmissionPolicy(kSchedule, AdmissionPolicy{1, 0, 0}, 3))).code,
        ResultCode::kOk);
    EXPECT_EQ(Must(admin->ServerStats()).kind, net::ResponseKind::kStats);
    EXPECT_EQ(Must(client->ServerStats()).code, ResultCode::kUnauthorized);

    EXPECT_EQ(Must(client->Call(MakeCharge(1, 20'000, 10))).reply.balance, 20'000);
    EXPECT_EQ(Must(client->Call(MakeBalance(1))).reply.balance, 20'000);
    const net::DecodedResponse entered = Must(client->Call(MakeEnterQueue(kSchedule, 1, 11)));
    ASSERT_EQ(entered.code, ResultCode::kOk);
    token = entered.reply.token;
    EXPECT_EQ(entered.reply.queue_state, QueueState::kActive);
    // A second user waits (active_max 1): the gate refuses their seat map.
    const net::DecodedResponse second = Must(client->Call(MakeEnterQueue(kSchedule, 2, 12)));
    EXPECT_EQ(second.reply.queue_state, QueueState::kWaiting);
    EXPECT_EQ(second.reply.position, 1u);
    EXPECT_EQ(Must(client->SeatMap(kSchedule, 2, second.reply.token)).code,
              ResultCode::kTokenNotActive);
    EXPECT_EQ(Must(client->SeatMap(kSchedule, 2, token)).code, ResultCode::kTokenWrongUser);
    EXPECT_EQ(Must(client->Call(MakeQueueStatus(kSchedule, 2, second.reply.token))).reply.position,
              1u);
    const net::DecodedResponse map = Must(client->SeatMap(kSchedule, 1, token));
    ASSERT_EQ(map.seats.size(), 40u);
    const SeatIndex seats[] = {5, 6};
    const net::DecodedResponse held =
        Must(client->Call(MakeHoldSeats(kSchedule, 1, token, seats, 13)));
    ASSERT_EQ(held.code, ResultCode::kOk);
    hold = held.reply.hold;
    EXPECT_EQ(Must(client->Call(MakeReleaseHold(kSchedule, 2, token, hold, 14))).code,
              ResultCode::kTokenWrongUser);
    EXPECT_EQ(
        Must(client->Call(MakeReleaseHoldWithProof(kSchedule, 2, hold, held.reply.hold_proof, 114)))
            .code,
        ResultCode::kHoldProofInvalid);
    const net::DecodedResponse paid = Must(client->Call(MakePay(kSchedule, 1, token, hold, 15)));
    ASSERT_EQ(paid.code, ResultCode::kOk);
    EXPECT_EQ(paid.reply.balance, 10'000);
    // Paying freed the slot: user 2 is admitted.
    EXPECT_EQ(
        Must(client->Call(MakeQueueStatus(kSchedule, 2, second.reply.token))).reply.queue_state,
        QueueState::kActive);
    EXPECT_EQ(Must(client->Call(MakeLeaveQueue(kSchedule, 2, second.reply.token, 16))).code,
              ResultCode::kOk);
    const net::DecodedResponse ledger = Must(client->Ledger(1, 0, 10));
    ASSERT_EQ(ledger.ledger.size(), 2u);
    EXPECT_EQ(ledger.ledger[0].type, LedgerEntryType::kPayment);
    const net::DecodedResponse list = Must(client->ListSchedules(kConcert));
    ASSERT_EQ(list.schedules.size(), 1u);
    EXPECT_EQ(list.schedules[0].seats_sold, 2u);
  }
  // Restart on the same data: the state is there, and a repeat of the payment
  // gets its original reply.
  Stack stack(dir + "/data");
  auto client = stack.Connect();
  EXPECT_EQ(Must(client->Call(MakeBalance(1))).reply.balance, 10'000);
  const net::DecodedResponse repeat = Must(client->Call(MakePay(kSchedule, 1, token, hold, 15)));
  EXPECT_EQ(repeat.code, ResultCode::kOk);
  EXPECT_EQ(repeat.reply.balance, 10'000);
  EXPECT_EQ(Must(client->ListSchedules(kConcert)).schedules[0].seats_sold, 2u);
  std::filesystem::remove_all(dir);
}

TEST(EndToEndTest, PipelinedRepliesMatchTheirRequests) {
  const std::string dir = TempPath();
  Stack stack(dir + "/data");
  auto client = stack.Connect();
  constexpr int kRequests = 600;
  std::mutex mutex;
  std::condition_variable done;
  int answered = 0;
  int mismatched = 0;
  for (int i = 0; i < kRequests; ++i) {
    // Each charge's amount names its request; users spread over both shards.
    const Points amount = 1 + i;
    client->Send(MakeCharge(1 + i % 16, amount, 1 + i), [&, amount](const net::DecodedResponse& r) {
      std::lock_guard<std::mutex> lock(mutex);
      if (r.code != ResultCode::kOk || r.reply.amount != amount) ++mismatched;
      ++answered;
      done.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mutex);
  done.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kRequests; });
  EXPECT_EQ(answered, kRequests);
  EXPECT_EQ(mismatched, 0);
  lock.unlock();
  client.reset();
  std::filesystem::remove_all(dir);
}

TEST(EndToEndTest, TwoClientsRaceForOneSeatAndExactlyOneWins) {
  const std::string dir = TempPath();
  Stack stack(dir + "/data");
  auto admin = stack.Connect(true);
  ASSERT_EQ(Must(admin->Call(MakeCreateConcert(kConcert, "Race", 1))).code, ResultCode::kOk);
  ASSERT_EQ(Must(admin->Call(MakeCreateSchedule(OnSaleNowConfig(kSchedule, 10), 2))).code,
            ResultCode::kOk);
  for (int round = 0; round < 10; ++round) {
    std::atomic<int> winners{0};
    std::vector<std::thread> racers;
    for (UserId user : {UserId(100 + 2 * round), UserId(101 + 2 * round)}) {
      racers.emplace_back([&, user] {
        auto client = stack.Connect();
        const net::DecodedResponse entered = Must(client->Call(MakeEnterQueue(kSchedule, user, 1)));
        const SeatIndex seat[] = {static_cast<SeatIndex>(round)};
        const net::DecodedResponse held =
            Must(client->Call(MakeHoldSeats(kSchedule, user, entered.reply.token, seat, 2)));
        if (held.code == ResultCode::kOk) {
          ++winners;
        } else {
          EXPECT_EQ(held.code, ResultCode::kSeatUnavailable);
        }
      });
    }
    for (auto& racer : racers) racer.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
  std::filesystem::remove_all(dir);
}

// A raw connection for what the client library would never send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawConnection() { close(fd_); }
  void Send(const std::vector<uint8_t>& bytes) {
    EXPECT_EQ(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The next response, or nullopt at EOF.
  std::optional<net::DecodedResponse> Receive() {
    std::span<const uint8_t> payload;
    while (reader_.NextFrame(&payload) != net::FrameReader::Next::kFrame) {
      uint8_t buffer[4096];
      const ssize_t got = recv(fd_, buffer, sizeof(buffer), 0);
      if (got <= 0) return std::nullopt;
      reader_.Feed(std::span<const uint8_t>(buffer, static_cast<size_t>(got)));
    }
    absl::StatusOr<net::DecodedResponse> decoded = net::DecodeResponse(payload);
    EXPECT_TRUE(decoded.ok());
    return decoded.ok() ? std::optional<net::DecodedResponse>(*decoded) : std::nullopt;
  }
  void Hello() {
    std::vector<uint8_t> frame;
    net::AppendHelloRequest(1, net::HelloRequest{net::kProtocolVersion, "raw", ""}, &frame);
    Send(frame);
    ASSERT_EQ(Receive()->kind, net::ResponseKind::kHello);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  net::FrameReader reader_{64u << 20};
};

TEST(EndToEndTest, BadInputIsAnsweredOrClosedAndOthersAreUnaffected) {
  const std::string dir = TempPath();
  Stack stack(dir + "/data");
  auto bystander = stack.Connect();
  ASSERT_EQ(Must(bystander->Call(MakeCharge(7, 100, 1))).code, ResultCode::kOk);
  {
    // A truncated frame, then the client goes away: nothing to answer.
    RawConnection raw(stack.client_port());
    raw.Hello();
    std::vector<uint8_t> frame;
    net::AppendCommandRequest(5, MakeBalance(1), &frame);
    frame.resize(frame.size() - 3);
    raw.Send(frame);
  }
  {
    // A valid flatbuffer of the wrong type (a Response): refused, never obeyed.
    RawConnection raw(stack.client_port());
    raw.Hello();
    std::vector<uint8_t> frame;
    net::AppendErrorResponse(6, ResultCode::kOk, "I am not a request", &frame);
    raw.Send(frame);
    const std::optional<net::DecodedResponse> answer = raw.Receive();
    ASSERT_TRUE(answer.has_value());
    EXPECT_NE(answer->code, ResultCode::kOk);
  }
  {
    // Huge and negative numbers reach the engine and get its codes.
    RawConnection raw(stack.client_port());
    raw.Hello();
    std::vector<uint8_t> frames;
    net::AppendCommandRequest(7, MakeCharge(8, INT64_MAX, 7), &frames);
    net::AppendCommandRequest(8, MakeCharge(8, -1, 8), &frames);
    const SeatIndex far[] = {UINT32_MAX};
    net::AppendCommandRequest(9, MakeHoldSeats(UINT64_MAX, 8, QueueToken{~0ull, ~0ull}, far, 9),
                              &frames);
    raw.Send(frames);
    std::map<uint64_t, ResultCode> codes;
    for (int i = 0; i < 3; ++i) {
      const std::optional<net::DecodedResponse> answer = raw.Receive();
      ASSERT_TRUE(answer.has_value());
      codes[answer->id] = answer->code;
    }
    EXPECT_EQ(codes[7], ResultCode::kInvalidAmount);
    EXPECT_EQ(codes[8], ResultCode::kInvalidAmount);
    EXPECT_EQ(codes[9], ResultCode::kScheduleNotFound);
  }
  {
    // A client that sends a lot and never reads: the server stops reading it
    // (bounded memory); the bystander is served all the while.
    RawConnection hog(stack.client_port());
    hog.Hello();
    int receive_buffer = 4096;
    setsockopt(hog.fd(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    std::vector<uint8_t> frames;
    for (uint64_t id = 10; id < 150'010; ++id)
      net::AppendCommandRequest(id, MakeBalance(9), &frames);
    std::thread writer([&] {
      // Blocks once the server stops reading; the connection closing at the
      // end of the test ends it.
      send(hog.fd(), frames.data(), frames.size(), MSG_NOSIGNAL);
    });
    for (int i = 0; i < 50; ++i) {
      ASSERT_EQ(Must(bystander->Call(MakeBalance(7))).reply.balance, 100);
    }
    shutdown(hog.fd(), SHUT_RDWR);
    writer.join();
  }
  EXPECT_EQ(Must(bystander->Call(MakeBalance(7))).reply.balance, 100);
  bystander.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace encore::testing
