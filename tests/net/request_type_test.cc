// RequestType: the `type` label of the request metrics, one per command type
// and per server request, from their lists; pinned labels and the mapping.
#include <cstdint>
#include <iterator>
#include <set>
#include <string_view>
#include <utility>

#include "encore/net/protocol.h"
#include "encore/net/server.h"
#include "gtest/gtest.h"

namespace encore::net {
namespace {

// In order: the index is the latency array's slot.
constexpr std::string_view kLabels[] = {
    "create_concert", "create_schedule", "set_admission_policy", "enter_queue", "queue_status",
    "leave_queue",    "hold_seats",      "release_hold",         "pay",         "charge",
    "balance",        "hello",           "list_schedules",       "seat_map",    "ledger",
    "server_stats",   "other",
};
static_assert(std::size(kLabels) == kRequestTypes);

TEST(RequestTypeTest, LabelsArePinnedAndDistinct) {
  std::set<std::string_view> labels;
  for (uint32_t type = 0; type < kRequestTypes; ++type) {
    EXPECT_EQ(RequestTypeName(static_cast<RequestType>(type)), kLabels[type]) << type;
    EXPECT_TRUE(labels.insert(RequestTypeName(static_cast<RequestType>(type))).second) << type;
  }
  EXPECT_EQ(RequestTypeName(static_cast<RequestType>(kRequestTypes)), "other");
  EXPECT_EQ(RequestTypeName(static_cast<RequestType>(255)), "other");
}

TEST(RequestTypeTest, EveryCommandTypeHasTheRequestTypeOfItsName) {
  uint32_t commands = 0;
  for (uint32_t value = 0; value < 256; ++value) {
    const auto type = static_cast<CommandType>(value);
    const RequestType request_type = RequestTypeOf(type);
    if (!IsCommandType(type)) {
      EXPECT_EQ(request_type, RequestType::kOther) << value;
      continue;
    }
    ++commands;
    EXPECT_EQ(RequestTypeName(request_type), CommandTypeName(type)) << value;
  }
  EXPECT_EQ(commands, static_cast<uint32_t>(RequestType::kHello));
}

TEST(RequestTypeTest, DecodedRequestsMapByKindThenCommand) {
  DecodedRequest request;
  request.kind = RequestKind::kCommand;
  request.command.type = CommandType::kHoldSeats;
  EXPECT_EQ(RequestTypeOf(request), RequestType::kHoldSeats);
  request.command.type = static_cast<CommandType>(99);
  EXPECT_EQ(RequestTypeOf(request), RequestType::kOther);
  const std::pair<RequestKind, RequestType> kinds[] = {
      {RequestKind::kHello, RequestType::kHello},
      {RequestKind::kListSchedules, RequestType::kListSchedules},
      {RequestKind::kSeatMap, RequestType::kSeatMap},
      {RequestKind::kLedger, RequestType::kLedger},
      {RequestKind::kServerStats, RequestType::kServerStats},
  };
  for (const auto& [kind, type] : kinds) {
    request.kind = kind;
    EXPECT_EQ(RequestTypeOf(request), type) << RequestTypeName(type);
  }
  request.kind = static_cast<RequestKind>(0);
  EXPECT_EQ(RequestTypeOf(request), RequestType::kOther);
}

}  // namespace
}  // namespace encore::net
