// A fault before each group write of a RocksDbJournal: the failure tests'
// way to make a write fail, kept out of the public options.
//
// The fault in effect when RocksDbJournal::Open runs is the opened journal's
// for its whole life: its writer thread calls it before each group write and
// takes a non-OK status as the write's failure. Setting another one later
// changes only journals opened after it.
//
// Thread safety: SetWriteFault and Open may run on any threads.
#ifndef ENCORE_PERSISTENCE_INTERNAL_WRITE_FAULT_H_
#define ENCORE_PERSISTENCE_INTERNAL_WRITE_FAULT_H_

#include <functional>

#include "absl/status/status.h"

namespace encore::persistence::internal {

using WriteFault = std::function<absl::Status()>;

// The fault for journals opened from now on; nullptr: none (the default).
void SetWriteFault(WriteFault fault);

// The fault in effect now (what Open takes).
WriteFault CurrentWriteFault();

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_WRITE_FAULT_H_
