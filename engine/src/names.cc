// Stable names of the enums, as they appear in logs, docs, metrics and --json
// output: each from its enum's list, so a value and its name are written once.
#include "encore/command.h"
#include "encore/core.h"
#include "encore/event.h"
#include "encore/result_code.h"

namespace encore {

// A case of a name switch: every list starts X(enumerator, value, name, ...),
// and each function below names its enum `Enum`.
#define ENCORE_NAME_CASE(enumerator, value, name, ...) \
  case Enum::enumerator:                               \
    return name;

std::string_view ResultCodeName(ResultCode code) {
  using Enum = ResultCode;
  switch (code) { ENCORE_RESULT_CODES(ENCORE_NAME_CASE) }
  return "UNKNOWN";
}

std::string_view QueueStateName(QueueState state) {
  using Enum = QueueState;
  switch (state) { ENCORE_QUEUE_STATES(ENCORE_NAME_CASE) }
  return "UNKNOWN";
}

std::string_view SeatStateName(SeatState state) {
  using Enum = SeatState;
  switch (state) { ENCORE_SEAT_STATES(ENCORE_NAME_CASE) }
  return "UNKNOWN";
}

std::string_view LedgerEntryTypeName(LedgerEntryType type) {
  using Enum = LedgerEntryType;
  switch (type) { ENCORE_LEDGER_ENTRY_TYPES(ENCORE_NAME_CASE) }
  return "UNKNOWN";
}

std::string_view CommandTypeName(CommandType type) {
  using Enum = CommandType;
  switch (type) { ENCORE_COMMAND_TYPES(ENCORE_NAME_CASE) }
  return "unknown";
}

std::string_view EventTypeName(EventType type) {
  using Enum = EventType;
  switch (type) { ENCORE_EVENT_TYPES(ENCORE_NAME_CASE) }
  return "UNKNOWN";
}

#undef ENCORE_NAME_CASE

}  // namespace encore
