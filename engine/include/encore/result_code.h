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

enum class ResultCode : uint16_t {
  kOk = 0,

  // 1xx: the request could not be taken (transport, capacity, service state).
  kBusy = 100,          // A ring or limit is full; retry later.
  kUnavailable = 101,   // Shutting down, or the journal failed.
  kUnsupported = 102,   // Unknown command or message type.
  kMalformed = 103,     // The frame or command could not be decoded.
  kUnauthorized = 104,  // Missing API key, or an admin command off the admin port.

  // 2xx: the arguments are wrong.
  kMissingRequestKey = 200,  // A mutating command needs a non-zero request key.
  kRequestKeyReused = 201,   // The key was used before for a different command.
  kInvalidArgument = 202,    // A field is out of its range (see the command).
  kInvalidAmount = 203,      // Amount <= 0 or above the charge bound.
  kInvalidSeatCount = 204,   // A hold of 0 seats or more than kHoldSeatsMax.
  kDuplicateSeat = 205,      // The same seat twice in one hold.

  // 3xx: something named does not exist.
  kConcertNotFound = 300,
  kScheduleNotFound = 301,
  kSeatNotFound = 302,  // A seat index >= the schedule's seat count.
  kHoldNotFound = 303,

  // 4xx: the proof the caller presented was refused: the queue token (the
  // admission gate), or a hold's proof (RELEASE_HOLD).
  kTokenInvalid = 400,        // Not a token of this engine (forged, corrupted, unknown).
  kTokenWrongSchedule = 401,  // A token of another schedule.
  kTokenWrongUser = 402,      // A real token, presented by another user.
  kTokenNotActive = 403,      // Still WAITING in the queue.
  kTokenExpired = 404,        // EXPIRED, DONE, LEFT or dropped.
  kHoldProofInvalid = 405,    // Not the proof of this hold for this user.

  // 5xx: the state does not allow it.
  kConcertExists = 500,
  kScheduleExists = 501,
  kSaleNotOpen = 502,
  kSaleClosed = 503,
  kHoldNotOwned = 504,  // A foreign hold.
  kHoldExpired = 505,
  kHoldReleased = 506,
  kAlreadyPaid = 507,
  kPaymentInProgress = 508,
  kSeatUnavailable = 509,    // Held or sold by someone (or by this user already).
  kSeatLimitExceeded = 510,  // Over the schedule's per-user seat limit.
  kQueueFull = 511,          // The schedule's queue is at its limit (CoreLimits); retry later.
  kAccountsFull = 512,       // A new account past the shard's limit (CoreLimits).

  // 6xx: balance.
  kInsufficientBalance = 600,
  kBalanceOverflow = 601,
};

// "OK", "SEAT_UNAVAILABLE", ...; "UNKNOWN" for a value outside the enum.
std::string_view ResultCodeName(ResultCode code);

}  // namespace encore

#endif  // ENCORE_RESULT_CODE_H_
