// Small POSIX file helpers of the persistence library: whole writes and
// reads, durable directory entries, and gentle removal of large files.
// Thread-safe (no shared state).
#ifndef ENCORE_PERSISTENCE_INTERNAL_FILE_UTIL_H_
#define ENCORE_PERSISTENCE_INTERNAL_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace encore::persistence::internal {

// InternalError "`what`: <strerror(errno)>".
[[nodiscard]] absl::Status ErrnoStatus(const std::string& what);

// Writes every byte of `bytes` at the file's offset; false with errno set.
bool WriteAll(int fd, const void* bytes, size_t size);

// Reads up to `size` bytes at `offset`; fewer only at the end of the file.
// -1 with errno set on error.
ssize_t ReadAt(int fd, void* out, size_t size, uint64_t offset);

// fsyncs the directory `path`, so that the entries created or renamed in it
// survive a power loss.
[[nodiscard]] absl::Status SyncDirectory(const std::string& path);

// Removes the file at `path` a slice at a time: ftruncate by 16 MB, a short
// pause, and so on, then unlink. Unlinking a 640 MB file at once frees all
// its extents in one ext4 journal commit, which a concurrent fdatasync of the
// log waits for: 58 ms, where slices of 16 MB kept it under 4 ms
// (docs/PERFORMANCE.md). Best effort, like the unlink.
void RemoveFileGradually(const std::string& path);

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_FILE_UTIL_H_
