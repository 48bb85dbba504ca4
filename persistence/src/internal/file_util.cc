#include "internal/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace encore::persistence::internal {

absl::Status ErrnoStatus(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

bool WriteAll(int fd, const void* bytes, size_t size) {
  const auto* data = static_cast<const char*>(bytes);
  size_t written = 0;
  while (written < size) {
    const ssize_t got = ::write(fd, data + written, size - written);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (got == 0) errno = EIO;
      return false;
    }
    written += static_cast<size_t>(got);
  }
  return true;
}

ssize_t ReadAt(int fd, void* out, size_t size, uint64_t offset) {
  auto* data = static_cast<char*>(out);
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, data + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

absl::Status SyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening " + path);
  const int synced = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  if (synced != 0) {
    errno = saved_errno;
    return ErrnoStatus("syncing " + path);
  }
  return absl::OkStatus();
}

void RemoveFileGradually(const std::string& path) {
  constexpr off_t kRemoveSliceBytes = off_t{16} << 20;
  constexpr std::chrono::milliseconds kRemovePause{2};
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat status;
    if (::fstat(fd, &status) == 0) {
      for (off_t size = status.st_size; size > kRemoveSliceBytes;) {
        size -= kRemoveSliceBytes;
        if (::ftruncate(fd, size) != 0) break;
        std::this_thread::sleep_for(kRemovePause);
      }
    }
    ::close(fd);
  }
  ::unlink(path.c_str());
}

}  // namespace encore::persistence::internal
