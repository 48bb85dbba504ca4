// Stable names of the enums, as they appear in logs, docs, metrics and --json
// output: each from its enum's list, so a value and its name are written once.
#include "encore/command.h"
#include "encore/core.h"
#include "encore/event.h"
#include "encore/result_code.h"

namespace encore {

std::string_view ResultCodeName(ResultCode code) {
  switch (code) {
#define ENCORE_X(enumerator, value, name, wire_name) \
  case ResultCode::enumerator:                       \
    return name;
    ENCORE_RESULT_CODES(ENCORE_X)
#undef ENCORE_X
  }
  return "UNKNOWN";
}

std::string_view QueueStateName(QueueState state) {
  switch (state) {
#define ENCORE_X(enumerator, value, name, wire_name) \
  case QueueState::enumerator:                       \
    return name;
    ENCORE_QUEUE_STATES(ENCORE_X)
#undef ENCORE_X
  }
  return "UNKNOWN";
}

std::string_view SeatStateName(SeatState state) {
  switch (state) {
#define ENCORE_X(enumerator, value, name, wire_name) \
  case SeatState::enumerator:                        \
    return name;
    ENCORE_SEAT_STATES(ENCORE_X)
#undef ENCORE_X
  }
  return "UNKNOWN";
}

std::string_view LedgerEntryTypeName(LedgerEntryType type) {
  switch (type) {
#define ENCORE_X(enumerator, value, name, wire_name) \
  case LedgerEntryType::enumerator:                  \
    return name;
    ENCORE_LEDGER_ENTRY_TYPES(ENCORE_X)
#undef ENCORE_X
  }
  return "UNKNOWN";
}

std::string_view CommandTypeName(CommandType type) {
  switch (type) {
#define ENCORE_X(enumerator, value, name) \
  case CommandType::enumerator:           \
    return name;
    ENCORE_COMMAND_TYPES(ENCORE_X)
#undef ENCORE_X
  }
  return "unknown";
}

std::string_view EventTypeName(EventType type) {
  switch (type) {
#define ENCORE_X(enumerator, value, name, event) \
  case EventType::enumerator:                    \
    return name;
    ENCORE_EVENT_TYPES(ENCORE_X)
#undef ENCORE_X
  }
  return "UNKNOWN";
}

}  // namespace encore
