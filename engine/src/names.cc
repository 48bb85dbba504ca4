// Stable names of the enums, as they appear in logs, docs and --json output.
#include "encore/event.h"
#include "encore/result_code.h"

namespace encore {

std::string_view ResultCodeName(ResultCode code) {
  switch (code) {
    case ResultCode::kOk:
      return "OK";
    case ResultCode::kBusy:
      return "BUSY";
    case ResultCode::kUnavailable:
      return "UNAVAILABLE";
    case ResultCode::kUnsupported:
      return "UNSUPPORTED";
    case ResultCode::kMalformed:
      return "MALFORMED";
    case ResultCode::kUnauthorized:
      return "UNAUTHORIZED";
    case ResultCode::kMissingRequestKey:
      return "MISSING_REQUEST_KEY";
    case ResultCode::kRequestKeyReused:
      return "REQUEST_KEY_REUSED";
    case ResultCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case ResultCode::kInvalidAmount:
      return "INVALID_AMOUNT";
    case ResultCode::kInvalidSeatCount:
      return "INVALID_SEAT_COUNT";
    case ResultCode::kDuplicateSeat:
      return "DUPLICATE_SEAT";
    case ResultCode::kConcertNotFound:
      return "CONCERT_NOT_FOUND";
    case ResultCode::kScheduleNotFound:
      return "SCHEDULE_NOT_FOUND";
    case ResultCode::kSeatNotFound:
      return "SEAT_NOT_FOUND";
    case ResultCode::kHoldNotFound:
      return "HOLD_NOT_FOUND";
    case ResultCode::kTokenInvalid:
      return "TOKEN_INVALID";
    case ResultCode::kTokenWrongSchedule:
      return "TOKEN_WRONG_SCHEDULE";
    case ResultCode::kTokenWrongUser:
      return "TOKEN_WRONG_USER";
    case ResultCode::kTokenNotActive:
      return "TOKEN_NOT_ACTIVE";
    case ResultCode::kTokenExpired:
      return "TOKEN_EXPIRED";
    case ResultCode::kHoldProofInvalid:
      return "HOLD_PROOF_INVALID";
    case ResultCode::kConcertExists:
      return "CONCERT_EXISTS";
    case ResultCode::kScheduleExists:
      return "SCHEDULE_EXISTS";
    case ResultCode::kSaleNotOpen:
      return "SALE_NOT_OPEN";
    case ResultCode::kSaleClosed:
      return "SALE_CLOSED";
    case ResultCode::kHoldNotOwned:
      return "HOLD_NOT_OWNED";
    case ResultCode::kHoldExpired:
      return "HOLD_EXPIRED";
    case ResultCode::kHoldReleased:
      return "HOLD_RELEASED";
    case ResultCode::kAlreadyPaid:
      return "ALREADY_PAID";
    case ResultCode::kPaymentInProgress:
      return "PAYMENT_IN_PROGRESS";
    case ResultCode::kSeatUnavailable:
      return "SEAT_UNAVAILABLE";
    case ResultCode::kSeatLimitExceeded:
      return "SEAT_LIMIT_EXCEEDED";
    case ResultCode::kQueueFull:
      return "QUEUE_FULL";
    case ResultCode::kAccountsFull:
      return "ACCOUNTS_FULL";
    case ResultCode::kInsufficientBalance:
      return "INSUFFICIENT_BALANCE";
    case ResultCode::kBalanceOverflow:
      return "BALANCE_OVERFLOW";
  }
  return "UNKNOWN";
}

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kConcertCreated:
      return "CONCERT_CREATED";
    case EventType::kScheduleCreated:
      return "SCHEDULE_CREATED";
    case EventType::kAdmissionPolicyChanged:
      return "ADMISSION_POLICY_CHANGED";
    case EventType::kQueueEntered:
      return "QUEUE_ENTERED";
    case EventType::kQueueHeartbeat:
      return "QUEUE_HEARTBEAT";
    case EventType::kQueueAdmitted:
      return "QUEUE_ADMITTED";
    case EventType::kQueueEnded:
      return "QUEUE_ENDED";
    case EventType::kSeatsHeld:
      return "SEATS_HELD";
    case EventType::kSeatsHeldRecorded:
      return "SEATS_HELD_RECORDED";
    case EventType::kHoldEnded:
      return "HOLD_ENDED";
    case EventType::kPaymentStarted:
      return "PAYMENT_STARTED";
    case EventType::kPaymentSettled:
      return "PAYMENT_SETTLED";
    case EventType::kPaymentCompleted:
      return "PAYMENT_COMPLETED";
    case EventType::kAccountCharged:
      return "ACCOUNT_CHARGED";
    case EventType::kAccountDebited:
      return "ACCOUNT_DEBITED";
    case EventType::kRequestRecorded:
      return "REQUEST_RECORDED";
  }
  return "UNKNOWN";
}

}  // namespace encore
