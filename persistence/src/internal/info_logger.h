// RocksDB's info LOG, written so that a full disk cannot bring the process down.
//
// RocksDB 7.8's own file logger (EnvLogger) asserts when it appends after a
// failed append (WritableFileWriter::AssertFalseAndGetStatusForPrevError), and
// Debian's librocksdb keeps assertions: on a full disk the first failed LOG
// line, then the next one, aborted the whole server. This logger writes each
// line with one write(2) to <dir>/LOG and drops a line it cannot write (the
// count is kept); the journal's own errors still come back from Write().
// Past max_bytes, LOG is renamed LOG.old and a new one started.
//
// Thread safety: Logv may be called from any thread (RocksDB's threads).
#ifndef ENCORE_PERSISTENCE_INTERNAL_INFO_LOGGER_H_
#define ENCORE_PERSISTENCE_INTERNAL_INFO_LOGGER_H_

#include <cstddef>
#include <memory>
#include <string>

#include "rocksdb/env.h"

namespace encore::persistence::internal {

// A logger for `dir` (which must exist); null if LOG cannot be opened (RocksDB
// then opens its own).
std::shared_ptr<rocksdb::Logger> OpenInfoLogger(const std::string& dir, size_t max_bytes);

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_INFO_LOGGER_H_
