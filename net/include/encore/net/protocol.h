// The wire protocol's framing and its messages as engine types.
//
// A frame is a u32 little-endian payload length and a flatbuffers buffer
// (net/schema/encore.fbs). The codec turns a verified Request buffer into an
// engine Command (or a read), and replies into Response buffers, and back for
// clients. No flatbuffers type appears here: callers see engine types only.
//
// Thread safety: the functions are pure; a FrameReader belongs to one
// connection.
#ifndef ENCORE_NET_PROTOCOL_H_
#define ENCORE_NET_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "encore/command.h"
#include "encore/core.h"
#include "encore/reply.h"

namespace encore::net {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr uint32_t kFrameHeaderBytes = 4;
// Default largest payload a server accepts: 64 KiB.
inline constexpr uint32_t kFrameBytesMaxDefault = 64 * 1024;
// Default most requests in flight per connection: past it the server stops
// reading that connection.
inline constexpr uint32_t kInFlightMaxDefault = 1024;
// Longest strings a request may carry.
inline constexpr size_t kNameBytesMax = 128;
// Most ledger entries in one page.
inline constexpr uint32_t kLedgerPageMax = 1000;

// What a request asks for: an engine command, or one of the requests the
// server answers itself or with a read. Those are listed as X(enumerator,
// value, name): `name` is their `type` label in metrics (RequestTypeName).
#define ENCORE_SERVER_REQUEST_KINDS(X)                                                   \
  X(kHello, 2, "hello")                                                                  \
  X(kListSchedules, 3, "list_schedules") /* command.concert */                           \
  X(kSeatMap, 4, "seat_map")             /* command.schedule, user, token */             \
  X(kLedger, 5, "ledger")                /* command.user, ledger_before, ledger_limit */ \
  X(kServerStats, 6, "server_stats")

enum class RequestKind : uint8_t {
  kCommand = 1,  // An engine command (Command); admin ones need admin rights.
#define ENCORE_X(enumerator, value, name) enumerator = value,
  ENCORE_SERVER_REQUEST_KINDS(ENCORE_X)
#undef ENCORE_X
};

struct HelloRequest {
  uint32_t protocol_version = 0;
  std::string client_name;
  std::string api_key;
};

struct DecodedRequest {
  uint64_t id = 0;
  RequestKind kind = RequestKind::kCommand;
  Command command;
  HelloRequest hello;
  uint64_t ledger_before = 0;
  uint32_t ledger_limit = 0;
  // True for the commands only the admin listener (or admin key) may send.
  bool admin = false;
};

// The outcome of decoding one request payload. `code` is kOk, kMalformed
// (not a Request buffer: the connection is closed), kUnsupported (a Request
// whose body this server does not know: the connection stays) or
// kInvalidArgument (a field no command can hold, e.g. a title too long); the
// id is set whenever the buffer was readable, so the error can be answered.
struct DecodeResult {
  ResultCode code = ResultCode::kOk;
  std::string message;
  DecodedRequest request;
};

DecodeResult DecodeRequest(std::span<const uint8_t> payload);

// --- Responses (server side) --------------------------------------------------

struct HelloReplyInfo {
  uint32_t protocol_version = kProtocolVersion;
  std::string server_name;
  uint32_t frame_bytes_max = kFrameBytesMaxDefault;
  uint32_t in_flight_max = kInFlightMaxDefault;
  bool admin = false;
};

struct ShardFigures {
  uint32_t shard = 0;
  uint64_t last_lsn = 0;
  uint64_t durable_lsn = 0;
  uint64_t snapshots = 0;
};

struct StatsInfo {
  uint32_t connections = 0;
  uint64_t requests = 0;
  std::vector<ShardFigures> shards;
};

// Each appends one whole frame (header and payload) to `out`.
void AppendErrorResponse(uint64_t id, ResultCode code, const std::string& message,
                         std::vector<uint8_t>* out);
void AppendCommandResponse(uint64_t id, const Reply& reply, std::vector<uint8_t>* out);
void AppendHelloResponse(uint64_t id, const HelloReplyInfo& hello, std::vector<uint8_t>* out);
void AppendScheduleListResponse(uint64_t id, const std::vector<ScheduleInfo>& schedules,
                                std::vector<uint8_t>* out);
void AppendSeatMapResponse(uint64_t id, ScheduleId schedule, const std::vector<SeatState>& seats,
                           std::vector<uint8_t>* out);
void AppendLedgerResponse(uint64_t id, const std::vector<LedgerEntry>& entries,
                          uint64_t next_before, std::vector<uint8_t>* out);
void AppendStatsResponse(uint64_t id, const StatsInfo& stats, std::vector<uint8_t>* out);

// --- Requests (client side) ---------------------------------------------------

// Each appends one whole frame to `out`.
void AppendCommandRequest(uint64_t id, const Command& command, std::vector<uint8_t>* out);
void AppendHelloRequest(uint64_t id, const HelloRequest& hello, std::vector<uint8_t>* out);
void AppendListSchedulesRequest(uint64_t id, ConcertId concert, std::vector<uint8_t>* out);
void AppendSeatMapRequest(uint64_t id, ScheduleId schedule, UserId user, const QueueToken& token,
                          std::vector<uint8_t>* out);
void AppendLedgerRequest(uint64_t id, UserId user, uint64_t before, uint32_t limit,
                         std::vector<uint8_t>* out);
void AppendServerStatsRequest(uint64_t id, std::vector<uint8_t>* out);

// What a response carries: X(enumerator, value, wire body), `wire body` being
// its member of the schema's ResponseBody union.
#define ENCORE_RESPONSE_KINDS(X)                                    \
  X(kNone, 0, NONE) /* An error response: only code and message. */ \
  X(kCommand, 1, CommandReply)                                      \
  X(kHello, 2, HelloReply)                                          \
  X(kScheduleList, 3, ScheduleList)                                 \
  X(kSeatMap, 4, SeatMapReply)                                      \
  X(kLedger, 5, LedgerPage)                                         \
  X(kStats, 6, StatsReply)

enum class ResponseKind : uint8_t {
#define ENCORE_X(enumerator, value, wire_body) enumerator = value,
  ENCORE_RESPONSE_KINDS(ENCORE_X)
#undef ENCORE_X
};

struct DecodedResponse {
  uint64_t id = 0;
  ResultCode code = ResultCode::kOk;
  std::string message;
  ResponseKind kind = ResponseKind::kNone;
  Reply reply;                          // kCommand
  HelloReplyInfo hello;                 // kHello
  std::vector<ScheduleInfo> schedules;  // kScheduleList
  std::vector<SeatState> seats;         // kSeatMap
  std::vector<LedgerEntry> ledger;      // kLedger
  uint64_t next_before = 0;             // kLedger
  StatsInfo stats;                      // kStats
};

// Verifies and decodes a response payload; InvalidArgument if it is not one.
[[nodiscard]] absl::StatusOr<DecodedResponse> DecodeResponse(std::span<const uint8_t> payload);

// --- Framing ------------------------------------------------------------------

// Cuts a byte stream into frames. Feed it what arrives; take frames out.
class FrameReader {
 public:
  explicit FrameReader(uint32_t frame_bytes_max = kFrameBytesMaxDefault)
      : frame_bytes_max_(frame_bytes_max) {}

  // Appends received bytes.
  void Feed(std::span<const uint8_t> bytes) {
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  }

  enum class Next : uint8_t { kFrame, kNeedMore, kTooLarge };
  // kFrame: *payload points at the next whole payload, 8-byte aligned as
  // flatbuffers requires (valid until the next call). kTooLarge: the length header exceeds
  // frame_bytes_max (the stream cannot be resynchronized: close it).
  Next NextFrame(std::span<const uint8_t>* payload);
  // Bytes buffered and not yet returned.
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  uint32_t frame_bytes_max_;
  std::vector<uint8_t> buffer_;
  size_t consumed_ = 0;
  // Frames arrive back to back, so a payload may start at any address: one
  // that is not 8-byte aligned is copied here before it is handed out.
  std::vector<uint64_t> aligned_;
};

// Appends a frame header for a payload of `payload_bytes`.
void AppendFrameHeader(uint32_t payload_bytes, std::vector<uint8_t>* out);

}  // namespace encore::net

#endif  // ENCORE_NET_PROTOCOL_H_
