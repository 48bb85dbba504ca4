// Result codes: fixed values and names, and precedence (the smallest applicable code wins).
#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

constexpr UserId kAlice = 1;
constexpr UserId kBob = 2;

struct CodeRow {
  ResultCode code;
  uint16_t value;
  std::string_view name;
};

// In declaration order. The values are the wire contract: never renumbered.
constexpr CodeRow kCodes[] = {
    {ResultCode::kOk, 0, "OK"},
    {ResultCode::kBusy, 100, "BUSY"},
    {ResultCode::kUnavailable, 101, "UNAVAILABLE"},
    {ResultCode::kUnsupported, 102, "UNSUPPORTED"},
    {ResultCode::kMalformed, 103, "MALFORMED"},
    {ResultCode::kUnauthorized, 104, "UNAUTHORIZED"},
    {ResultCode::kMissingRequestKey, 200, "MISSING_REQUEST_KEY"},
    {ResultCode::kRequestKeyReused, 201, "REQUEST_KEY_REUSED"},
    {ResultCode::kInvalidArgument, 202, "INVALID_ARGUMENT"},
    {ResultCode::kInvalidAmount, 203, "INVALID_AMOUNT"},
    {ResultCode::kInvalidSeatCount, 204, "INVALID_SEAT_COUNT"},
    {ResultCode::kDuplicateSeat, 205, "DUPLICATE_SEAT"},
    {ResultCode::kConcertNotFound, 300, "CONCERT_NOT_FOUND"},
    {ResultCode::kScheduleNotFound, 301, "SCHEDULE_NOT_FOUND"},
    {ResultCode::kSeatNotFound, 302, "SEAT_NOT_FOUND"},
    {ResultCode::kHoldNotFound, 303, "HOLD_NOT_FOUND"},
    {ResultCode::kTokenInvalid, 400, "TOKEN_INVALID"},
    {ResultCode::kTokenWrongSchedule, 401, "TOKEN_WRONG_SCHEDULE"},
    {ResultCode::kTokenWrongUser, 402, "TOKEN_WRONG_USER"},
    {ResultCode::kTokenNotActive, 403, "TOKEN_NOT_ACTIVE"},
    {ResultCode::kTokenExpired, 404, "TOKEN_EXPIRED"},
    {ResultCode::kHoldProofInvalid, 405, "HOLD_PROOF_INVALID"},
    {ResultCode::kConcertExists, 500, "CONCERT_EXISTS"},
    {ResultCode::kScheduleExists, 501, "SCHEDULE_EXISTS"},
    {ResultCode::kSaleNotOpen, 502, "SALE_NOT_OPEN"},
    {ResultCode::kSaleClosed, 503, "SALE_CLOSED"},
    {ResultCode::kHoldNotOwned, 504, "HOLD_NOT_OWNED"},
    {ResultCode::kHoldExpired, 505, "HOLD_EXPIRED"},
    {ResultCode::kHoldReleased, 506, "HOLD_RELEASED"},
    {ResultCode::kAlreadyPaid, 507, "ALREADY_PAID"},
    {ResultCode::kPaymentInProgress, 508, "PAYMENT_IN_PROGRESS"},
    {ResultCode::kSeatUnavailable, 509, "SEAT_UNAVAILABLE"},
    {ResultCode::kSeatLimitExceeded, 510, "SEAT_LIMIT_EXCEEDED"},
    {ResultCode::kQueueFull, 511, "QUEUE_FULL"},
    {ResultCode::kAccountsFull, 512, "ACCOUNTS_FULL"},
    {ResultCode::kInsufficientBalance, 600, "INSUFFICIENT_BALANCE"},
    {ResultCode::kBalanceOverflow, 601, "BALANCE_OVERFLOW"},
};

// Compile-time pins: renumbering any of these breaks the build of this test.
static_assert(static_cast<uint16_t>(ResultCode::kOk) == 0);
static_assert(static_cast<uint16_t>(ResultCode::kMissingRequestKey) == 200);
static_assert(static_cast<uint16_t>(ResultCode::kScheduleNotFound) == 301);
static_assert(static_cast<uint16_t>(ResultCode::kTokenExpired) == 404);
static_assert(static_cast<uint16_t>(ResultCode::kSeatUnavailable) == 509);
static_assert(static_cast<uint16_t>(ResultCode::kInsufficientBalance) == 600);

TEST(ResultCodeTest, EveryCodeHasItsFixedValueAndName) {
  for (const CodeRow& row : kCodes) {
    EXPECT_EQ(static_cast<uint16_t>(row.code), row.value) << row.name;
    EXPECT_EQ(ResultCodeName(row.code), row.name) << row.value;
  }
}

TEST(ResultCodeTest, ValuesAscendInDeclarationOrder) {
  for (size_t i = 1; i < std::size(kCodes); ++i) {
    EXPECT_LT(kCodes[i - 1].value, kCodes[i].value) << kCodes[i].name;
  }
}

TEST(ResultCodeTest, NamesAreUniqueAndUpperSnakeCase) {
  std::set<std::string_view> names;
  for (const CodeRow& row : kCodes) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    for (char c : row.name) EXPECT_TRUE((c >= 'A' && c <= 'Z') || c == '_') << row.name;
  }
  EXPECT_FALSE(names.contains("UNKNOWN"));
}

TEST(ResultCodeTest, TheTableListsEveryNamedCode) {
  // Any value with a name must be in kCodes, so a code added to the enum
  // without being added here (and to the wire schema) fails.
  std::set<uint16_t> listed;
  for (const CodeRow& row : kCodes) listed.insert(row.value);
  for (uint32_t value = 0; value <= UINT16_MAX; ++value) {
    const std::string_view name = ResultCodeName(static_cast<ResultCode>(value));
    if (listed.contains(static_cast<uint16_t>(value))) continue;
    EXPECT_EQ(name, "UNKNOWN") << value;
  }
}

TEST(ResultCodeTest, ValuesOutsideTheEnumAreUnknown) {
  for (uint16_t value : {1, 99, 105, 206, 304, 406, 513, 602, 999, UINT16_MAX}) {
    EXPECT_EQ(ResultCodeName(static_cast<ResultCode>(value)), "UNKNOWN") << value;
  }
}

TEST(ResultCodeTest, TheListIsThePinnedTable) {
  // kResultCodes comes from ENCORE_RESULT_CODES, as do the enum and the names:
  // the list holds exactly the pinned codes, in the same order.
  ASSERT_EQ(std::size(kResultCodes), std::size(kCodes));
  for (size_t i = 0; i < std::size(kCodes); ++i) {
    EXPECT_EQ(kResultCodes[i], kCodes[i].code) << kCodes[i].name;
  }
}

TEST(ResultCodeTest, EveryListedCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (ResultCode code : kResultCodes) {
    const std::string_view name = ResultCodeName(code);
    EXPECT_NE(name, "UNKNOWN") << static_cast<uint16_t>(code);
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(names.size(), std::size(kResultCodes));
}

// Precedence: a command that fails several checks gets the smallest code.

TEST(ResultCodePrecedenceTest, SeatCountBeforeUnknownSchedule) {
  CoreHarness harness;
  Command command = HoldCommand(kSchedule + 1, kAlice, QueueToken{}, {}, 0);
  EXPECT_EQ(harness.Run(command).code, ResultCode::kInvalidSeatCount);
  command.seat_count = kHoldSeatsMax + 1;
  EXPECT_EQ(harness.Run(command).code, ResultCode::kInvalidSeatCount);
}

TEST(ResultCodePrecedenceTest, DuplicateSeatBeforeUnknownScheduleAndSeatRange) {
  CoreHarness harness;
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule + 1, kAlice, QueueToken{}, {500, 500}, 0)).code,
            ResultCode::kDuplicateSeat);
}

TEST(ResultCodePrecedenceTest, UnknownScheduleBeforeBadToken) {
  CoreHarness harness;
  const QueueToken forged{12345, 67890};
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule + 1, kAlice, forged, {0}, 0)).code,
            ResultCode::kScheduleNotFound);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule + 1, kAlice, QueueToken{}, {0}, 0)).code,
            ResultCode::kScheduleNotFound);
  EXPECT_EQ(harness.Run(PayCommand(kSchedule + 1, kAlice, forged, 1, 0)).code,
            ResultCode::kScheduleNotFound);
}

TEST(ResultCodePrecedenceTest, SeatOutOfRangeBeforeBadToken) {
  CoreHarness harness;
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, QueueToken{}, {100}, 0)).code,
            ResultCode::kSeatNotFound);
}

TEST(ResultCodePrecedenceTest, BadTokenBeforeSeatUnavailable) {
  CoreHarness harness;
  QueueToken alice;
  ASSERT_NE(harness.HoldFor(kAlice, {0}, &alice), 0u);
  // Seat 0 is held; every token problem is reported before that.
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, QueueToken{}, {0}, 0)).code,
            ResultCode::kTokenInvalid);
  QueueToken forged = alice;
  forged.mac ^= 1;
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, forged, {0}, 0)).code,
            ResultCode::kTokenInvalid);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, alice, {0}, 0)).code,
            ResultCode::kTokenWrongUser);

  ScheduleConfig other = MakeScheduleConfig(kSchedule + 1);
  ASSERT_TRUE(harness.Run(CreateScheduleCommand(other, 0)).ok());
  const QueueToken bob_other = harness.Admit(kBob, kSchedule + 1);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kBob, bob_other, {0}, 0)).code,
            ResultCode::kTokenWrongSchedule);
}

TEST(ResultCodePrecedenceTest, ExpiredTokenBeforeSeatLimit) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 100'000, 0)).ok());
  QueueToken token;
  const HoldId hold = harness.HoldFor(kAlice, {0, 1, 2, 3}, &token);
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, token, hold, 0)).ok());
  // The token is DONE and Alice is at her limit: the token is reported.
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, token, {4}, 0)).code,
            ResultCode::kTokenExpired);
}

TEST(ResultCodePrecedenceTest, SaleClosedBeforeSeatUnavailable) {
  CoreHarness harness;
  harness.AdvanceTo(kSaleClosesMs - 1'000);
  QueueToken alice;
  ASSERT_NE(harness.HoldFor(kAlice, {0}, &alice), 0u);
  harness.AdvanceTo(kSaleClosesMs);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {0}, 0)).code,
            ResultCode::kSaleClosed);
}

TEST(ResultCodePrecedenceTest, SeatUnavailableBeforeSeatLimit) {
  CoreHarness harness;
  QueueToken bob;
  ASSERT_NE(harness.HoldFor(kBob, {0}, &bob), 0u);
  const QueueToken alice = harness.Admit(kAlice);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule, kAlice, alice, {0, 1, 2, 3, 4}, 0)).code,
            ResultCode::kSeatUnavailable);
}

TEST(ResultCodePrecedenceTest, UnknownHoldBeforeBadToken) {
  CoreHarness harness;
  EXPECT_EQ(harness.Run(PayCommand(kSchedule, kAlice, QueueToken{}, 42, 0)).code,
            ResultCode::kHoldNotFound);
}

TEST(ResultCodePrecedenceTest, BadTokenBeforeForeignHold) {
  CoreHarness harness;
  QueueToken alice;
  const HoldId hold = harness.HoldFor(kAlice, {0}, &alice);
  ASSERT_NE(hold, 0u);
  EXPECT_EQ(harness.Run(PayCommand(kSchedule, kBob, QueueToken{}, hold, 0)).code,
            ResultCode::kTokenInvalid);
}

TEST(ResultCodePrecedenceTest, HoldStateBeforeBalance) {
  CoreHarness harness;  // Nobody has any points.
  QueueToken alice;
  const HoldId hold = harness.HoldFor(kAlice, {0}, &alice);
  ASSERT_NE(hold, 0u);
  const QueueToken bob = harness.Admit(kBob);
  EXPECT_EQ(harness.Run(PayCommand(kSchedule, kBob, bob, hold, 0)).code, ResultCode::kHoldNotOwned);
  harness.AdvanceBy(kHoldTtlDefaultMs);
  EXPECT_EQ(harness.Run(PayCommand(kSchedule, kAlice, alice, hold, 0)).code,
            ResultCode::kHoldExpired);
}

TEST(ResultCodePrecedenceTest, ForeignEndedHoldIsNotOwned) {
  // HOLD_NOT_OWNED (504) precedes HOLD_EXPIRED (505), HOLD_RELEASED (506)
  // and ALREADY_PAID (507): a user is told a foreign hold is not theirs, not
  // what became of it.
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 100'000, 0)).ok());
  QueueToken alice;
  const HoldId released = harness.HoldFor(kAlice, {0}, &alice);
  ASSERT_TRUE(harness.Run(ReleaseCommand(kSchedule, kAlice, alice, released, 0)).ok());
  const HoldId paid = harness.Run(HoldCommand(kSchedule, kAlice, alice, {1}, 0)).hold;
  ASSERT_TRUE(harness.Run(PayCommand(kSchedule, kAlice, alice, paid, 0)).ok());
  const QueueToken alice_again = harness.Admit(kAlice);
  const HoldId expired = harness.Run(HoldCommand(kSchedule, kAlice, alice_again, {2}, 0)).hold;
  ASSERT_NE(expired, 0u);
  harness.AdvanceBy(kHoldTtlDefaultMs);
  const QueueToken bob = harness.Admit(kBob);

  for (HoldId hold : {released, paid, expired}) {
    SCOPED_TRACE(hold);
    EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kBob, bob, hold, 0)).code,
              ResultCode::kHoldNotOwned);
    EXPECT_EQ(harness.Run(PayCommand(kSchedule, kBob, bob, hold, 0)).code,
              ResultCode::kHoldNotOwned);
  }
}

TEST(ResultCodePrecedenceTest, ReleaseChecksHoldThenProofThenHoldState) {
  // HOLD_NOT_FOUND (303) precedes the proof (4xx), which precedes what became
  // of the hold (5xx): an unproven release learns nothing about the hold.
  CoreHarness harness;
  const QueueToken alice = harness.Admit(kAlice);
  const Reply held = harness.Run(HoldCommand(kSchedule, kAlice, alice, {0}, 0));
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, QueueToken{}, held.hold + 1, 0)).code,
            ResultCode::kHoldNotFound);
  ASSERT_TRUE(harness.Run(ReleaseCommand(kSchedule, kAlice, alice, held.hold, 0)).ok());
  EXPECT_EQ(harness.Run(ReleaseCommand(kSchedule, kAlice, QueueToken{}, held.hold, 0)).code,
            ResultCode::kTokenInvalid);
  EXPECT_EQ(
      harness.Run(ReleaseWithProofCommand(kSchedule, kAlice, held.hold, held.hold_proof ^ 1, 0))
          .code,
      ResultCode::kHoldProofInvalid);
  EXPECT_EQ(
      harness.Run(ReleaseWithProofCommand(kSchedule, kAlice, held.hold, held.hold_proof, 0)).code,
      ResultCode::kHoldReleased);
}

TEST(ResultCodePrecedenceTest, MissingRequestKeyBeforeEverythingButUnsupported) {
  CoreHarness harness;
  EventBuffer events;
  Command command = HoldCommand(kSchedule + 1, kAlice, QueueToken{}, {}, 0);
  EXPECT_EQ(harness.core().Apply(command, harness.now(), &events).code,
            ResultCode::kMissingRequestKey);
  command.type = static_cast<CommandType>(99);
  EXPECT_EQ(harness.core().Apply(command, harness.now(), &events).code, ResultCode::kUnsupported);
  EXPECT_TRUE(events.empty());
}

TEST(ResultCodePrecedenceTest, ReusedKeyBeforeTheCommandsOwnChecks) {
  CoreHarness harness;
  ASSERT_TRUE(harness.Run(ChargeCommand(kAlice, 100, 8)).ok());
  EXPECT_EQ(harness.Run(ChargeCommand(kAlice, -1, 8)).code, ResultCode::kRequestKeyReused);
  EXPECT_EQ(harness.Run(HoldCommand(kSchedule + 1, kAlice, QueueToken{}, {}, 8)).code,
            ResultCode::kRequestKeyReused);
}

TEST(ResultCodePrecedenceTest, InvalidAmountBeforeOverflow) {
  CoreHarness harness;
  EXPECT_EQ(harness.Run(ChargeCommand(kAlice, kChargeAmountMax + 1, 0)).code,
            ResultCode::kInvalidAmount);
}

}  // namespace
}  // namespace encore::testing
