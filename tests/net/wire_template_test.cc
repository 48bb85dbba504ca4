// The templated frames (net/src/wire_template.h): byte for byte what the
// flatbuffers builder writes with every field present, for random values of
// every field, every fixed-shape request and the command reply; they decode
// to what was encoded; a frame appended after other bytes patches only its
// own; a request with no fixed shape is left to the builder. A payload taken
// for a template's shape (so read without the Verifier) is one the Verifier
// accepts and differs from the template only in field values.
#include "wire_template.h"

#include <cstring>
#include <random>
#include <vector>

#include "encore/commands.h"
#include "encore/net/protocol.h"
#include "encore_generated.h"
#include "gtest/gtest.h"
#include "support/seed.h"

namespace encore::testing {
namespace {

constexpr int kRounds = 2000;

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  // Mostly small values, sometimes the extremes of the type.
  template <typename T>
  T Value() {
    switch (engine_() % 4) {
      case 0:
        return std::numeric_limits<T>::max();
      case 1:
        return std::numeric_limits<T>::min();
      case 2:
        return static_cast<T>(engine_() % 1000);
      default:
        return static_cast<T>(engine_());
    }
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(engine_() % n); }

 private:
  std::mt19937_64 engine_;
};

// Every field of a command random, whatever its type uses.
Command RandomCommand(Random& random, CommandType type) {
  Command command;
  command.type = type;
  command.seat_count = static_cast<uint8_t>(random.Below(kHoldSeatsMax + 3));
  command.request_key = random.Value<RequestKey>();
  command.user = random.Value<UserId>();
  command.concert = random.Value<ConcertId>();
  command.schedule = random.Value<ScheduleId>();
  command.token = QueueToken{random.Value<uint64_t>(), random.Value<uint64_t>()};
  command.hold = random.Value<HoldId>();
  command.amount = random.Value<Points>();
  command.hold_proof = random.Value<HoldProof>();
  for (SeatIndex& seat : command.seats) seat = random.Value<SeatIndex>();
  return command;
}

// A frame's payload in 8-byte-aligned memory, as FrameReader hands it out
// (flatbuffers reads its scalars aligned); usable as a span for the length of
// the expression it is made in.
class PayloadOf {
 public:
  explicit PayloadOf(const std::vector<uint8_t>& frame)
      : bytes_(frame.size() - net::kFrameHeaderBytes), words_((bytes_ + 7) / 8) {
    std::memcpy(words_.data(), frame.data() + net::kFrameHeaderBytes, bytes_);
  }
  operator std::span<const uint8_t>() const {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(words_.data()), bytes_);
  }

 private:
  size_t bytes_;
  std::vector<uint64_t> words_;
};

constexpr CommandType kFixedShapes[] = {
    CommandType::kEnterQueue, CommandType::kQueueStatus, CommandType::kLeaveQueue,
    CommandType::kHoldSeats,  CommandType::kReleaseHold, CommandType::kPay,
    CommandType::kCharge,     CommandType::kBalance,
};

TEST(WireTemplateTest, RequestsAreTheBuildersBytes) {
  Random random(SeedFromEnvOrRandom("ENCORE_WIRE_TEMPLATE_SEED"));
  for (int round = 0; round < kRounds; ++round) {
    for (CommandType type : kFixedShapes) {
      const Command command = RandomCommand(random, type);
      const uint64_t id = random.Value<uint64_t>();
      std::vector<uint8_t> templated;
      ASSERT_TRUE(net::internal::AppendTemplatedCommandRequest(id, command, &templated));
      std::vector<uint8_t> built;
      net::internal::BuildCommandRequestFrame(id, command, &built);
      ASSERT_EQ(templated, built) << "type " << static_cast<int>(type) << ", round " << round;
    }
  }
}

TEST(WireTemplateTest, RequestsDecodeToTheirCommand) {
  Random random(SeedFromEnvOrRandom("ENCORE_WIRE_TEMPLATE_SEED"));
  for (int round = 0; round < kRounds; ++round) {
    const ScheduleId schedule = random.Value<ScheduleId>();
    const UserId user = random.Value<UserId>();
    const QueueToken token{random.Value<uint64_t>(), random.Value<uint64_t>()};
    const RequestKey key = random.Value<RequestKey>() | 1;
    std::vector<SeatIndex> seats(1 + random.Below(kHoldSeatsMax));
    for (SeatIndex& seat : seats) seat = random.Value<SeatIndex>();
    const std::vector<Command> commands = {
        MakeEnterQueue(schedule, user, key),
        MakeQueueStatus(schedule, user, token),
        MakeLeaveQueue(schedule, user, token, key),
        MakeHoldSeats(schedule, user, token, seats, key),
        MakeReleaseHold(schedule, user, token, random.Value<HoldId>(), key),
        MakeReleaseHoldWithProof(schedule, user, random.Value<HoldId>(), random.Value<HoldProof>(),
                                 key),
        MakePay(schedule, user, token, random.Value<HoldId>(), key),
        MakeCharge(user, random.Value<Points>(), key),
        MakeBalance(user),
    };
    for (const Command& command : commands) {
      const uint64_t id = random.Value<uint64_t>();
      std::vector<uint8_t> frame;
      net::AppendCommandRequest(id, command, &frame);
      const net::DecodeResult decoded = net::DecodeRequest(PayloadOf(frame));
      ASSERT_EQ(decoded.code, ResultCode::kOk) << decoded.message;
      EXPECT_EQ(decoded.request.id, id);
      // The decoder fills a Command as the Make* helpers do, so the whole
      // value must match.
      EXPECT_EQ(std::memcmp(&decoded.request.command, &command, sizeof(Command)), 0)
          << "type " << static_cast<int>(command.type) << ", round " << round;
    }
  }
}

Reply RandomReply(Random& random) {
  Reply reply;
  reply.code = static_cast<ResultCode>(random.Value<uint16_t>());
  reply.queue_state = static_cast<QueueState>(random.Below(6));
  reply.seat_count = random.Value<uint8_t>();
  reply.hold = random.Value<HoldId>();
  reply.hold_deadline_ms = random.Value<TimestampMs>();
  reply.payment = random.Value<PaymentId>();
  reply.amount = random.Value<Points>();
  reply.balance = random.Value<Points>();
  reply.token = QueueToken{random.Value<uint64_t>(), random.Value<uint64_t>()};
  reply.position = random.Value<uint64_t>();
  reply.eta_ms = random.Value<int64_t>();
  reply.active_deadline_ms = random.Value<TimestampMs>();
  reply.hold_proof = random.Value<HoldProof>();
  return reply;
}

TEST(WireTemplateTest, RepliesAreTheBuildersBytesAndDecode) {
  Random random(SeedFromEnvOrRandom("ENCORE_WIRE_TEMPLATE_SEED"));
  for (int round = 0; round < kRounds; ++round) {
    const Reply reply = RandomReply(random);
    const uint64_t id = random.Value<uint64_t>();
    std::vector<uint8_t> templated;
    net::AppendCommandResponse(id, reply, &templated);
    std::vector<uint8_t> built;
    net::internal::BuildCommandResponseFrame(id, reply, &built);
    ASSERT_EQ(templated, built) << "round " << round;

    const absl::StatusOr<net::DecodedResponse> decoded = net::DecodeResponse(PayloadOf(templated));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->id, id);
    EXPECT_EQ(decoded->code, reply.code);
    ASSERT_EQ(decoded->kind, net::ResponseKind::kCommand);
    const Reply& got = decoded->reply;
    EXPECT_EQ(got.hold, reply.hold);
    EXPECT_EQ(got.hold_deadline_ms, reply.hold_deadline_ms);
    EXPECT_EQ(got.payment, reply.payment);
    EXPECT_EQ(got.amount, reply.amount);
    EXPECT_EQ(got.balance, reply.balance);
    EXPECT_EQ(got.seat_count, reply.seat_count);
    EXPECT_EQ(got.queue_state, reply.queue_state);
    EXPECT_EQ(got.token, reply.token);
    EXPECT_EQ(got.position, reply.position);
    EXPECT_EQ(got.eta_ms, reply.eta_ms);
    EXPECT_EQ(got.active_deadline_ms, reply.active_deadline_ms);
    EXPECT_EQ(got.hold_proof, reply.hold_proof);
  }
}

TEST(WireTemplateTest, AFrameAppendedAfterOthersPatchesOnlyItself) {
  Random random(SeedFromEnvOrRandom("ENCORE_WIRE_TEMPLATE_SEED"));
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> alone;
  for (int i = 0; i < 64; ++i) {
    const Command command = RandomCommand(random, kFixedShapes[random.Below(8)]);
    const uint64_t id = static_cast<uint64_t>(i) + 1;
    net::AppendCommandRequest(id, command, &stream);
    alone.emplace_back();
    net::AppendCommandRequest(id, command, &alone.back());
  }
  std::vector<uint8_t> joined;
  for (const auto& frame : alone) joined.insert(joined.end(), frame.begin(), frame.end());
  EXPECT_EQ(stream, joined);
}

TEST(WireTemplateTest, RequestsWithoutAFixedShapeAreLeftToTheBuilder) {
  ScheduleConfig config;
  config.schedule = 1;
  config.seat_count = 10;
  const std::vector<Command> commands = {
      MakeCreateConcert(1, "A title", 1),
      MakeCreateSchedule(config, 2),
      MakeSetAdmissionPolicy(1, AdmissionPolicy{3, 0, 0}, 3),
  };
  for (const Command& command : commands) {
    std::vector<uint8_t> frame = {7, 7};
    EXPECT_FALSE(net::internal::AppendTemplatedCommandRequest(1, command, &frame));
    EXPECT_EQ(frame, (std::vector<uint8_t>{7, 7}));
  }
}

// `frame` with 1 to 3 bytes of its payload set to random values.
std::vector<uint8_t> Mutated(Random& random, std::vector<uint8_t> frame) {
  const uint32_t changes = 1 + random.Below(3);
  for (uint32_t i = 0; i < changes; ++i) {
    const uint32_t at =
        net::kFrameHeaderBytes + random.Below(static_cast<uint32_t>(frame.size()) - 4);
    frame[at] = random.Value<uint8_t>();
  }
  return frame;
}

bool RequestVerifies(std::span<const uint8_t> payload) {
  flatbuffers::Verifier verifier(payload.data(), payload.size());
  return wire::VerifyRequestBuffer(verifier);
}

bool ResponseVerifies(std::span<const uint8_t> payload) {
  flatbuffers::Verifier verifier(payload.data(), payload.size());
  return verifier.VerifyBuffer<wire::Response>(nullptr);
}

TEST(WireTemplateTest, TemplatedFramesAreRecognized) {
  Random random(SeedFromEnvOrRandom("ENCORE_WIRE_TEMPLATE_SEED"));
  for (int round = 0; round < kRounds; ++round) {
    for (CommandType type : kFixedShapes) {
      std::vector<uint8_t> frame;
      net::AppendCommandRequest(random.Value<uint64_t>(), RandomCommand(random, type), &frame);
      ASSERT_TRUE(net::internal::IsTemplatedCommandRequest(PayloadOf(frame)));
      ASSERT_FALSE(net::internal::IsTemplatedCommandResponse(PayloadOf(frame)));
    }
    std::vector<uint8_t> frame;
    net::AppendCommandResponse(random.Value<uint64_t>(), RandomReply(random), &frame);
    ASSERT_TRUE(net::internal::IsTemplatedCommandResponse(PayloadOf(frame)));
    ASSERT_FALSE(net::internal::IsTemplatedCommandRequest(PayloadOf(frame)));
  }
  // Other shapes go through the Verifier.
  std::vector<uint8_t> error;
  net::AppendErrorResponse(1, ResultCode::kMalformed, "bad frame", &error);
  EXPECT_FALSE(net::internal::IsTemplatedCommandResponse(PayloadOf(error)));
  std::vector<uint8_t> concert;
  net::AppendCommandRequest(1, MakeCreateConcert(1, "A title", 1), &concert);
  EXPECT_FALSE(net::internal::IsTemplatedCommandRequest(PayloadOf(concert)));
}

TEST(WireTemplateTest, ARecognizedMutantVerifiesAndDiffersOnlyInFieldValues) {
  Random random(SeedFromEnvOrRandom("ENCORE_WIRE_TEMPLATE_SEED"));
  int recognized = 0;
  int refused = 0;
  for (int round = 0; round < 20 * kRounds; ++round) {
    const CommandType type = kFixedShapes[random.Below(8)];
    std::vector<uint8_t> original;
    net::AppendCommandRequest(random.Value<uint64_t>(), RandomCommand(random, type), &original);
    const std::vector<uint8_t> request = Mutated(random, original);
    if (net::internal::IsTemplatedCommandRequest(PayloadOf(request))) {
      ++recognized;
      ASSERT_TRUE(RequestVerifies(PayloadOf(request))) << "round " << round;
      const net::DecodeResult decoded = net::DecodeRequest(PayloadOf(request));
      ASSERT_EQ(decoded.code, ResultCode::kOk) << decoded.message;
      std::vector<uint8_t> again;
      net::AppendCommandRequest(decoded.request.id, decoded.request.command, &again);
      ASSERT_EQ(again, request) << "round " << round;
    } else {
      ++refused;
      // Read as before: what the Verifier refuses is MALFORMED.
      if (!RequestVerifies(PayloadOf(request))) {
        EXPECT_EQ(net::DecodeRequest(PayloadOf(request)).code, ResultCode::kMalformed);
      }
    }

    std::vector<uint8_t> reply_frame;
    net::AppendCommandResponse(random.Value<uint64_t>(), RandomReply(random), &reply_frame);
    const std::vector<uint8_t> response = Mutated(random, reply_frame);
    if (net::internal::IsTemplatedCommandResponse(PayloadOf(response))) {
      ASSERT_TRUE(ResponseVerifies(PayloadOf(response))) << "round " << round;
      const absl::StatusOr<net::DecodedResponse> decoded = net::DecodeResponse(PayloadOf(response));
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      Reply reply = decoded->reply;
      reply.code = decoded->code;
      std::vector<uint8_t> again;
      net::AppendCommandResponse(decoded->id, reply, &again);
      ASSERT_EQ(again, response) << "round " << round;
    } else {
      EXPECT_EQ(net::DecodeResponse(PayloadOf(response)).ok(),
                ResponseVerifies(PayloadOf(response)));
    }
  }
  // Both kinds of mutant were made: field bytes and shape bytes.
  EXPECT_GT(recognized, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace encore::testing
