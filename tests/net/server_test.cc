// The server end to end over loopback TCP, with a plain blocking socket as the
// client: Hello first, commands answered through the engine, pipelining with
// out-of-order-safe ids, admin rights by listener or key, API key
// enforcement, bad frames answered and closed without touching other
// connections, reads on the worker pool, and Stop() with connections open.
// Blocking reads carry a socket timeout only as a safety net: nothing sleeps.
#include "encore/net/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <random>
#include <set>

#include "encore/commands.h"
#include "encore/engine.h"
#include "encore/net/protocol.h"
#include "encore_generated.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/in_memory_journal.h"
#include "support/raw_connection.h"

namespace encore::testing {
namespace {

// A blocking TCP client speaking frames (tests/support/raw_connection.h).
using TestClient = RawConnection;

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(net::ServerOptions options = {}) {
    EngineOptions engine_options;
    engine_options.shards = 2;
    engine_options.journal = &journal_;
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(engine_options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    options.client_listen = "127.0.0.1:0";
    options.admin_listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<net::Server>> server =
        net::Server::Start(options, engine_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_NE(server_->client_port(), 0);
    ASSERT_NE(server_->admin_port(), 0);
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (engine_) engine_->Close();
  }

  InMemoryJournal journal_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<net::Server> server_;
};

std::vector<uint8_t> Frame(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> frame;
  net::AppendFrameHeader(static_cast<uint32_t>(payload.size()), &frame);
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

TEST_F(ServerTest, HelloThenChargeAndBalance) {
  StartServer();
  TestClient client(server_->client_port());
  ASSERT_TRUE(client.connected());
  const net::DecodedResponse hello = client.Hello();
  EXPECT_EQ(hello.code, ResultCode::kOk);
  EXPECT_EQ(hello.kind, net::ResponseKind::kHello);
  EXPECT_EQ(hello.hello.protocol_version, net::kProtocolVersion);
  EXPECT_EQ(hello.hello.frame_bytes_max, net::kFrameBytesMaxDefault);
  EXPECT_FALSE(hello.hello.admin);

  const net::DecodedResponse charged = client.Command(2, MakeCharge(42, 500, 1));
  EXPECT_EQ(charged.id, 2u);
  EXPECT_EQ(charged.kind, net::ResponseKind::kCommand);
  EXPECT_EQ(charged.code, ResultCode::kOk);
  EXPECT_EQ(charged.reply.balance, 500);
  const net::DecodedResponse balance = client.Command(3, MakeBalance(42));
  EXPECT_EQ(balance.id, 3u);
  EXPECT_EQ(balance.reply.balance, 500);
  // A business refusal is a result on the same connection.
  EXPECT_EQ(client.Command(4, MakeCharge(42, -1, 2)).code, ResultCode::kInvalidAmount);
  EXPECT_EQ(client.Command(5, MakeBalance(42)).reply.balance, 500);
}

TEST_F(ServerTest, PipelinedRequestsAreAllAnsweredWithTheirIds) {
  StartServer();
  TestClient client(server_->client_port());
  ASSERT_EQ(client.Hello().code, ResultCode::kOk);
  constexpr uint64_t kRequests = 200;
  std::vector<uint8_t> burst;
  for (uint64_t i = 0; i < kRequests; ++i) {
    // Users on both shards, so replies may come back out of order.
    net::AppendCommandRequest(1000 + i, MakeCharge(100 + i % 7, 1, 1 + i), &burst);
  }
  ASSERT_TRUE(client.Send(burst));
  std::set<uint64_t> ids;
  for (uint64_t i = 0; i < kRequests; ++i) {
    std::optional<net::DecodedResponse> response = client.Receive();
    ASSERT_TRUE(response.has_value()) << "after " << i << " responses";
    EXPECT_EQ(response->code, ResultCode::kOk);
    EXPECT_TRUE(ids.insert(response->id).second) << "id twice: " << response->id;
  }
  EXPECT_EQ(ids.size(), kRequests);
  EXPECT_EQ(*ids.begin(), 1000u);
  EXPECT_EQ(*ids.rbegin(), 1000 + kRequests - 1);
  Points total = 0;
  for (UserId user = 100; user < 107; ++user) {
    total += client.Command(5000 + user, MakeBalance(user)).reply.balance;
  }
  EXPECT_EQ(total, static_cast<Points>(kRequests));
}

TEST_F(ServerTest, AdminRequestsNeedTheAdminListener) {
  StartServer();
  TestClient client(server_->client_port());
  ASSERT_EQ(client.Hello().code, ResultCode::kOk);
  EXPECT_EQ(client.Command(2, MakeCreateConcert(kConcert, "Concert", 1)).code,
            ResultCode::kUnauthorized);
  std::vector<uint8_t> stats_request;
  net::AppendServerStatsRequest(3, &stats_request);
  EXPECT_EQ(client.Call(stats_request).code, ResultCode::kUnauthorized);
  // The connection stays.
  EXPECT_EQ(client.Command(4, MakeBalance(1)).code, ResultCode::kOk);

  TestClient admin(server_->admin_port());
  const net::DecodedResponse hello = admin.Hello();
  ASSERT_EQ(hello.code, ResultCode::kOk);
  EXPECT_TRUE(hello.hello.admin);
  EXPECT_EQ(admin.Command(2, MakeCreateConcert(kConcert, "Concert", 1)).code, ResultCode::kOk);
  EXPECT_EQ(admin.Command(3, MakeCreateSchedule(MakeScheduleConfig(kSchedule, 50), 2)).code,
            ResultCode::kOk);
  const net::DecodedResponse stats = admin.Call(stats_request);
  EXPECT_EQ(stats.code, ResultCode::kOk);
  EXPECT_EQ(stats.kind, net::ResponseKind::kStats);
  EXPECT_EQ(stats.stats.shards.size(), 2u);
  EXPECT_EQ(stats.stats.connections, 2u);

  // Reads run on the worker pool: the schedule list, and (admin, no token)
  // the seat map.
  std::vector<uint8_t> list_request;
  net::AppendListSchedulesRequest(4, kConcert, &list_request);
  const net::DecodedResponse list = client.Call(list_request);
  EXPECT_EQ(list.code, ResultCode::kOk);
  ASSERT_EQ(list.schedules.size(), 1u);
  EXPECT_EQ(list.schedules[0].config.schedule, kSchedule);
  EXPECT_EQ(list.schedules[0].seats_available, 50u);
  std::vector<uint8_t> seat_map_request;
  net::AppendSeatMapRequest(5, kSchedule, 0, QueueToken{}, &seat_map_request);
  const net::DecodedResponse seat_map = admin.Call(seat_map_request);
  EXPECT_EQ(seat_map.code, ResultCode::kOk);
  EXPECT_EQ(seat_map.seats.size(), 50u);
  // A client without a token is refused by the gate.
  seat_map_request.clear();
  net::AppendSeatMapRequest(6, kSchedule, 9, QueueToken{}, &seat_map_request);
  EXPECT_NE(client.Call(seat_map_request).code, ResultCode::kOk);
  // The ledger of a user.
  EXPECT_EQ(client.Command(7, MakeCharge(9, 30, 9)).code, ResultCode::kOk);
  std::vector<uint8_t> ledger_request;
  net::AppendLedgerRequest(8, 9, 0, 10, &ledger_request);
  const net::DecodedResponse ledger = client.Call(ledger_request);
  EXPECT_EQ(ledger.code, ResultCode::kOk);
  ASSERT_EQ(ledger.ledger.size(), 1u);
  EXPECT_EQ(ledger.ledger[0].amount, 30);
}

TEST_F(ServerTest, OversizedFrameIsMalformedAndCloses) {
  StartServer();
  TestClient client(server_->client_port());
  ASSERT_EQ(client.Hello().code, ResultCode::kOk);
  std::vector<uint8_t> header;
  net::AppendFrameHeader(net::kFrameBytesMaxDefault + 1, &header);
  ASSERT_TRUE(client.Send(header));
  std::optional<net::DecodedResponse> response = client.Receive();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->id, 0u);
  EXPECT_EQ(response->code, ResultCode::kMalformed);
  EXPECT_FALSE(response->message.empty());
  EXPECT_TRUE(client.ReceivesClose());
}

TEST_F(ServerTest, GarbageClosesOnlyItsOwnConnection) {
  StartServer();
  TestClient bystander(server_->client_port());
  ASSERT_EQ(bystander.Hello().code, ResultCode::kOk);
  ASSERT_EQ(bystander.Command(2, MakeCharge(5, 10, 1)).code, ResultCode::kOk);

  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  std::vector<uint8_t> garbage(200);
  for (uint8_t& byte : garbage) byte = static_cast<uint8_t>(random());
  // A root offset past the end: no Verifier accepts it, whatever follows.
  garbage[0] = garbage[1] = garbage[2] = 0xff;
  garbage[3] = 0x7f;
  TestClient client(server_->client_port());
  ASSERT_EQ(client.Hello().code, ResultCode::kOk);
  ASSERT_TRUE(client.Send(Frame(garbage)));
  std::optional<net::DecodedResponse> response = client.Receive();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->code, ResultCode::kMalformed);
  EXPECT_TRUE(client.ReceivesClose());

  EXPECT_EQ(bystander.Command(3, MakeCharge(5, 10, 2)).reply.balance, 20);
}

TEST_F(ServerTest, UnknownRequestTypeIsUnsupportedAndTheConnectionStays) {
  StartServer();
  TestClient client(server_->client_port());
  ASSERT_EQ(client.Hello().code, ResultCode::kOk);
  flatbuffers::FlatBufferBuilder builder;
  const auto body = wire::CreateBalance(builder, 1);
  builder.Finish(
      wire::CreateRequest(builder, 77, 0, static_cast<wire::RequestBody>(200), body.Union()));
  const std::vector<uint8_t> payload(builder.GetBufferPointer(),
                                     builder.GetBufferPointer() + builder.GetSize());
  const net::DecodedResponse response = client.Call(Frame(payload));
  EXPECT_EQ(response.id, 77u);
  EXPECT_EQ(response.code, ResultCode::kUnsupported);
  EXPECT_EQ(client.Command(78, MakeBalance(1)).code, ResultCode::kOk);
}

TEST_F(ServerTest, FirstRequestMustBeAHelloOfOurVersion) {
  StartServer();
  TestClient no_hello(server_->client_port());
  EXPECT_EQ(no_hello.Command(1, MakeBalance(1)).code, ResultCode::kUnauthorized);
  EXPECT_TRUE(no_hello.ReceivesClose());

  TestClient old_version(server_->client_port());
  EXPECT_EQ(old_version.Hello("", net::kProtocolVersion + 1).code, ResultCode::kUnsupported);
  EXPECT_TRUE(old_version.ReceivesClose());
}

TEST_F(ServerTest, ApiKeyIsEnforcedAndTheAdminKeyGivesAdminRights) {
  net::ServerOptions options;
  options.api_key = "client-secret-0123456789abcdef";
  options.admin_key = "admin-secret-0123456789abcdef";
  StartServer(options);

  TestClient missing(server_->client_port());
  EXPECT_EQ(missing.Hello().code, ResultCode::kUnauthorized);
  EXPECT_TRUE(missing.ReceivesClose());
  TestClient wrong(server_->client_port());
  EXPECT_EQ(wrong.Hello("client-secret-0123456789abcdeF").code, ResultCode::kUnauthorized);
  EXPECT_TRUE(wrong.ReceivesClose());

  TestClient client(server_->client_port());
  const net::DecodedResponse hello = client.Hello("client-secret-0123456789abcdef");
  EXPECT_EQ(hello.code, ResultCode::kOk);
  EXPECT_FALSE(hello.hello.admin);
  EXPECT_EQ(client.Command(2, MakeCreateConcert(kConcert, "Concert", 1)).code,
            ResultCode::kUnauthorized);

  TestClient admin_by_key(server_->client_port());
  const net::DecodedResponse admin_hello = admin_by_key.Hello("admin-secret-0123456789abcdef");
  EXPECT_EQ(admin_hello.code, ResultCode::kOk);
  EXPECT_TRUE(admin_hello.hello.admin);
  EXPECT_EQ(admin_by_key.Command(2, MakeCreateConcert(kConcert, "Concert", 1)).code,
            ResultCode::kOk);

  // With an admin key, the admin listener wants it too.
  TestClient admin_listener(server_->admin_port());
  EXPECT_EQ(admin_listener.Hello("client-secret-0123456789abcdef").code, ResultCode::kUnauthorized);
}

TEST_F(ServerTest, SilentConnectionIsClosedAfterTheIdleTimeout) {
  net::ServerOptions options;
  options.idle_timeout_ms = 50;
  StartServer(options);
  TestClient client(server_->client_port());
  ASSERT_EQ(client.Hello().code, ResultCode::kOk);
  // Blocks until the server closes it (the socket timeout is the guard).
  EXPECT_TRUE(client.ReceivesClose());
  EXPECT_EQ(server_->stats().connections_idle_closed, 1u);
}

TEST_F(ServerTest, ConnectionsPastTheLimitAreClosedAtOnce) {
  net::ServerOptions options;
  options.connections_max = 1;
  StartServer(options);
  TestClient first(server_->client_port());
  ASSERT_EQ(first.Hello().code, ResultCode::kOk);
  TestClient second(server_->client_port());
  EXPECT_TRUE(second.ReceivesClose());
  EXPECT_EQ(first.Command(2, MakeBalance(1)).code, ResultCode::kOk);
  EXPECT_EQ(server_->stats().connections_refused, 1u);
}

TEST_F(ServerTest, StopWithConnectionsOpenAnswersWhatIsInFlightAndCloses) {
  StartServer();
  TestClient idle(server_->client_port());
  ASSERT_TRUE(idle.connected());
  TestClient busy(server_->client_port());
  ASSERT_EQ(busy.Hello().code, ResultCode::kOk);
  std::vector<uint8_t> burst;
  for (uint64_t i = 0; i < 100; ++i) {
    net::AppendCommandRequest(10 + i, MakeCharge(3, 1, 1 + i), &burst);
  }
  ASSERT_TRUE(busy.Send(burst));
  // The first answer shows the burst has reached the server.
  ASSERT_TRUE(busy.Receive().has_value());
  server_->Stop();
  // Whatever was taken has been answered before the close.
  int answered = 1;
  while (busy.Receive().has_value()) ++answered;
  EXPECT_GE(answered, 1);
  EXPECT_LE(answered, 100);
  EXPECT_TRUE(idle.ReceivesClose());
  server_->Stop();  // Idempotent.
  EXPECT_EQ(server_->stats().connections_open, 0u);
}

TEST_F(ServerTest, RefusesBadOptionsAndABusyPort) {
  EngineOptions engine_options;
  engine_options.journal = &journal_;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(engine_options);
  ASSERT_TRUE(engine.ok());
  engine_ = *std::move(engine);
  net::ServerOptions options;
  options.client_listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.io_threads = 0;
  absl::StatusOr<std::unique_ptr<net::Server>> bad = net::Server::Start(options, engine_.get());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("io_threads"), std::string::npos);
  options.io_threads = 1;
  options.client_listen = "localhost-ish";
  EXPECT_EQ(net::Server::Start(options, engine_.get()).status().code(),
            absl::StatusCode::kInvalidArgument);

  options.client_listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<net::Server>> first = net::Server::Start(options, engine_.get());
  ASSERT_TRUE(first.ok()) << first.status();
  options.client_listen = "127.0.0.1:" + std::to_string((*first)->client_port());
  absl::StatusOr<std::unique_ptr<net::Server>> second = net::Server::Start(options, engine_.get());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  (*first)->Stop();
}

}  // namespace
}  // namespace encore::testing
