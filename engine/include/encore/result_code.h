// The result of every command: one numeric enum, never renumbered.
//
// Codes are grouped in hundreds and ordered by precedence: the engine checks a
// command in this order and reports the first check that fails, so when
// several apply the smallest code wins. (A check that needs a thing comes
// after the check that it exists: that is why a seat out of range is "not
// found", 3xx, and not an argument error.) A business refusal (sold
// out, insufficient balance) is a result, not an error. The wire schema mirrors
// this enum one to one (net/schema/encore.fbs).
#ifndef ENCORE_RESULT_CODE_H_
#define ENCORE_RESULT_CODE_H_

#include <cstdint>
#include <string_view>

namespace encore {

// Every code, in ascending order: X(enumerator, value, name, wire name).
// `name` is what logs, the journal and metrics print (ResultCodeName); `wire
// name` is the code in net/schema/encore.fbs, which the codec checks against
// this list at compile time.
#define ENCORE_RESULT_CODES(X)                                                    \
  X(kOk, 0, "OK", Ok)                                                             \
                                                                                  \
  /* 1xx: the request could not be taken (transport, capacity, service state). */ \
  /* A ring or limit is full; retry later. */                                     \
  X(kBusy, 100, "BUSY", Busy)                                                     \
  /* Shutting down, or the journal failed. */                                     \
  X(kUnavailable, 101, "UNAVAILABLE", Unavailable)                                \
  /* Unknown command or message type. */                                          \
  X(kUnsupported, 102, "UNSUPPORTED", Unsupported)                                \
  /* The frame or command could not be decoded. */                                \
  X(kMalformed, 103, "MALFORMED", Malformed)                                      \
  /* Missing API key, or an admin command off the admin port. */                  \
  X(kUnauthorized, 104, "UNAUTHORIZED", Unauthorized)                             \
                                                                                  \
  /* 2xx: the arguments are wrong. */                                             \
  /* A mutating command needs a non-zero request key. */                          \
  X(kMissingRequestKey, 200, "MISSING_REQUEST_KEY", MissingRequestKey)            \
  /* The key was used before for a different command. */                          \
  X(kRequestKeyReused, 201, "REQUEST_KEY_REUSED", RequestKeyReused)               \
  /* A field is out of its range (see the command). */                            \
  X(kInvalidArgument, 202, "INVALID_ARGUMENT", InvalidArgument)                   \
  /* Amount <= 0 or above the charge bound. */                                    \
  X(kInvalidAmount, 203, "INVALID_AMOUNT", InvalidAmount)                         \
  /* A hold of 0 seats or more than kHoldSeatsMax. */                             \
  X(kInvalidSeatCount, 204, "INVALID_SEAT_COUNT", InvalidSeatCount)               \
  /* The same seat twice in one hold. */                                          \
  X(kDuplicateSeat, 205, "DUPLICATE_SEAT", DuplicateSeat)                         \
                                                                                  \
  /* 3xx: something named does not exist. */                                      \
  X(kConcertNotFound, 300, "CONCERT_NOT_FOUND", ConcertNotFound)                  \
  X(kScheduleNotFound, 301, "SCHEDULE_NOT_FOUND", ScheduleNotFound)               \
  /* A seat index >= the schedule's seat count. */                                \
  X(kSeatNotFound, 302, "SEAT_NOT_FOUND", SeatNotFound)                           \
  X(kHoldNotFound, 303, "HOLD_NOT_FOUND", HoldNotFound)                           \
                                                                                  \
  /* 4xx: the proof the caller presented was refused: the queue token (the */     \
  /* admission gate), or a hold's proof (RELEASE_HOLD). */                        \
  /* Not a token of this engine (forged, corrupted, unknown). */                  \
  X(kTokenInvalid, 400, "TOKEN_INVALID", TokenInvalid)                            \
  /* A token of another schedule. */                                              \
  X(kTokenWrongSchedule, 401, "TOKEN_WRONG_SCHEDULE", TokenWrongSchedule)         \
  /* A real token, presented by another user. */                                  \
  X(kTokenWrongUser, 402, "TOKEN_WRONG_USER", TokenWrongUser)                     \
  /* Still WAITING in the queue. */                                               \
  X(kTokenNotActive, 403, "TOKEN_NOT_ACTIVE", TokenNotActive)                     \
  /* EXPIRED, DONE, LEFT or dropped. */                                           \
  X(kTokenExpired, 404, "TOKEN_EXPIRED", TokenExpired)                            \
  /* Not the proof of this hold for this user. */                                 \
  X(kHoldProofInvalid, 405, "HOLD_PROOF_INVALID", HoldProofInvalid)               \
                                                                                  \
  /* 5xx: the state does not allow it. */                                         \
  X(kConcertExists, 500, "CONCERT_EXISTS", ConcertExists)                         \
  X(kScheduleExists, 501, "SCHEDULE_EXISTS", ScheduleExists)                      \
  X(kSaleNotOpen, 502, "SALE_NOT_OPEN", SaleNotOpen)                              \
  X(kSaleClosed, 503, "SALE_CLOSED", SaleClosed)                                  \
  /* A foreign hold. */                                                           \
  X(kHoldNotOwned, 504, "HOLD_NOT_OWNED", HoldNotOwned)                           \
  X(kHoldExpired, 505, "HOLD_EXPIRED", HoldExpired)                               \
  X(kHoldReleased, 506, "HOLD_RELEASED", HoldReleased)                            \
  X(kAlreadyPaid, 507, "ALREADY_PAID", AlreadyPaid)                               \
  X(kPaymentInProgress, 508, "PAYMENT_IN_PROGRESS", PaymentInProgress)            \
  /* Held or sold by someone (or by this user already). */                        \
  X(kSeatUnavailable, 509, "SEAT_UNAVAILABLE", SeatUnavailable)                   \
  /* Over the schedule's per-user seat limit. */                                  \
  X(kSeatLimitExceeded, 510, "SEAT_LIMIT_EXCEEDED", SeatLimitExceeded)            \
  /* The schedule's queue is at its limit (CoreLimits); retry later. */           \
  X(kQueueFull, 511, "QUEUE_FULL", QueueFull)                                     \
  /* A new account past the shard's limit (CoreLimits). */                        \
  X(kAccountsFull, 512, "ACCOUNTS_FULL", AccountsFull)                            \
                                                                                  \
  /* 6xx: balance. */                                                             \
  X(kInsufficientBalance, 600, "INSUFFICIENT_BALANCE", InsufficientBalance)       \
  X(kBalanceOverflow, 601, "BALANCE_OVERFLOW", BalanceOverflow)

enum class ResultCode : uint16_t {
#define ENCORE_X(enumerator, value, name, wire_name) enumerator = value,
  ENCORE_RESULT_CODES(ENCORE_X)
#undef ENCORE_X
};

// Every code, in ascending order.
inline constexpr ResultCode kResultCodes[] = {
#define ENCORE_X(enumerator, value, name, wire_name) ResultCode::enumerator,
    ENCORE_RESULT_CODES(ENCORE_X)
#undef ENCORE_X
};

// "OK", "SEAT_UNAVAILABLE", ...; "UNKNOWN" for a value outside the enum.
std::string_view ResultCodeName(ResultCode code);

}  // namespace encore

#endif  // ENCORE_RESULT_CODE_H_
