// Security over the real TCP protocol: the server on loopback with an API key
// and an admin key, users on the client port through the client library (or
// a raw socket for what the library would not send).
//
// - Another user's queue token is refused with TOKEN_WRONG_USER everywhere a
//   token is taken, and the owner's token keeps working.
// - Another user's hold can be neither released nor paid; nothing changes.
// - A release proves the holder: with no proof, another user's token, or an
//   altered or another hold's proof it is refused and changes nothing; the
//   holder's token or the hold's proof (from HOLD_SEATS' reply) releases.
// - Random, forged and bit-flipped tokens are never accepted (seeded; replay
//   with ENCORE_SECURITY_SEED=<seed>).
// - Admin requests on the client port without the admin key are UNAUTHORIZED
//   and create or change nothing.
// - The per-user seat limit holds across several holds, connections and a
//   payment.
// - A wrong or missing API key gets UNAUTHORIZED and the connection is closed
//   without running what was pipelined behind it; the right key works.
//
// The engine's own gate and ownership checks are tested on a Core in
// tests/engine/{gate,seats,payment}_test.cc; these show the server passes
// every request through them and adds no way around them.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "encore/clock.h"
#include "encore/commands.h"
#include "encore/net/client.h"
#include "encore/net/protocol.h"
#include "encore/net/server.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/loopback_server.h"
#include "support/raw_connection.h"

namespace encore::testing {
namespace {

constexpr char kApiKey[] = "client-secret-7f3a9c2e";
constexpr char kAdminKey[] = "admin-secret-41d8b6e0";
constexpr UserId kAlice = 1001;
constexpr UserId kBob = 1002;
constexpr ScheduleId kOtherSchedule = kSchedule + 1;
constexpr uint32_t kSeats = 100;

net::DecodedResponse Must(absl::StatusOr<net::DecodedResponse> response) {
  EXPECT_TRUE(response.ok()) << response.status();
  if (response.ok()) return *std::move(response);
  net::DecodedResponse failed;
  failed.code = ResultCode::kUnavailable;
  return failed;
}

bool IsTokenRefusal(ResultCode code) {
  return code == ResultCode::kTokenInvalid || code == ResultCode::kTokenWrongSchedule ||
         code == ResultCode::kTokenWrongUser || code == ResultCode::kTokenNotActive ||
         code == ResultCode::kTokenExpired;
}

class SecurityTest : public ::testing::Test {
 protected:
  SecurityTest() : server_(nullptr, 2, KeyedOptions()) {}

  static net::ServerOptions KeyedOptions() {
    net::ServerOptions options;
    options.api_key = kApiKey;
    options.admin_key = kAdminKey;
    return options;
  }

  void SetUp() override {
    admin_ = Connect(server_.admin_port(), kAdminKey);
    ASSERT_NE(admin_, nullptr);
    ASSERT_EQ(Must(admin_->Call(MakeCreateConcert(kConcert, "Security", NextKey()))).code,
              ResultCode::kOk);
    for (ScheduleId schedule : {kSchedule, kOtherSchedule}) {
      ASSERT_EQ(Must(admin_->Call(MakeCreateSchedule(OpenSchedule(schedule), NextKey()))).code,
                ResultCode::kOk);
    }
    alice_ = Connect(server_.client_port(), kApiKey);
    bob_ = Connect(server_.client_port(), kApiKey);
    ASSERT_NE(alice_, nullptr);
    ASSERT_NE(bob_, nullptr);
    alice_token_ = Enter(*alice_, kAlice, kSchedule);
    bob_token_ = Enter(*bob_, kBob, kSchedule);
  }

  // On sale now, no admission limit (an entrant is ACTIVE at once), at most
  // 4 seats per user.
  static ScheduleConfig OpenSchedule(ScheduleId schedule) {
    return OnSaleNowConfig(schedule, kSeats);
  }

  static std::unique_ptr<net::Client> Connect(uint16_t port, const std::string& key) {
    net::ClientOptions options;
    options.port = port;
    options.api_key = key;
    absl::StatusOr<std::unique_ptr<net::Client>> client = net::Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  QueueToken Enter(net::Client& client, UserId user, ScheduleId schedule) {
    const net::DecodedResponse entered =
        Must(client.Call(MakeEnterQueue(schedule, user, NextKey())));
    EXPECT_EQ(entered.code, ResultCode::kOk);
    EXPECT_EQ(entered.reply.queue_state, QueueState::kActive);
    return entered.reply.token;
  }

  ResultCode Hold(net::Client& client, UserId user, const QueueToken& token,
                  std::vector<SeatIndex> seats, HoldId* hold = nullptr) {
    const net::DecodedResponse held =
        Must(client.Call(MakeHoldSeats(kSchedule, user, token, seats, NextKey())));
    if (hold != nullptr) *hold = held.reply.hold;
    return held.code;
  }

  // The seat map as the admin sees it (no token needed on the admin port).
  std::vector<SeatState> Seats() {
    const net::DecodedResponse map = Must(admin_->SeatMap(kSchedule, 0, QueueToken{}));
    EXPECT_EQ(map.code, ResultCode::kOk);
    return map.seats;
  }

  uint32_t SeatsIn(SeatState state) {
    uint32_t count = 0;
    for (SeatState seat : Seats()) count += seat == state ? 1 : 0;
    return count;
  }

  Points Balance(UserId user) {
    const net::DecodedResponse balance = Must(admin_->Call(MakeBalance(user)));
    EXPECT_EQ(balance.code, ResultCode::kOk);
    return balance.reply.balance;
  }

  void ExpectInvariants() {
    for (uint32_t shard = 0; shard < server_.engine().shard_count(); ++shard) {
      server_.engine().Inspect(shard, [&](const Core& core) {
        const absl::Status status = core.CheckInvariants();
        EXPECT_TRUE(status.ok()) << "shard " << shard << ": " << status;
      });
    }
  }

  RequestKey NextKey() { return ++last_key_; }

  LoopbackServer server_;
  std::unique_ptr<net::Client> admin_;
  std::unique_ptr<net::Client> alice_;
  std::unique_ptr<net::Client> bob_;
  QueueToken alice_token_;
  QueueToken bob_token_;
  RequestKey last_key_ = 0;
};

TEST_F(SecurityTest, AnotherUsersQueueTokenIsWrongUserEverywhere) {
  HoldId alice_hold = 0;
  ASSERT_EQ(Hold(*alice_, kAlice, alice_token_, {0}, &alice_hold), ResultCode::kOk);

  // Bob presents Alice's token: status, hold, pay, leave and the seat map.
  EXPECT_EQ(Must(bob_->Call(MakeQueueStatus(kSchedule, kBob, alice_token_))).code,
            ResultCode::kTokenWrongUser);
  EXPECT_EQ(Hold(*bob_, kBob, alice_token_, {1}), ResultCode::kTokenWrongUser);
  EXPECT_EQ(Must(bob_->Call(MakePay(kSchedule, kBob, alice_token_, alice_hold, NextKey()))).code,
            ResultCode::kTokenWrongUser);
  EXPECT_EQ(Must(bob_->Call(MakeLeaveQueue(kSchedule, kBob, alice_token_, NextKey()))).code,
            ResultCode::kTokenWrongUser);
  EXPECT_EQ(Must(bob_->SeatMap(kSchedule, kBob, alice_token_)).code, ResultCode::kTokenWrongUser);
  // Alice's own token on another schedule: WRONG_SCHEDULE when that schedule
  // lives on the same shard, INVALID when on another (whose key did not make
  // the token); here they are on different shards.
  const ResultCode elsewhere =
      Must(alice_->Call(MakeHoldSeats(kOtherSchedule, kAlice, alice_token_,
                                      std::vector<SeatIndex>{1}, NextKey())))
          .code;
  EXPECT_EQ(elsewhere, ShardOfSchedule(kOtherSchedule, 2) == ShardOfSchedule(kSchedule, 2)
                           ? ResultCode::kTokenWrongSchedule
                           : ResultCode::kTokenInvalid);

  // None of it touched Alice's entry or took a seat.
  const net::DecodedResponse status =
      Must(alice_->Call(MakeQueueStatus(kSchedule, kAlice, alice_token_)));
  EXPECT_EQ(status.code, ResultCode::kOk);
  EXPECT_EQ(status.reply.queue_state, QueueState::kActive);
  EXPECT_EQ(SeatsIn(SeatState::kHeld), 1u);
  EXPECT_EQ(Hold(*alice_, kAlice, alice_token_, {1}), ResultCode::kOk);
  ExpectInvariants();
}

TEST_F(SecurityTest, AnotherUsersHoldCanBeNeitherReleasedNorPaid) {
  ASSERT_EQ(Must(alice_->Call(MakeCharge(kAlice, 100'000, NextKey()))).code, ResultCode::kOk);
  ASSERT_EQ(Must(bob_->Call(MakeCharge(kBob, 100'000, NextKey()))).code, ResultCode::kOk);
  HoldId alice_hold = 0;
  ASSERT_EQ(Hold(*alice_, kAlice, alice_token_, {0, 1}, &alice_hold), ResultCode::kOk);

  EXPECT_EQ(
      Must(bob_->Call(MakeReleaseHold(kSchedule, kBob, bob_token_, alice_hold, NextKey()))).code,
      ResultCode::kHoldNotOwned);
  EXPECT_EQ(Must(bob_->Call(MakePay(kSchedule, kBob, bob_token_, alice_hold, NextKey()))).code,
            ResultCode::kHoldNotOwned);
  // Guessing hold ids near it is no better.
  for (HoldId guess = alice_hold > 5 ? alice_hold - 5 : 1; guess < alice_hold + 5; ++guess) {
    const ResultCode paid =
        Must(bob_->Call(MakePay(kSchedule, kBob, bob_token_, guess, NextKey()))).code;
    EXPECT_TRUE(paid == ResultCode::kHoldNotOwned || paid == ResultCode::kHoldNotFound)
        << "hold " << guess << ": " << ResultCodeName(paid);
  }

  // Nothing changed: the seats are still Alice's, Bob paid nothing.
  const std::vector<SeatState> seats = Seats();
  ASSERT_EQ(seats.size(), kSeats);
  EXPECT_EQ(seats[0], SeatState::kHeld);
  EXPECT_EQ(seats[1], SeatState::kHeld);
  EXPECT_EQ(SeatsIn(SeatState::kSold), 0u);
  EXPECT_EQ(Balance(kBob), 100'000);
  EXPECT_EQ(Must(admin_->Ledger(kBob, 0, 10)).ledger.size(), 1u);  // The charge only.
  // Alice still can pay her own hold.
  const net::DecodedResponse paid =
      Must(alice_->Call(MakePay(kSchedule, kAlice, alice_token_, alice_hold, NextKey())));
  EXPECT_EQ(paid.code, ResultCode::kOk);
  EXPECT_EQ(Balance(kAlice), 100'000 - paid.reply.amount);
  EXPECT_EQ(SeatsIn(SeatState::kSold), 2u);
  ExpectInvariants();
}

TEST_F(SecurityTest, AReleaseMustProveTheHolder) {
  const net::DecodedResponse held = Must(alice_->Call(
      MakeHoldSeats(kSchedule, kAlice, alice_token_, std::vector<SeatIndex>{7, 8}, NextKey())));
  ASSERT_EQ(held.code, ResultCode::kOk);
  const HoldId hold = held.reply.hold;
  const HoldProof proof = held.reply.hold_proof;
  ASSERT_NE(proof, 0u);
  HoldId bobs_hold = 0;
  ASSERT_EQ(Hold(*bob_, kBob, bob_token_, {9}, &bobs_hold), ResultCode::kOk);

  // Anyone with the API key may name Alice; without her proof it is refused.
  const auto release = [&](const Command& command) { return Must(bob_->Call(command)).code; };
  EXPECT_EQ(release(MakeReleaseHold(kSchedule, kAlice, QueueToken{}, hold, NextKey())),
            ResultCode::kTokenInvalid);
  EXPECT_EQ(release(MakeReleaseHold(kSchedule, kAlice, bob_token_, hold, NextKey())),
            ResultCode::kTokenWrongUser);
  EXPECT_EQ(release(MakeReleaseHold(kSchedule, kBob, bob_token_, hold, NextKey())),
            ResultCode::kHoldNotOwned);
  for (int bit : {0, 17, 63}) {
    EXPECT_EQ(release(MakeReleaseHoldWithProof(kSchedule, kAlice, hold, proof ^ (1ULL << bit),
                                               NextKey())),
              ResultCode::kHoldProofInvalid)
        << bit;
  }
  EXPECT_EQ(release(MakeReleaseHoldWithProof(kSchedule, kBob, hold, proof, NextKey())),
            ResultCode::kHoldProofInvalid);
  // Sequential hold ids: Alice's proof does not open the hold next to hers.
  EXPECT_EQ(release(MakeReleaseHoldWithProof(kSchedule, kBob, bobs_hold, proof, NextKey())),
            ResultCode::kHoldProofInvalid);
  EXPECT_EQ(Seats()[7], SeatState::kHeld);
  EXPECT_EQ(Seats()[8], SeatState::kHeld);
  EXPECT_EQ(Seats()[9], SeatState::kHeld);

  // The proof travels: whoever got it from the hold's reply releases.
  EXPECT_EQ(release(MakeReleaseHoldWithProof(kSchedule, kAlice, hold, proof, NextKey())),
            ResultCode::kOk);
  EXPECT_EQ(Seats()[7], SeatState::kAvailable);
  EXPECT_EQ(
      Must(bob_->Call(MakeReleaseHold(kSchedule, kBob, bob_token_, bobs_hold, NextKey()))).code,
      ResultCode::kOk);
  EXPECT_EQ(SeatsIn(SeatState::kHeld), 0u);
  ExpectInvariants();
}

uint64_t SeedFromEnvironment() {
  if (const char* text = std::getenv("ENCORE_SECURITY_SEED"))
    return std::strtoull(text, nullptr, 0);
  return std::random_device{}();
}

TEST_F(SecurityTest, RandomForgedAndBitFlippedTokensAreNeverAccepted) {
  const uint64_t seed = SeedFromEnvironment();
  std::printf("[ seed     ] ENCORE_SECURITY_SEED=%llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE(::testing::Message() << "ENCORE_SECURITY_SEED=" << seed);
  std::mt19937_64 random(seed);

  std::vector<QueueToken> forged;
  for (int i = 0; i < 500; ++i) forged.push_back(QueueToken{random(), random()});
  for (int i = 0; i < 500; ++i) {
    // A real locator (Alice's or Bob's) with a guessed MAC.
    forged.push_back(QueueToken{(i % 2 == 0 ? alice_token_ : bob_token_).locator, random()});
  }
  for (int bit = 0; bit < 128; ++bit) {
    QueueToken flipped = alice_token_;
    uint64_t& half = bit < 64 ? flipped.locator : flipped.mac;
    half ^= uint64_t{1} << (bit % 64);
    forged.push_back(flipped);
  }
  forged.push_back(QueueToken{});
  forged.push_back(QueueToken{alice_token_.mac, alice_token_.locator});

  uint32_t refused = 0;
  for (const QueueToken& token : forged) {
    if (token == alice_token_ || token == bob_token_) continue;  // 2^-128: not a forgery.
    SCOPED_TRACE(::testing::Message() << "token " << token.locator << ":" << token.mac);
    const ResultCode held =
        Hold(*alice_, kAlice, token, {static_cast<SeatIndex>(refused % kSeats)});
    const ResultCode status = Must(alice_->Call(MakeQueueStatus(kSchedule, kAlice, token))).code;
    const ResultCode map = Must(alice_->SeatMap(kSchedule, kAlice, token)).code;
    EXPECT_TRUE(IsTokenRefusal(held)) << ResultCodeName(held);
    EXPECT_TRUE(IsTokenRefusal(status)) << ResultCodeName(status);
    EXPECT_TRUE(IsTokenRefusal(map)) << ResultCodeName(map);
    refused += IsTokenRefusal(held) && IsTokenRefusal(status) && IsTokenRefusal(map) ? 1 : 0;
  }
  EXPECT_EQ(refused, forged.size());
  std::printf("[ figures  ] %u forged tokens, each refused for hold, status and seat map\n",
              refused);
  EXPECT_EQ(SeatsIn(SeatState::kAvailable), kSeats);
  ExpectInvariants();
}

TEST_F(SecurityTest, AdminRequestsOnTheClientPortAreUnauthorizedAndChangeNothing) {
  // The client key gives no admin rights.
  EXPECT_FALSE(alice_->hello().admin);
  constexpr ConcertId kNewConcert = kConcert + 1;
  constexpr ScheduleId kNewSchedule = kSchedule + 10;
  ScheduleConfig new_schedule = OpenSchedule(kNewSchedule);
  AdmissionPolicy closed_door;
  closed_door.active_max = 1;
  for (net::Client* client : {alice_.get(), bob_.get()}) {
    EXPECT_EQ(Must(client->Call(MakeCreateConcert(kNewConcert, "Mine", NextKey()))).code,
              ResultCode::kUnauthorized);
    EXPECT_EQ(Must(client->Call(MakeCreateSchedule(new_schedule, NextKey()))).code,
              ResultCode::kUnauthorized);
    EXPECT_EQ(Must(client->Call(MakeSetAdmissionPolicy(kSchedule, closed_door, NextKey()))).code,
              ResultCode::kUnauthorized);
    EXPECT_EQ(Must(client->ServerStats()).code, ResultCode::kUnauthorized);
    // A seat map without a token is for the admin only.
    EXPECT_NE(Must(client->SeatMap(kSchedule, kAlice, QueueToken{})).code, ResultCode::kOk);
    // The connection stays, for what it may do.
    EXPECT_EQ(Must(client->Call(MakeBalance(kAlice))).code, ResultCode::kOk);
  }

  // Nothing was created or changed.
  EXPECT_EQ(Must(admin_->ListSchedules(kNewConcert)).code, ResultCode::kConcertNotFound);
  const net::DecodedResponse list = Must(admin_->ListSchedules(kConcert));
  ASSERT_EQ(list.code, ResultCode::kOk);
  ASSERT_EQ(list.schedules.size(), 2u);
  for (const ScheduleInfo& info : list.schedules) {
    EXPECT_NE(info.config.schedule, kNewSchedule);
    EXPECT_EQ(info.config.policy.active_max, 0u);
  }
  // Admission is still open to all: a third user is ACTIVE at once.
  EXPECT_EQ(Must(bob_->Call(MakeEnterQueue(kSchedule, 1003, NextKey()))).reply.queue_state,
            QueueState::kActive);
  // The admin key on the client port does give admin rights.
  std::unique_ptr<net::Client> admin_by_key = Connect(server_.client_port(), kAdminKey);
  ASSERT_NE(admin_by_key, nullptr);
  EXPECT_TRUE(admin_by_key->hello().admin);
  EXPECT_EQ(Must(admin_by_key->ServerStats()).code, ResultCode::kOk);
}

TEST_F(SecurityTest, PerUserSeatLimitHoldsAcrossHoldsConnectionsAndPayment) {
  // The schedule allows 4 seats per user.
  ASSERT_EQ(Must(alice_->Call(MakeCharge(kAlice, 1'000'000, NextKey()))).code, ResultCode::kOk);
  EXPECT_EQ(Hold(*alice_, kAlice, alice_token_, {0, 1, 2, 3, 4}), ResultCode::kSeatLimitExceeded);
  HoldId first = 0;
  HoldId second = 0;
  EXPECT_EQ(Hold(*alice_, kAlice, alice_token_, {0, 1}, &first), ResultCode::kOk);
  EXPECT_EQ(Hold(*alice_, kAlice, alice_token_, {2}, &second), ResultCode::kOk);
  EXPECT_EQ(Hold(*alice_, kAlice, alice_token_, {3, 4}), ResultCode::kSeatLimitExceeded);
  // A second connection of the same user counts against the same limit.
  std::unique_ptr<net::Client> alice_again = Connect(server_.client_port(), kApiKey);
  ASSERT_NE(alice_again, nullptr);
  EXPECT_EQ(Hold(*alice_again, kAlice, alice_token_, {3}), ResultCode::kOk);
  EXPECT_EQ(Hold(*alice_again, kAlice, alice_token_, {5}), ResultCode::kSeatLimitExceeded);
  // Sold seats count too.
  ASSERT_EQ(Must(alice_->Call(MakePay(kSchedule, kAlice, alice_token_, first, NextKey()))).code,
            ResultCode::kOk);
  EXPECT_EQ(SeatsIn(SeatState::kSold), 2u);
  // A new token (the paid one is DONE) does not reset the count.
  const QueueToken again = Enter(*alice_, kAlice, kSchedule);
  EXPECT_EQ(Hold(*alice_, kAlice, again, {6}), ResultCode::kSeatLimitExceeded);
  // Releasing a hold makes room for exactly its seats.
  // (The first token is DONE: the new one proves Alice.)
  ASSERT_EQ(Must(alice_->Call(MakeReleaseHold(kSchedule, kAlice, again, second, NextKey()))).code,
            ResultCode::kOk);
  EXPECT_EQ(Hold(*alice_, kAlice, again, {6}), ResultCode::kOk);
  EXPECT_EQ(Hold(*alice_, kAlice, again, {7}), ResultCode::kSeatLimitExceeded);
  EXPECT_EQ(SeatsIn(SeatState::kSold) + SeatsIn(SeatState::kHeld), 4u);
  // Another user is not affected by Alice's count.
  EXPECT_EQ(Hold(*bob_, kBob, bob_token_, {10, 11, 12, 13}), ResultCode::kOk);
  ExpectInvariants();
}

TEST_F(SecurityTest, WrongOrMissingApiKeyIsUnauthorizedClosedAndRunsNothing) {
  constexpr UserId kVictim = 4242;
  for (const std::string& key :
       {std::string(), std::string("client-secret-7f3a9c2E"),
        std::string("client-secret-7f3a9c2e "), std::string("client-secret-"),
        std::string("admin-secret-41d8b6e0-"), std::string(net::kNameBytesMax, 'x')}) {
    SCOPED_TRACE("key \"" + key + "\"");
    RawConnection raw(server_.client_port());
    ASSERT_TRUE(raw.connected());
    // The Hello and a charge behind it in one write.
    std::vector<uint8_t> frames;
    net::AppendHelloRequest(1, net::HelloRequest{net::kProtocolVersion, "intruder", key}, &frames);
    net::AppendCommandRequest(2, MakeCharge(kVictim, 500, NextKey()), &frames);
    ASSERT_TRUE(raw.Send(frames));
    const std::optional<net::DecodedResponse> refused = raw.Receive();
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->code, ResultCode::kUnauthorized);
    EXPECT_TRUE(raw.ReceivesClose());
  }
  // A command as the first frame, with no Hello at all.
  {
    RawConnection raw(server_.client_port());
    EXPECT_EQ(raw.Command(7, MakeCharge(kVictim, 500, NextKey())).code, ResultCode::kUnauthorized);
    EXPECT_TRUE(raw.ReceivesClose());
  }
  // The admin port wants the admin key, not the client key.
  {
    RawConnection raw(server_.admin_port());
    EXPECT_EQ(raw.Hello(kApiKey).code, ResultCode::kUnauthorized);
    EXPECT_TRUE(raw.ReceivesClose());
  }
  // The client library reports the refusal as PermissionDenied.
  net::ClientOptions options;
  options.port = server_.client_port();
  options.api_key = "guess";
  EXPECT_EQ(net::Client::Connect(options).status().code(), absl::StatusCode::kPermissionDenied);

  EXPECT_EQ(Balance(kVictim), 0);
  EXPECT_EQ(Must(admin_->Ledger(kVictim, 0, 10)).ledger.size(), 0u);
  // The right key works.
  RawConnection good(server_.client_port());
  const net::DecodedResponse hello = good.Hello(kApiKey);
  EXPECT_EQ(hello.code, ResultCode::kOk);
  EXPECT_EQ(hello.kind, net::ResponseKind::kHello);
  EXPECT_EQ(good.Command(2, MakeCharge(kVictim, 500, NextKey())).code, ResultCode::kOk);
  EXPECT_EQ(Balance(kVictim), 500);
}

}  // namespace
}  // namespace encore::testing
