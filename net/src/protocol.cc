// The codec between wire messages (encore_generated.h, from encore.fbs) and
// engine types, and the framing.
#include "encore/net/protocol.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <type_traits>

#include "encore_generated.h"
#include "flatbuffers/flatbuffers.h"
#include "wire_template.h"

namespace encore::net {
namespace {

namespace fb = ::flatbuffers;
namespace w = ::encore::wire;

// How many values the schema's enum X has: kWireCount<decltype(w::EnumValuesX())>.
template <typename Values>
constexpr size_t kWireCount = std::extent_v<std::remove_reference_t<Values>>;

// The schema's enums mirror the engine's lists one to one: every entry of a
// list has its number in the schema, and the schema has as many values (so
// none that the list lacks).
#define ENCORE_X(enumerator, value, name, wire_name)                      \
  static_assert(static_cast<uint16_t>(w::ResultCode::wire_name) == value, \
                "the wire's " name " is the engine's");
ENCORE_RESULT_CODES(ENCORE_X)
#undef ENCORE_X
static_assert(kWireCount<decltype(w::EnumValuesResultCode())> == std::size(kResultCodes));

// QueueState, SeatState and LedgerEntryType (whose wire enum also has Unknown = 0).
#define ENCORE_X(enumerator, value, name, wire_name) \
  static_assert(static_cast<uint8_t>(w::QueueState::wire_name) == value);
ENCORE_QUEUE_STATES(ENCORE_X)
#undef ENCORE_X
#define ENCORE_X(enumerator, value, name, wire_name) \
  static_assert(static_cast<uint8_t>(w::SeatState::wire_name) == value);
ENCORE_SEAT_STATES(ENCORE_X)
#undef ENCORE_X
#define ENCORE_X(enumerator, value, name, wire_name) \
  static_assert(static_cast<uint8_t>(w::LedgerEntryType::wire_name) == value);
ENCORE_LEDGER_ENTRY_TYPES(ENCORE_X)
#undef ENCORE_X
#define ENCORE_X(...) +1
static_assert(kWireCount<decltype(w::EnumValuesQueueState())> == 0 ENCORE_QUEUE_STATES(ENCORE_X));
static_assert(kWireCount<decltype(w::EnumValuesSeatState())> == 0 ENCORE_SEAT_STATES(ENCORE_X));
static_assert(kWireCount<decltype(w::EnumValuesLedgerEntryType())> ==
              1 ENCORE_LEDGER_ENTRY_TYPES(ENCORE_X));
#undef ENCORE_X

// The request bodies are NONE, one per command type and one per server
// request; the response bodies one per ResponseKind (KindOf names each).
#define ENCORE_X(...) +1
static_assert(kWireCount<decltype(w::EnumValuesRequestBody())> ==
              1 ENCORE_COMMAND_TYPES(ENCORE_X) ENCORE_SERVER_REQUEST_KINDS(ENCORE_X));
static_assert(kWireCount<decltype(w::EnumValuesResponseBody())> ==
              0 ENCORE_RESPONSE_KINDS(ENCORE_X));
#undef ENCORE_X

// kNone for a body this client does not know.
constexpr ResponseKind KindOf(w::ResponseBody body) {
  switch (body) {
#define ENCORE_X(enumerator, value, wire_body) \
  case w::ResponseBody::wire_body:             \
    return ResponseKind::enumerator;
    ENCORE_RESPONSE_KINDS(ENCORE_X)
#undef ENCORE_X
  }
  return ResponseKind::kNone;
}

// One builder per thread, cleared per message: encoding does not allocate
// once warmed up. `force_defaults` writes every field, defaults too (the
// templates' shapes, wire_template.h).
fb::FlatBufferBuilder& Builder(bool force_defaults = false) {
  thread_local fb::FlatBufferBuilder builder(1024);
  builder.Clear();
  builder.ForceDefaults(force_defaults);
  return builder;
}

void AppendFinished(fb::FlatBufferBuilder& builder, std::vector<uint8_t>* out) {
  AppendFrameHeader(static_cast<uint32_t>(builder.GetSize()), out);
  out->insert(out->end(), builder.GetBufferPointer(),
              builder.GetBufferPointer() + builder.GetSize());
}

QueueToken FromWire(const w::QueueToken* token) {
  return token == nullptr ? QueueToken{} : QueueToken{token->locator(), token->mac()};
}

w::QueueToken ToWire(const QueueToken& token) { return w::QueueToken(token.locator, token.mac); }

bool CopyString(const fb::String* in, size_t max_bytes, std::string* out) {
  if (in == nullptr) return true;
  if (in->size() > max_bytes) return false;
  out->assign(in->c_str(), in->size());
  return true;
}

// Fills `result` from the request's body; kOk unless a field cannot fit.
void DecodeBody(const w::Request& request, DecodeResult* result) {
  DecodedRequest& decoded = result->request;
  Command& command = decoded.command;
  auto invalid = [&](const char* message) {
    result->code = ResultCode::kInvalidArgument;
    result->message = message;
  };
  switch (request.body_type()) {
    case w::RequestBody::Hello: {
      const auto* hello = request.body_as_Hello();
      decoded.kind = RequestKind::kHello;
      decoded.hello.protocol_version = hello->protocol_version();
      if (!CopyString(hello->client_name(), kNameBytesMax, &decoded.hello.client_name) ||
          !CopyString(hello->api_key(), kNameBytesMax, &decoded.hello.api_key)) {
        invalid("client name or API key longer than 128 bytes");
      }
      return;
    }
    case w::RequestBody::CreateConcert: {
      const auto* body = request.body_as_CreateConcert();
      decoded.admin = true;
      command.type = CommandType::kCreateConcert;
      command.concert = body->concert();
      // The engine keeps a title NUL-terminated, so a NUL inside would cut it.
      if (body->title() == nullptr || body->title()->size() == 0 ||
          body->title()->size() > kTitleBytesMax ||
          std::memchr(body->title()->data(), '\0', body->title()->size()) != nullptr) {
        return invalid("a concert title is 1 to 47 bytes, none of them NUL");
      }
      std::memcpy(command.title.data(), body->title()->c_str(), body->title()->size());
      return;
    }
    case w::RequestBody::CreateSchedule: {
      const auto* body = request.body_as_CreateSchedule();
      decoded.admin = true;
      command.type = CommandType::kCreateSchedule;
      ScheduleConfig& config = command.schedule_config;
      config.concert = body->concert();
      config.schedule = body->schedule();
      command.schedule = config.schedule;
      config.performance_at_ms = body->performance_at_ms();
      config.sale_opens_at_ms = body->sale_opens_at_ms();
      config.sale_closes_at_ms = body->sale_closes_at_ms();
      config.hold_ttl_ms = body->hold_ttl_ms();
      config.active_ttl_ms = body->active_ttl_ms();
      config.heartbeat_timeout_ms = body->heartbeat_timeout_ms();
      config.seat_count = body->seat_count();
      config.seats_per_user_max = body->seats_per_user_max();
      if (body->policy() != nullptr) {
        config.policy =
            AdmissionPolicy{body->policy()->active_max(), body->policy()->admit_per_interval(),
                            body->policy()->interval_ms()};
      }
      if (body->tiers() == nullptr || body->tiers()->size() == 0 ||
          body->tiers()->size() > kPriceTiersMax) {
        return invalid("a schedule has 1 to 8 price tiers");
      }
      config.tier_count = body->tiers()->size();
      for (uint32_t i = 0; i < config.tier_count; ++i) {
        // The Verifier checks the alignment of the vector's length, not of
        // its 8-byte-aligned structs: copy each out rather than call through
        // a pointer that may be misaligned (UBSan, found by the fuzzer).
        w::PriceTier tier;
        std::memcpy(&tier, body->tiers()->Data() + i * sizeof(w::PriceTier), sizeof(tier));
        config.tiers[i] = PriceTier{tier.first_seat(), 0, tier.price()};
      }
      return;
    }
    case w::RequestBody::SetAdmissionPolicy: {
      const auto* body = request.body_as_SetAdmissionPolicy();
      decoded.admin = true;
      command.type = CommandType::kSetAdmissionPolicy;
      command.schedule = body->schedule();
      if (body->policy() != nullptr) {
        command.policy =
            AdmissionPolicy{body->policy()->active_max(), body->policy()->admit_per_interval(),
                            body->policy()->interval_ms()};
      }
      return;
    }
    case w::RequestBody::ServerStats:
      decoded.kind = RequestKind::kServerStats;
      decoded.admin = true;
      return;
    case w::RequestBody::EnterQueue: {
      const auto* body = request.body_as_EnterQueue();
      command.type = CommandType::kEnterQueue;
      command.schedule = body->schedule();
      command.user = body->user();
      return;
    }
    case w::RequestBody::QueueStatus: {
      const auto* body = request.body_as_QueueStatus();
      command.type = CommandType::kQueueStatus;
      command.schedule = body->schedule();
      command.user = body->user();
      command.token = FromWire(body->token());
      return;
    }
    case w::RequestBody::LeaveQueue: {
      const auto* body = request.body_as_LeaveQueue();
      command.type = CommandType::kLeaveQueue;
      command.schedule = body->schedule();
      command.user = body->user();
      command.token = FromWire(body->token());
      return;
    }
    case w::RequestBody::ListSchedules:
      decoded.kind = RequestKind::kListSchedules;
      command.concert = request.body_as_ListSchedules()->concert();
      return;
    case w::RequestBody::SeatMap: {
      const auto* body = request.body_as_SeatMap();
      decoded.kind = RequestKind::kSeatMap;
      command.schedule = body->schedule();
      command.user = body->user();
      command.token = FromWire(body->token());
      return;
    }
    case w::RequestBody::HoldSeats: {
      const auto* body = request.body_as_HoldSeats();
      command.type = CommandType::kHoldSeats;
      command.schedule = body->schedule();
      command.user = body->user();
      command.token = FromWire(body->token());
      const uint32_t count = body->seats() == nullptr ? 0 : body->seats()->size();
      // More than kHoldSeatsMax: the engine answers INVALID_SEAT_COUNT.
      command.seat_count = static_cast<uint8_t>(std::min<uint32_t>(count, 255));
      for (uint32_t i = 0; i < std::min<uint32_t>(count, kHoldSeatsMax); ++i) {
        command.seats[i] = body->seats()->Get(i);
      }
      return;
    }
    case w::RequestBody::ReleaseHold: {
      const auto* body = request.body_as_ReleaseHold();
      command.type = CommandType::kReleaseHold;
      command.schedule = body->schedule();
      command.user = body->user();
      command.hold = body->hold();
      command.token = FromWire(body->token());
      command.hold_proof = body->hold_proof();
      return;
    }
    case w::RequestBody::Pay: {
      const auto* body = request.body_as_Pay();
      command.type = CommandType::kPay;
      command.schedule = body->schedule();
      command.user = body->user();
      command.token = FromWire(body->token());
      command.hold = body->hold();
      return;
    }
    case w::RequestBody::Charge: {
      const auto* body = request.body_as_Charge();
      command.type = CommandType::kCharge;
      command.user = body->user();
      command.amount = body->amount();
      return;
    }
    case w::RequestBody::Balance:
      command.type = CommandType::kBalance;
      command.user = request.body_as_Balance()->user();
      return;
    case w::RequestBody::Ledger: {
      const auto* body = request.body_as_Ledger();
      decoded.kind = RequestKind::kLedger;
      command.user = body->user();
      decoded.ledger_before = body->before();
      decoded.ledger_limit = std::min<uint32_t>(body->limit(), kLedgerPageMax);
      return;
    }
    default:
      result->code = ResultCode::kUnsupported;
      result->message =
          "unknown request type " + std::to_string(static_cast<int>(request.body_type()));
      return;
  }
}

}  // namespace

DecodeResult DecodeRequest(std::span<const uint8_t> payload) {
  DecodeResult result;
  // A payload of a template's shape is as sound as the verified template
  // (wire_template.h): only other payloads need the Verifier's pass.
  if (!internal::IsTemplatedCommandRequest(payload)) {
    fb::Verifier verifier(payload.data(), payload.size());
    if (!w::VerifyRequestBuffer(verifier)) {
      result.code = ResultCode::kMalformed;
      result.message = "the frame is not a valid Request";
      return result;
    }
  }
  const w::Request* request = w::GetRequest(payload.data());
  result.request.id = request->id();
  result.request.command.request_key = request->request_key();
  if (request->body_type() == w::RequestBody::NONE) {
    result.code = ResultCode::kUnsupported;
    result.message = "the request has no body";
    return result;
  }
  // The Verifier accepts a union whose type is set but whose value is absent:
  // such a request names a message and carries none.
  if (request->body() == nullptr) {
    result.code = ResultCode::kMalformed;
    result.message = "the request names a body and carries none";
    return result;
  }
  DecodeBody(*request, &result);
  return result;
}

// --- Responses -------------------------------------------------------------------

namespace {

template <typename Body>
void FinishResponse(fb::FlatBufferBuilder& builder, uint64_t id, ResultCode code,
                    w::ResponseBody type, fb::Offset<Body> body, std::vector<uint8_t>* out) {
  w::ResponseBuilder response(builder);
  response.add_id(id);
  response.add_code(static_cast<w::ResultCode>(code));
  response.add_body_type(type);
  response.add_body(body.Union());
  builder.Finish(response.Finish());
  AppendFinished(builder, out);
}

}  // namespace

void AppendErrorResponse(uint64_t id, ResultCode code, const std::string& message,
                         std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  const auto text = builder.CreateString(message);
  w::ResponseBuilder response(builder);
  response.add_id(id);
  response.add_code(static_cast<w::ResultCode>(code));
  response.add_message(text);
  builder.Finish(response.Finish());
  AppendFinished(builder, out);
}

namespace {

void BuildCommandResponse(fb::FlatBufferBuilder& builder, uint64_t id, const Reply& reply,
                          std::vector<uint8_t>* out) {
  const w::QueueToken token = ToWire(reply.token);
  w::CommandReplyBuilder body(builder);
  body.add_hold(reply.hold);
  body.add_hold_deadline_ms(reply.hold_deadline_ms);
  body.add_payment(reply.payment);
  body.add_amount(reply.amount);
  body.add_balance(reply.balance);
  body.add_seat_count(reply.seat_count);
  body.add_queue_state(static_cast<w::QueueState>(reply.queue_state));
  body.add_token(&token);
  body.add_position(reply.position);
  body.add_eta_ms(reply.eta_ms);
  body.add_active_deadline_ms(reply.active_deadline_ms);
  body.add_hold_proof(reply.hold_proof);
  FinishResponse(builder, id, reply.code, w::ResponseBody::CommandReply, body.Finish(), out);
}

}  // namespace

void AppendCommandResponse(uint64_t id, const Reply& reply, std::vector<uint8_t>* out) {
  internal::AppendTemplatedCommandResponse(id, reply, out);
}

namespace internal {

void BuildCommandResponseFrame(uint64_t id, const Reply& reply, std::vector<uint8_t>* out) {
  BuildCommandResponse(Builder(/*force_defaults=*/true), id, reply, out);
}

}  // namespace internal

void AppendHelloResponse(uint64_t id, const HelloReplyInfo& hello, std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  const auto name = builder.CreateString(hello.server_name);
  const auto body = w::CreateHelloReply(builder, hello.protocol_version, name,
                                        hello.frame_bytes_max, hello.in_flight_max, hello.admin);
  FinishResponse(builder, id, ResultCode::kOk, w::ResponseBody::HelloReply, body, out);
}

void AppendScheduleListResponse(uint64_t id, const std::vector<ScheduleInfo>& schedules,
                                std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  std::vector<fb::Offset<w::ScheduleSummary>> summaries;
  summaries.reserve(schedules.size());
  for (const ScheduleInfo& info : schedules) {
    summaries.push_back(w::CreateScheduleSummary(
        builder, info.config.schedule, info.config.concert, info.config.performance_at_ms,
        info.config.sale_opens_at_ms, info.config.sale_closes_at_ms, info.config.seat_count,
        info.seats_available, info.seats_held, info.seats_sold, info.queue_waiting,
        info.queue_active));
  }
  const auto body = w::CreateScheduleList(builder, builder.CreateVector(summaries));
  FinishResponse(builder, id, ResultCode::kOk, w::ResponseBody::ScheduleList, body, out);
}

void AppendSeatMapResponse(uint64_t id, ScheduleId schedule, const std::vector<SeatState>& seats,
                           std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  static_assert(sizeof(SeatState) == 1);
  const auto states =
      builder.CreateVector(reinterpret_cast<const uint8_t*>(seats.data()), seats.size());
  const auto body = w::CreateSeatMapReply(builder, schedule, states);
  FinishResponse(builder, id, ResultCode::kOk, w::ResponseBody::SeatMapReply, body, out);
}

void AppendLedgerResponse(uint64_t id, const std::vector<LedgerEntry>& entries,
                          uint64_t next_before, std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  std::vector<fb::Offset<w::LedgerEntry>> wire;
  wire.reserve(entries.size());
  for (const LedgerEntry& entry : entries) {
    wire.push_back(w::CreateLedgerEntry(builder, static_cast<w::LedgerEntryType>(entry.type),
                                        entry.amount, entry.balance_after, entry.at_ms,
                                        entry.schedule, entry.payment, entry.hold));
  }
  const auto body = w::CreateLedgerPage(builder, builder.CreateVector(wire), next_before);
  FinishResponse(builder, id, ResultCode::kOk, w::ResponseBody::LedgerPage, body, out);
}

void AppendStatsResponse(uint64_t id, const StatsInfo& stats, std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  std::vector<fb::Offset<w::ShardFigures>> shards;
  for (const ShardFigures& shard : stats.shards) {
    shards.push_back(w::CreateShardFigures(builder, shard.shard, shard.last_lsn, shard.durable_lsn,
                                           shard.snapshots));
  }
  const auto body =
      w::CreateStatsReply(builder, stats.connections, stats.requests, builder.CreateVector(shards));
  FinishResponse(builder, id, ResultCode::kOk, w::ResponseBody::StatsReply, body, out);
}

// --- Requests (client side) ------------------------------------------------------

namespace {

template <typename Body>
void FinishRequest(fb::FlatBufferBuilder& builder, uint64_t id, RequestKey key, w::RequestBody type,
                   fb::Offset<Body> body, std::vector<uint8_t>* out) {
  builder.Finish(w::CreateRequest(builder, id, key, type, body.Union()));
  AppendFinished(builder, out);
}

void BuildCommandRequest(fb::FlatBufferBuilder& builder, uint64_t id, const Command& command,
                         std::vector<uint8_t>* out) {
  const w::QueueToken token = ToWire(command.token);
  const RequestKey key = command.request_key;
  switch (command.type) {
    case CommandType::kCreateConcert: {
      const size_t length = strnlen(command.title.data(), command.title.size());
      const auto title = builder.CreateString(command.title.data(), length);
      return FinishRequest(builder, id, key, w::RequestBody::CreateConcert,
                           w::CreateCreateConcert(builder, command.concert, title), out);
    }
    case CommandType::kCreateSchedule: {
      const ScheduleConfig& config = command.schedule_config;
      std::vector<w::PriceTier> tiers;
      for (uint32_t i = 0; i < std::min<uint32_t>(config.tier_count, kPriceTiersMax); ++i) {
        tiers.emplace_back(config.tiers[i].first_seat, config.tiers[i].price);
      }
      const auto tier_vector = builder.CreateVectorOfStructs(tiers);
      const w::AdmissionPolicy policy(config.policy.active_max, config.policy.admit_per_interval,
                                      config.policy.interval_ms);
      const auto body = w::CreateCreateSchedule(
          builder, config.concert, config.schedule, config.performance_at_ms,
          config.sale_opens_at_ms, config.sale_closes_at_ms, config.hold_ttl_ms,
          config.active_ttl_ms, config.heartbeat_timeout_ms, config.seat_count,
          config.seats_per_user_max, &policy, tier_vector);
      return FinishRequest(builder, id, key, w::RequestBody::CreateSchedule, body, out);
    }
    case CommandType::kSetAdmissionPolicy: {
      const w::AdmissionPolicy policy(command.policy.active_max, command.policy.admit_per_interval,
                                      command.policy.interval_ms);
      return FinishRequest(builder, id, key, w::RequestBody::SetAdmissionPolicy,
                           w::CreateSetAdmissionPolicy(builder, command.schedule, &policy), out);
    }
    case CommandType::kEnterQueue:
      return FinishRequest(builder, id, key, w::RequestBody::EnterQueue,
                           w::CreateEnterQueue(builder, command.schedule, command.user), out);
    case CommandType::kQueueStatus:
      return FinishRequest(builder, id, key, w::RequestBody::QueueStatus,
                           w::CreateQueueStatus(builder, command.schedule, command.user, &token),
                           out);
    case CommandType::kLeaveQueue:
      return FinishRequest(builder, id, key, w::RequestBody::LeaveQueue,
                           w::CreateLeaveQueue(builder, command.schedule, command.user, &token),
                           out);
    case CommandType::kHoldSeats: {
      const auto seats = builder.CreateVector(command.seats.data(),
                                              std::min<size_t>(command.seat_count, kHoldSeatsMax));
      return FinishRequest(
          builder, id, key, w::RequestBody::HoldSeats,
          w::CreateHoldSeats(builder, command.schedule, command.user, &token, seats), out);
    }
    case CommandType::kReleaseHold:
      return FinishRequest(builder, id, key, w::RequestBody::ReleaseHold,
                           w::CreateReleaseHold(builder, command.schedule, command.user,
                                                command.hold, &token, command.hold_proof),
                           out);
    case CommandType::kPay:
      return FinishRequest(
          builder, id, key, w::RequestBody::Pay,
          w::CreatePay(builder, command.schedule, command.user, &token, command.hold), out);
    case CommandType::kCharge:
      return FinishRequest(builder, id, key, w::RequestBody::Charge,
                           w::CreateCharge(builder, command.user, command.amount), out);
    case CommandType::kBalance:
      return FinishRequest(builder, id, key, w::RequestBody::Balance,
                           w::CreateBalance(builder, command.user), out);
  }
  // An unknown command type: a Request with no body (the server answers
  // UNSUPPORTED).
  builder.Finish(w::CreateRequest(builder, id, key));
  AppendFinished(builder, out);
}

}  // namespace

void AppendCommandRequest(uint64_t id, const Command& command, std::vector<uint8_t>* out) {
  if (internal::AppendTemplatedCommandRequest(id, command, out)) return;
  BuildCommandRequest(Builder(), id, command, out);
}

namespace internal {

void BuildCommandRequestFrame(uint64_t id, const Command& command, std::vector<uint8_t>* out) {
  BuildCommandRequest(Builder(/*force_defaults=*/true), id, command, out);
}

}  // namespace internal

void AppendHelloRequest(uint64_t id, const HelloRequest& hello, std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  const auto name = builder.CreateString(hello.client_name);
  const auto key = builder.CreateString(hello.api_key);
  FinishRequest(builder, id, 0, w::RequestBody::Hello,
                w::CreateHello(builder, hello.protocol_version, name, key), out);
}

void AppendListSchedulesRequest(uint64_t id, ConcertId concert, std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  FinishRequest(builder, id, 0, w::RequestBody::ListSchedules,
                w::CreateListSchedules(builder, concert), out);
}

void AppendSeatMapRequest(uint64_t id, ScheduleId schedule, UserId user, const QueueToken& token,
                          std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  const w::QueueToken wire_token = ToWire(token);
  FinishRequest(builder, id, 0, w::RequestBody::SeatMap,
                w::CreateSeatMap(builder, schedule, user, &wire_token), out);
}

void AppendLedgerRequest(uint64_t id, UserId user, uint64_t before, uint32_t limit,
                         std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  FinishRequest(builder, id, 0, w::RequestBody::Ledger,
                w::CreateLedger(builder, user, before, limit), out);
}

void AppendServerStatsRequest(uint64_t id, std::vector<uint8_t>* out) {
  fb::FlatBufferBuilder& builder = Builder();
  FinishRequest(builder, id, 0, w::RequestBody::ServerStats, w::CreateServerStats(builder), out);
}

absl::StatusOr<DecodedResponse> DecodeResponse(std::span<const uint8_t> payload) {
  if (!internal::IsTemplatedCommandResponse(payload)) {
    fb::Verifier verifier(payload.data(), payload.size());
    if (!verifier.VerifyBuffer<w::Response>(nullptr)) {
      return absl::InvalidArgumentError("the frame is not a valid Response");
    }
  }
  const w::Response* response = fb::GetRoot<w::Response>(payload.data());
  DecodedResponse decoded;
  decoded.id = response->id();
  decoded.code = static_cast<ResultCode>(response->code());
  if (response->message() != nullptr) decoded.message = response->message()->str();
  // A union type with no value (the Verifier lets it through) is no body.
  const w::ResponseBody body_type =
      response->body() == nullptr ? w::ResponseBody::NONE : response->body_type();
  decoded.kind = KindOf(body_type);
  switch (body_type) {
    case w::ResponseBody::CommandReply: {
      const auto* body = response->body_as_CommandReply();
      Reply& reply = decoded.reply;
      reply.code = decoded.code;
      reply.hold = body->hold();
      reply.hold_deadline_ms = body->hold_deadline_ms();
      reply.payment = body->payment();
      reply.amount = body->amount();
      reply.balance = body->balance();
      reply.seat_count = body->seat_count();
      reply.queue_state = static_cast<QueueState>(body->queue_state());
      reply.token = FromWire(body->token());
      reply.position = body->position();
      reply.eta_ms = body->eta_ms();
      reply.active_deadline_ms = body->active_deadline_ms();
      reply.hold_proof = body->hold_proof();
      break;
    }
    case w::ResponseBody::HelloReply: {
      const auto* body = response->body_as_HelloReply();
      decoded.hello.protocol_version = body->protocol_version();
      if (body->server_name() != nullptr) decoded.hello.server_name = body->server_name()->str();
      decoded.hello.frame_bytes_max = body->frame_bytes_max();
      decoded.hello.in_flight_max = body->in_flight_max();
      decoded.hello.admin = body->admin();
      break;
    }
    case w::ResponseBody::ScheduleList: {
      const auto* list = response->body_as_ScheduleList()->schedules();
      for (uint32_t i = 0; list != nullptr && i < list->size(); ++i) {
        const w::ScheduleSummary* summary = list->Get(i);
        ScheduleInfo info{};
        info.config.schedule = summary->schedule();
        info.config.concert = summary->concert();
        info.config.performance_at_ms = summary->performance_at_ms();
        info.config.sale_opens_at_ms = summary->sale_opens_at_ms();
        info.config.sale_closes_at_ms = summary->sale_closes_at_ms();
        info.config.seat_count = summary->seat_count();
        info.seats_available = summary->seats_available();
        info.seats_held = summary->seats_held();
        info.seats_sold = summary->seats_sold();
        info.queue_waiting = summary->queue_waiting();
        info.queue_active = summary->queue_active();
        decoded.schedules.push_back(info);
      }
      break;
    }
    case w::ResponseBody::SeatMapReply: {
      const auto* seats = response->body_as_SeatMapReply()->seats();
      for (uint32_t i = 0; seats != nullptr && i < seats->size(); ++i) {
        decoded.seats.push_back(static_cast<SeatState>(std::min<uint8_t>(seats->Get(i), 2)));
      }
      break;
    }
    case w::ResponseBody::LedgerPage: {
      const auto* page = response->body_as_LedgerPage();
      decoded.next_before = page->next_before();
      for (uint32_t i = 0; page->entries() != nullptr && i < page->entries()->size(); ++i) {
        const w::LedgerEntry* entry = page->entries()->Get(i);
        LedgerEntry out{};
        out.type = static_cast<LedgerEntryType>(entry->type());
        out.amount = entry->amount();
        out.balance_after = entry->balance_after();
        out.at_ms = entry->at_ms();
        out.schedule = entry->schedule();
        out.payment = entry->payment();
        out.hold = entry->hold();
        decoded.ledger.push_back(out);
      }
      break;
    }
    case w::ResponseBody::StatsReply: {
      const auto* stats = response->body_as_StatsReply();
      decoded.stats.connections = stats->connections();
      decoded.stats.requests = stats->requests();
      for (uint32_t i = 0; stats->shards() != nullptr && i < stats->shards()->size(); ++i) {
        const w::ShardFigures* shard = stats->shards()->Get(i);
        decoded.stats.shards.push_back(ShardFigures{shard->shard(), shard->last_lsn(),
                                                    shard->durable_lsn(), shard->snapshots()});
      }
      break;
    }
    default:  // An error response, or a body this client does not know.
      break;
  }
  return decoded;
}

// --- Framing -----------------------------------------------------------------------

void AppendFrameHeader(uint32_t payload_bytes, std::vector<uint8_t>* out) {
  const uint8_t header[kFrameHeaderBytes] = {
      static_cast<uint8_t>(payload_bytes), static_cast<uint8_t>(payload_bytes >> 8),
      static_cast<uint8_t>(payload_bytes >> 16), static_cast<uint8_t>(payload_bytes >> 24)};
  out->insert(out->end(), header, header + kFrameHeaderBytes);
}

FrameReader::Next FrameReader::NextFrame(std::span<const uint8_t>* payload) {
  // Drop what was returned before, now that the caller is done with it.
  if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  const size_t available = buffer_.size() - consumed_;
  if (available < kFrameHeaderBytes) return Next::kNeedMore;
  const uint8_t* header = buffer_.data() + consumed_;
  const uint32_t length = static_cast<uint32_t>(header[0]) | static_cast<uint32_t>(header[1]) << 8 |
                          static_cast<uint32_t>(header[2]) << 16 |
                          static_cast<uint32_t>(header[3]) << 24;
  if (length > frame_bytes_max_) return Next::kTooLarge;
  if (available - kFrameHeaderBytes < length) return Next::kNeedMore;
  const uint8_t* start = header + kFrameHeaderBytes;
  if (reinterpret_cast<uintptr_t>(start) % alignof(uint64_t) != 0) {
    aligned_.resize((length + sizeof(uint64_t) - 1) / sizeof(uint64_t));
    if (length > 0) std::memcpy(aligned_.data(), start, length);
    start = reinterpret_cast<const uint8_t*>(aligned_.data());
  }
  *payload = std::span<const uint8_t>(start, length);
  consumed_ += kFrameHeaderBytes + length;
  return Next::kFrame;
}

}  // namespace encore::net
