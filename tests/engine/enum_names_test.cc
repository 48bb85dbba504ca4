// The names of CommandType and EventType: pinned values and
// printed names (the journal, logs and metrics labels carry them), each
// list's names distinct, and values outside the enums unnamed.
#include <cstdint>
#include <iterator>
#include <set>
#include <string_view>

#include "encore/command.h"
#include "encore/core.h"
#include "encore/event.h"
#include "encore/reply.h"
#include "gtest/gtest.h"

namespace encore {
namespace {

template <typename Enum>
struct Row {
  Enum value;
  uint32_t number;
  std::string_view name;
};

constexpr Row<CommandType> kCommandTypes[] = {
    {CommandType::kCreateConcert, 1, "create_concert"},
    {CommandType::kCreateSchedule, 2, "create_schedule"},
    {CommandType::kSetAdmissionPolicy, 3, "set_admission_policy"},
    {CommandType::kEnterQueue, 10, "enter_queue"},
    {CommandType::kQueueStatus, 11, "queue_status"},
    {CommandType::kLeaveQueue, 12, "leave_queue"},
    {CommandType::kHoldSeats, 20, "hold_seats"},
    {CommandType::kReleaseHold, 21, "release_hold"},
    {CommandType::kPay, 22, "pay"},
    {CommandType::kCharge, 30, "charge"},
    {CommandType::kBalance, 31, "balance"},
};

constexpr Row<EventType> kEventTypes[] = {
    {EventType::kConcertCreated, 1, "CONCERT_CREATED"},
    {EventType::kScheduleCreated, 2, "SCHEDULE_CREATED"},
    {EventType::kAdmissionPolicyChanged, 3, "ADMISSION_POLICY_CHANGED"},
    {EventType::kQueueEntered, 10, "QUEUE_ENTERED"},
    {EventType::kQueueHeartbeat, 11, "QUEUE_HEARTBEAT"},
    {EventType::kQueueAdmitted, 12, "QUEUE_ADMITTED"},
    {EventType::kQueueEnded, 13, "QUEUE_ENDED"},
    {EventType::kSeatsHeld, 20, "SEATS_HELD"},
    {EventType::kHoldEnded, 21, "HOLD_ENDED"},
    {EventType::kPaymentStarted, 22, "PAYMENT_STARTED"},
    {EventType::kPaymentSettled, 23, "PAYMENT_SETTLED"},
    {EventType::kPaymentCompleted, 24, "PAYMENT_COMPLETED"},
    {EventType::kSeatsHeldRecorded, 25, "SEATS_HELD_RECORDED"},
    {EventType::kAccountCharged, 30, "ACCOUNT_CHARGED"},
    {EventType::kAccountDebited, 31, "ACCOUNT_DEBITED"},
    {EventType::kRequestRecorded, 40, "REQUEST_RECORDED"},
};

constexpr Row<QueueState> kQueueStates[] = {
    {QueueState::kNone, 0, "NONE"},       {QueueState::kWaiting, 1, "WAITING"},
    {QueueState::kActive, 2, "ACTIVE"},   {QueueState::kDone, 3, "DONE"},
    {QueueState::kExpired, 4, "EXPIRED"}, {QueueState::kLeft, 5, "LEFT"},
};

constexpr Row<SeatState> kSeatStates[] = {
    {SeatState::kAvailable, 0, "AVAILABLE"},
    {SeatState::kHeld, 1, "HELD"},
    {SeatState::kSold, 2, "SOLD"},
};

constexpr Row<LedgerEntryType> kLedgerEntryTypes[] = {
    {LedgerEntryType::kCharge, 1, "CHARGE"},
    {LedgerEntryType::kPayment, 2, "PAYMENT"},
    {LedgerEntryType::kRefund, 3, "REFUND"},
};

// The list's size, counted from its X-macro.
#define ENCORE_X(...) +1
constexpr size_t kCommandTypesListed = 0 ENCORE_COMMAND_TYPES(ENCORE_X);
constexpr size_t kEventTypesListed = 0 ENCORE_EVENT_TYPES(ENCORE_X);
static_assert(0 ENCORE_QUEUE_STATES(ENCORE_X) == std::size(kQueueStates));
static_assert(0 ENCORE_SEAT_STATES(ENCORE_X) == std::size(kSeatStates));
static_assert(0 ENCORE_LEDGER_ENTRY_TYPES(ENCORE_X) == std::size(kLedgerEntryTypes));
#undef ENCORE_X
static_assert(kCommandTypesListed == std::size(kCommandTypes));
static_assert(kEventTypesListed == std::size(kEventTypes));

// Every value of the enum's underlying range that is not pinned gets
// `unknown`; the pinned ones get their name, and no two share one.
template <typename Enum, size_t kRows, typename NameOf>
void ExpectNames(const Row<Enum> (&rows)[kRows], uint32_t range, std::string_view unknown,
                 NameOf name_of) {
  std::set<std::string_view> names;
  std::set<uint32_t> numbers;
  for (const Row<Enum>& row : rows) {
    EXPECT_EQ(static_cast<uint32_t>(row.value), row.number) << row.name;
    EXPECT_EQ(name_of(row.value), row.name) << row.number;
    EXPECT_NE(row.name, unknown);
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    numbers.insert(row.number);
  }
  for (uint32_t number = 0; number < range; ++number) {
    if (numbers.contains(number)) continue;
    EXPECT_EQ(name_of(static_cast<Enum>(number)), unknown) << number;
  }
}

TEST(CommandTypeTest, EveryTypeHasItsFixedValueAndName) {
  ExpectNames(kCommandTypes, 256, "unknown", CommandTypeName);
}

TEST(CommandTypeTest, IsCommandTypeHoldsForTheListedValuesOnly) {
  std::set<uint32_t> listed;
  for (const auto& row : kCommandTypes) listed.insert(row.number);
  for (uint32_t number = 0; number < 256; ++number) {
    EXPECT_EQ(IsCommandType(static_cast<CommandType>(number)), listed.contains(number)) << number;
  }
}

TEST(EventTypeTest, EveryTypeHasItsFixedValueAndName) {
  ExpectNames(kEventTypes, 1 << 16, "UNKNOWN", EventTypeName);
}

TEST(StateNamesTest, QueueSeatAndLedgerNamesComeFromTheirLists) {
  ExpectNames(kQueueStates, 256, "UNKNOWN", QueueStateName);
  ExpectNames(kSeatStates, 256, "UNKNOWN", SeatStateName);
  ExpectNames(kLedgerEntryTypes, 256, "UNKNOWN", LedgerEntryTypeName);
}

}  // namespace
}  // namespace encore
