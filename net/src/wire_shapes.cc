// The templates of the hot messages (wire_template.h): every command request
// without a string or list of its own size, by body type (and seat count for
// HoldSeats), and the command reply. Built once, at first use, from the
// builder's own encoding; a message is then a copy and a store per field.
#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "encore_generated.h"
#include "flatbuffers/flatbuffers.h"
#include "wire_template.h"

namespace encore::net::internal {
namespace {

namespace fb = ::flatbuffers;
namespace w = ::encore::wire;
using Offset = WireTemplate::Offset;

static_assert(sizeof(w::QueueToken) == 2 * sizeof(uint64_t), "locator, then mac");

// A template is a buffer the Verifier accepts, so that one of its shape
// (WireTemplate::Matches) may skip the Verifier. The builder only writes
// such buffers: failing here is a programmer error.
template <typename Root>
void CheckVerifies(const WireTemplate& frame) {
  fb::Verifier verifier(frame.payload(), frame.frame_bytes() - kFrameHeaderBytes);
  CheckTemplate(verifier.VerifyBuffer<Root>(nullptr), "a template fails the Verifier");
}

// Where a request's fields lie; kAbsent for those its body does not have.
struct RequestShape {
  WireTemplate frame;
  Offset id = WireTemplate::kAbsent;
  Offset request_key = WireTemplate::kAbsent;
  Offset schedule = WireTemplate::kAbsent;
  Offset user = WireTemplate::kAbsent;
  Offset token_locator = WireTemplate::kAbsent;
  Offset token_mac = WireTemplate::kAbsent;
  Offset hold = WireTemplate::kAbsent;
  Offset hold_proof = WireTemplate::kAbsent;
  Offset amount = WireTemplate::kAbsent;
  Offset seats = WireTemplate::kAbsent;  // The first element; the others follow.
  uint32_t seat_count = 0;
};

struct RequestShapes {
  RequestShape enter_queue, queue_status, leave_queue, release_hold, pay, charge, balance;
  std::array<RequestShape, kHoldSeatsMax + 1> hold_seats;  // By seat count.
  std::vector<const RequestShape*> all;                    // Each of the above.
};

// Marks the value bytes of every field the shape has.
void MarkFields(RequestShape* shape) {
  WireTemplate& frame = shape->frame;
  for (Offset offset :
       {shape->id, shape->request_key, shape->schedule, shape->user, shape->token_locator,
        shape->token_mac, shape->hold, shape->hold_proof, shape->amount}) {
    if (offset != WireTemplate::kAbsent) frame.MarkField(offset, sizeof(uint64_t));
  }
  if (shape->seat_count > 0) frame.MarkField(shape->seats, shape->seat_count * sizeof(uint32_t));
}

// The shape of a request of `type` (with `seat_count` seats for HoldSeats).
template <typename Body>
RequestShape MakeRequestShape(CommandType type, uint8_t seat_count = 0) {
  Command sample;
  sample.type = type;
  sample.seat_count = seat_count;
  std::vector<uint8_t> bytes;
  BuildCommandRequestFrame(/*id=*/1, sample, &bytes);
  RequestShape shape;
  shape.frame = WireTemplate(std::move(bytes));
  const WireTemplate& frame = shape.frame;
  CheckVerifies<w::Request>(frame);
  const w::Request* request = fb::GetRoot<w::Request>(frame.payload());
  shape.id = frame.FieldOffset(request, w::Request::VT_ID);
  shape.request_key = frame.FieldOffset(request, w::Request::VT_REQUEST_KEY);
  const void* body = request->body();
  if constexpr (requires { Body::VT_SCHEDULE; }) {
    shape.schedule = frame.FieldOffset(body, Body::VT_SCHEDULE);
  }
  if constexpr (requires { Body::VT_USER; }) shape.user = frame.FieldOffset(body, Body::VT_USER);
  if constexpr (requires { Body::VT_TOKEN; }) {
    shape.token_locator = frame.FieldOffset(body, Body::VT_TOKEN);
    shape.token_mac = shape.token_locator + sizeof(uint64_t);
  }
  if constexpr (requires { Body::VT_HOLD; }) shape.hold = frame.FieldOffset(body, Body::VT_HOLD);
  if constexpr (requires { Body::VT_HOLD_PROOF; }) {
    shape.hold_proof = frame.FieldOffset(body, Body::VT_HOLD_PROOF);
  }
  if constexpr (requires { Body::VT_AMOUNT; }) {
    shape.amount = frame.FieldOffset(body, Body::VT_AMOUNT);
  }
  if constexpr (std::is_same_v<Body, w::HoldSeats>) {
    const auto* seats = request->body_as_HoldSeats()->seats();
    shape.seat_count = seats->size();
    if (shape.seat_count > 0) shape.seats = frame.OffsetOf(seats->data());
  }
  MarkFields(&shape);
  return shape;
}

RequestShapes BuildRequestShapes() {
  RequestShapes shapes;
  shapes.enter_queue = MakeRequestShape<w::EnterQueue>(CommandType::kEnterQueue);
  shapes.queue_status = MakeRequestShape<w::QueueStatus>(CommandType::kQueueStatus);
  shapes.leave_queue = MakeRequestShape<w::LeaveQueue>(CommandType::kLeaveQueue);
  shapes.release_hold = MakeRequestShape<w::ReleaseHold>(CommandType::kReleaseHold);
  shapes.pay = MakeRequestShape<w::Pay>(CommandType::kPay);
  shapes.charge = MakeRequestShape<w::Charge>(CommandType::kCharge);
  shapes.balance = MakeRequestShape<w::Balance>(CommandType::kBalance);
  for (uint32_t count = 0; count <= kHoldSeatsMax; ++count) {
    shapes.hold_seats[count] =
        MakeRequestShape<w::HoldSeats>(CommandType::kHoldSeats, static_cast<uint8_t>(count));
  }
  shapes.all = {&shapes.enter_queue,  &shapes.queue_status, &shapes.leave_queue,
                &shapes.release_hold, &shapes.pay,          &shapes.charge,
                &shapes.balance};
  for (const RequestShape& shape : shapes.hold_seats) shapes.all.push_back(&shape);
  return shapes;
}

const RequestShapes& Shapes() {
  static const RequestShapes shapes = BuildRequestShapes();
  return shapes;
}

const RequestShape* ShapeOf(const Command& command) {
  const RequestShapes& shapes = Shapes();
  switch (command.type) {
    case CommandType::kEnterQueue:
      return &shapes.enter_queue;
    case CommandType::kQueueStatus:
      return &shapes.queue_status;
    case CommandType::kLeaveQueue:
      return &shapes.leave_queue;
    case CommandType::kHoldSeats:
      // As the builder does: seats past kHoldSeatsMax are not sent.
      return &shapes.hold_seats[std::min<uint32_t>(command.seat_count, kHoldSeatsMax)];
    case CommandType::kReleaseHold:
      return &shapes.release_hold;
    case CommandType::kPay:
      return &shapes.pay;
    case CommandType::kCharge:
      return &shapes.charge;
    case CommandType::kBalance:
      return &shapes.balance;
    default:
      return nullptr;  // A string or list of its own size, or an unknown type.
  }
}

// Where a command reply's fields lie.
struct ReplyShape {
  WireTemplate frame;
  Offset id, code, hold, hold_deadline_ms, payment, amount, balance, seat_count, queue_state,
      token_locator, token_mac, position, eta_ms, active_deadline_ms, hold_proof;
};

ReplyShape BuildReplyShape() {
  std::vector<uint8_t> bytes;
  BuildCommandResponseFrame(/*id=*/1, Reply{}, &bytes);
  ReplyShape shape;
  shape.frame = WireTemplate(std::move(bytes));
  const WireTemplate& frame = shape.frame;
  CheckVerifies<w::Response>(frame);
  const w::Response* response = fb::GetRoot<w::Response>(frame.payload());
  shape.id = frame.FieldOffset(response, w::Response::VT_ID);
  shape.code = frame.FieldOffset(response, w::Response::VT_CODE);
  const void* body = response->body();
  using R = w::CommandReply;
  shape.hold = frame.FieldOffset(body, R::VT_HOLD);
  shape.hold_deadline_ms = frame.FieldOffset(body, R::VT_HOLD_DEADLINE_MS);
  shape.payment = frame.FieldOffset(body, R::VT_PAYMENT);
  shape.amount = frame.FieldOffset(body, R::VT_AMOUNT);
  shape.balance = frame.FieldOffset(body, R::VT_BALANCE);
  shape.seat_count = frame.FieldOffset(body, R::VT_SEAT_COUNT);
  shape.queue_state = frame.FieldOffset(body, R::VT_QUEUE_STATE);
  shape.token_locator = frame.FieldOffset(body, R::VT_TOKEN);
  shape.token_mac = shape.token_locator + sizeof(uint64_t);
  shape.position = frame.FieldOffset(body, R::VT_POSITION);
  shape.eta_ms = frame.FieldOffset(body, R::VT_ETA_MS);
  shape.active_deadline_ms = frame.FieldOffset(body, R::VT_ACTIVE_DEADLINE_MS);
  shape.hold_proof = frame.FieldOffset(body, R::VT_HOLD_PROOF);
  for (Offset offset : {shape.id, shape.hold, shape.hold_deadline_ms, shape.payment, shape.amount,
                        shape.balance, shape.token_locator, shape.token_mac, shape.position,
                        shape.eta_ms, shape.active_deadline_ms, shape.hold_proof}) {
    shape.frame.MarkField(offset, sizeof(uint64_t));
  }
  shape.frame.MarkField(shape.code, sizeof(uint16_t));
  shape.frame.MarkField(shape.seat_count, sizeof(uint8_t));
  shape.frame.MarkField(shape.queue_state, sizeof(uint8_t));
  return shape;
}

const ReplyShape& TheReplyShape() {
  static const ReplyShape shape = BuildReplyShape();
  return shape;
}

}  // namespace

bool AppendTemplatedCommandRequest(uint64_t id, const Command& command, std::vector<uint8_t>* out) {
  const RequestShape* shape = ShapeOf(command);
  if (shape == nullptr) return false;
  const size_t at = shape->frame.AppendTo(out);
  // Each field in its wire type (encore.fbs).
  WireTemplate::Store<uint64_t>(out, at, shape->id, id);
  WireTemplate::Store<uint64_t>(out, at, shape->request_key, command.request_key);
  WireTemplate::Store<uint64_t>(out, at, shape->schedule, command.schedule);
  WireTemplate::Store<uint64_t>(out, at, shape->user, command.user);
  WireTemplate::Store<uint64_t>(out, at, shape->token_locator, command.token.locator);
  WireTemplate::Store<uint64_t>(out, at, shape->token_mac, command.token.mac);
  WireTemplate::Store<uint64_t>(out, at, shape->hold, command.hold);
  WireTemplate::Store<uint64_t>(out, at, shape->hold_proof, command.hold_proof);
  WireTemplate::Store<int64_t>(out, at, shape->amount, command.amount);
  for (uint32_t i = 0; i < shape->seat_count; ++i) {
    WireTemplate::Store<uint32_t>(out, at, shape->seats + i * sizeof(uint32_t), command.seats[i]);
  }
  return true;
}

void AppendTemplatedCommandResponse(uint64_t id, const Reply& reply, std::vector<uint8_t>* out) {
  const ReplyShape& shape = TheReplyShape();
  const size_t at = shape.frame.AppendTo(out);
  WireTemplate::Store<uint64_t>(out, at, shape.id, id);
  WireTemplate::Store<uint16_t>(out, at, shape.code, static_cast<uint16_t>(reply.code));
  WireTemplate::Store<uint64_t>(out, at, shape.hold, reply.hold);
  WireTemplate::Store<int64_t>(out, at, shape.hold_deadline_ms, reply.hold_deadline_ms);
  WireTemplate::Store<uint64_t>(out, at, shape.payment, reply.payment);
  WireTemplate::Store<int64_t>(out, at, shape.amount, reply.amount);
  WireTemplate::Store<int64_t>(out, at, shape.balance, reply.balance);
  WireTemplate::Store<uint8_t>(out, at, shape.seat_count, reply.seat_count);
  WireTemplate::Store<uint8_t>(out, at, shape.queue_state, static_cast<uint8_t>(reply.queue_state));
  WireTemplate::Store<uint64_t>(out, at, shape.token_locator, reply.token.locator);
  WireTemplate::Store<uint64_t>(out, at, shape.token_mac, reply.token.mac);
  WireTemplate::Store<uint64_t>(out, at, shape.position, reply.position);
  WireTemplate::Store<int64_t>(out, at, shape.eta_ms, reply.eta_ms);
  WireTemplate::Store<int64_t>(out, at, shape.active_deadline_ms, reply.active_deadline_ms);
  WireTemplate::Store<uint64_t>(out, at, shape.hold_proof, reply.hold_proof);
}

bool IsTemplatedCommandRequest(std::span<const uint8_t> payload) {
  for (const RequestShape* shape : Shapes().all) {
    if (shape->frame.Matches(payload)) return true;
  }
  return false;
}

bool IsTemplatedCommandResponse(std::span<const uint8_t> payload) {
  return TheReplyShape().frame.Matches(payload);
}

}  // namespace encore::net::internal
