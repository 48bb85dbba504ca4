// The wire codec: every command survives a round trip through a Request frame;
// a buffer that fails the Verifier is MALFORMED; an unknown body is
// UNSUPPORTED (and its id is still read); fields no command can hold are
// INVALID_ARGUMENT; framing cuts a stream into frames and refuses oversize.
#include "encore/net/protocol.h"

#include <cstring>
#include <random>

#include "encore/commands.h"
#include "encore_generated.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

// The payload of the single frame in `frame`.
std::span<const uint8_t> Payload(const std::vector<uint8_t>& frame) {
  net::FrameReader reader;
  reader.Feed(frame);
  static std::vector<uint8_t> copy;
  std::span<const uint8_t> payload;
  EXPECT_EQ(reader.NextFrame(&payload), net::FrameReader::Next::kFrame);
  copy.assign(payload.begin(), payload.end());
  return copy;
}

void ExpectSameCommand(const Command& a, const Command& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.request_key, b.request_key);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.hold, b.hold);
  EXPECT_EQ(a.amount, b.amount);
  EXPECT_EQ(a.token, b.token);
  EXPECT_EQ(a.hold_proof, b.hold_proof);
  EXPECT_EQ(a.seat_count, b.seat_count);
  EXPECT_EQ(std::memcmp(a.seats.data(), b.seats.data(), sizeof(a.seats)), 0);
}

TEST(ProtocolTest, EveryCommandRoundTrips) {
  const QueueToken token{0x1122334455667788ULL, 0x99aabbccddeeff00ULL};
  const SeatIndex seats[] = {3, 9, 27};
  ScheduleConfig config = MakeScheduleConfig(kSchedule, 500);
  config.policy = AdmissionPolicy{10, 5, 1000};
  const std::vector<Command> commands = {
      MakeCreateConcert(kConcert, "Night of Tests", 1),
      MakeCreateSchedule(config, 2),
      MakeSetAdmissionPolicy(kSchedule, AdmissionPolicy{3, 0, 0}, 3),
      MakeEnterQueue(kSchedule, 42, 4),
      MakeQueueStatus(kSchedule, 42, token),
      MakeLeaveQueue(kSchedule, 42, token, 5),
      MakeHoldSeats(kSchedule, 42, token, seats, 6),
      MakeReleaseHold(kSchedule, 42, token, 77, 7),
      MakeReleaseHoldWithProof(kSchedule, 42, 77, 0x0123'4567'89ab'cdef, 10),
      MakePay(kSchedule, 42, token, 77, 8),
      MakeCharge(42, -5, 9),  // Bad values travel as they are: the engine answers.
      MakeBalance(42),
  };
  for (const Command& command : commands) {
    std::vector<uint8_t> frame;
    net::AppendCommandRequest(1000 + static_cast<uint64_t>(command.type), command, &frame);
    const net::DecodeResult decoded = net::DecodeRequest(Payload(frame));
    ASSERT_EQ(decoded.code, ResultCode::kOk) << decoded.message;
    EXPECT_EQ(decoded.request.id, 1000 + static_cast<uint64_t>(command.type));
    EXPECT_EQ(decoded.request.kind, net::RequestKind::kCommand);
    ExpectSameCommand(decoded.request.command, command);
    const bool admin = command.type == CommandType::kCreateConcert ||
                       command.type == CommandType::kCreateSchedule ||
                       command.type == CommandType::kSetAdmissionPolicy;
    EXPECT_EQ(decoded.request.admin, admin);
  }
  // The schedule config in full, and the title.
  std::vector<uint8_t> frame;
  net::AppendCommandRequest(1, MakeCreateSchedule(config, 2), &frame);
  const net::DecodeResult schedule = net::DecodeRequest(Payload(frame));
  EXPECT_EQ(std::memcmp(&schedule.request.command.schedule_config, &config, sizeof(config)), 0);
  frame.clear();
  net::AppendCommandRequest(1, MakeCreateConcert(kConcert, "Night of Tests", 1), &frame);
  EXPECT_STREQ(net::DecodeRequest(Payload(frame)).request.command.title.data(), "Night of Tests");
}

TEST(ProtocolTest, RepliesRoundTrip) {
  Reply reply = MakeReply(CommandType::kHoldSeats, ResultCode::kSeatUnavailable);
  reply.hold = 5;
  reply.hold_deadline_ms = 123456;
  reply.amount = 9000;
  reply.token = QueueToken{7, 8};
  reply.position = 17;
  reply.eta_ms = 4000;
  reply.queue_state = QueueState::kWaiting;
  std::vector<uint8_t> frame;
  net::AppendCommandResponse(99, reply, &frame);
  absl::StatusOr<net::DecodedResponse> decoded = net::DecodeResponse(Payload(frame));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->id, 99u);
  EXPECT_EQ(decoded->code, ResultCode::kSeatUnavailable);
  EXPECT_EQ(decoded->kind, net::ResponseKind::kCommand);
  EXPECT_EQ(decoded->reply.hold, 5u);
  EXPECT_EQ(decoded->reply.hold_deadline_ms, 123456);
  EXPECT_EQ(decoded->reply.amount, 9000);
  EXPECT_EQ(decoded->reply.token, (QueueToken{7, 8}));
  EXPECT_EQ(decoded->reply.position, 17u);
  EXPECT_EQ(decoded->reply.eta_ms, 4000);
  EXPECT_EQ(decoded->reply.queue_state, QueueState::kWaiting);

  frame.clear();
  const std::vector<SeatState> seats = {SeatState::kAvailable, SeatState::kHeld, SeatState::kSold};
  net::AppendSeatMapResponse(3, kSchedule, seats, &frame);
  decoded = net::DecodeResponse(Payload(frame));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->seats, seats);

  frame.clear();
  net::AppendErrorResponse(4, ResultCode::kMalformed, "bad frame", &frame);
  decoded = net::DecodeResponse(Payload(frame));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->code, ResultCode::kMalformed);
  EXPECT_EQ(decoded->message, "bad frame");
  EXPECT_EQ(decoded->kind, net::ResponseKind::kNone);
}

TEST(ProtocolTest, GarbageIsMalformed) {
  const uint64_t seed = 77;
  std::mt19937_64 random(seed);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> garbage(random() % 200);
    for (uint8_t& byte : garbage) byte = static_cast<uint8_t>(random());
    const net::DecodeResult decoded = net::DecodeRequest(garbage);
    // Random bytes are (almost surely) not a Request; when they happen to
    // verify, they decode to something the engine can judge. Never a crash.
    if (decoded.code != ResultCode::kOk) {
      EXPECT_TRUE(decoded.code == ResultCode::kMalformed ||
                  decoded.code == ResultCode::kUnsupported ||
                  decoded.code == ResultCode::kInvalidArgument)
          << "seed " << seed << " trial " << trial;
    }
  }
  EXPECT_EQ(net::DecodeRequest({}).code, ResultCode::kMalformed);
}

TEST(ProtocolTest, ValidBufferOfTheWrongTypeIsMalformedOrUnsupported) {
  // A Response buffer sent as a request: it verifies as a Request only by
  // accident of layout; either way it is refused, never obeyed.
  std::vector<uint8_t> frame;
  net::AppendErrorResponse(5, ResultCode::kOk, "not a request", &frame);
  const net::DecodeResult decoded = net::DecodeRequest(Payload(frame));
  EXPECT_NE(decoded.code, ResultCode::kOk);
}

TEST(ProtocolTest, UnknownBodyIsUnsupportedWithItsId) {
  flatbuffers::FlatBufferBuilder builder;
  const auto body = wire::CreateBalance(builder, 1);
  // A union member from a future version: type 200.
  builder.Finish(
      wire::CreateRequest(builder, 31337, 0, static_cast<wire::RequestBody>(200), body.Union()));
  const net::DecodeResult decoded =
      net::DecodeRequest(std::span<const uint8_t>(builder.GetBufferPointer(), builder.GetSize()));
  EXPECT_EQ(decoded.code, ResultCode::kUnsupported);
  EXPECT_EQ(decoded.request.id, 31337u);
}

TEST(ProtocolTest, BodyTypeWithoutBodyIsMalformed) {
  flatbuffers::FlatBufferBuilder builder;
  wire::RequestBuilder request(builder);
  request.add_id(8);
  request.add_body_type(wire::RequestBody::Hello);  // And no body.
  builder.Finish(request.Finish());
  const net::DecodeResult decoded =
      net::DecodeRequest(std::span<const uint8_t>(builder.GetBufferPointer(), builder.GetSize()));
  EXPECT_EQ(decoded.code, ResultCode::kMalformed);
  EXPECT_EQ(decoded.request.id, 8u);
}

TEST(ProtocolTest, FieldsNoCommandCanHoldAreInvalid) {
  flatbuffers::FlatBufferBuilder builder;
  const auto title = builder.CreateString(std::string(48, 'x'));
  builder.Finish(wire::CreateRequest(builder, 1, 1, wire::RequestBody::CreateConcert,
                                     wire::CreateCreateConcert(builder, 7, title).Union()));
  EXPECT_EQ(
      net::DecodeRequest(std::span<const uint8_t>(builder.GetBufferPointer(), builder.GetSize()))
          .code,
      ResultCode::kInvalidArgument);
  // A NUL inside a title (found by the frame_decoder fuzz target): the engine
  // keeps titles NUL-terminated, so "\0abc" or "ab\0c" would not survive.
  for (const std::string& text : {std::string("\0abc", 4), std::string("ab\0c", 4)}) {
    flatbuffers::FlatBufferBuilder with_nul;
    const auto bad = with_nul.CreateString(text);
    with_nul.Finish(wire::CreateRequest(with_nul, 1, 1, wire::RequestBody::CreateConcert,
                                        wire::CreateCreateConcert(with_nul, 7, bad).Union()));
    EXPECT_EQ(net::DecodeRequest(
                  std::span<const uint8_t>(with_nul.GetBufferPointer(), with_nul.GetSize()))
                  .code,
              ResultCode::kInvalidArgument);
  }
  // More than 8 seats: the engine answers INVALID_SEAT_COUNT.
  std::vector<uint8_t> frame;
  Command hold = MakeHoldSeats(kSchedule, 1, QueueToken{}, {}, 1);
  hold.seat_count = 9;
  net::AppendCommandRequest(1, hold, &frame);
  EXPECT_EQ(net::DecodeRequest(Payload(frame)).request.command.seat_count, 8);
}

TEST(ProtocolTest, FrameReaderCutsAStreamAndRefusesOversize) {
  std::vector<uint8_t> stream;
  for (uint64_t id = 1; id <= 5; ++id) net::AppendCommandRequest(id, MakeBalance(id), &stream);
  net::FrameReader reader;
  uint64_t next_id = 1;
  // Feed one byte at a time: frames come out whole, in order.
  for (uint8_t byte : stream) {
    reader.Feed(std::span<const uint8_t>(&byte, 1));
    std::span<const uint8_t> payload;
    while (reader.NextFrame(&payload) == net::FrameReader::Next::kFrame) {
      EXPECT_EQ(net::DecodeRequest(payload).request.id, next_id++);
    }
  }
  EXPECT_EQ(next_id, 6u);
  EXPECT_EQ(reader.buffered(), 0u);

  net::FrameReader small(16);
  std::vector<uint8_t> big;
  net::AppendFrameHeader(17, &big);
  small.Feed(big);
  std::span<const uint8_t> payload;
  EXPECT_EQ(small.NextFrame(&payload), net::FrameReader::Next::kTooLarge);
}

}  // namespace
}  // namespace encore::testing
