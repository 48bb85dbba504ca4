#include "internal/info_logger.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace encore::persistence::internal {
namespace {

class InfoLogger final : public rocksdb::Logger {
 public:
  InfoLogger(std::string path, int fd, size_t max_bytes)
      : path_(std::move(path)), fd_(fd), max_bytes_(max_bytes) {
    const off_t size = lseek(fd_, 0, SEEK_END);
    bytes_ = size > 0 ? static_cast<size_t>(size) : 0;
  }
  ~InfoLogger() override { close(fd_); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list arguments) override {
    char line[1024];
    timeval now{};
    gettimeofday(&now, nullptr);
    tm parts{};
    localtime_r(&now.tv_sec, &parts);
    int used = std::snprintf(line, sizeof(line), "%04d/%02d/%02d-%02d:%02d:%02d.%06ld ",
                             parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
                             parts.tm_min, parts.tm_sec, static_cast<long>(now.tv_usec));
    if (used < 0) return;
    va_list copy;
    va_copy(copy, arguments);
    const int text = std::vsnprintf(line + used, sizeof(line) - used - 1, format, copy);
    va_end(copy);
    if (text < 0) return;
    used = std::min<int>(used + text, sizeof(line) - 2);
    if (line[used - 1] != '\n') line[used++] = '\n';
    std::lock_guard<std::mutex> lock(mutex_);
    if (bytes_ + used > max_bytes_) Roll();
    // One write per line; a line that does not fit on the disk is dropped.
    if (write(fd_, line, static_cast<size_t>(used)) == used) {
      bytes_ += static_cast<size_t>(used);
    } else {
      ++dropped_;
    }
  }

 private:
  // REQUIRES: mutex_ held.
  void Roll() {
    if (std::rename(path_.c_str(), (path_ + ".old").c_str()) != 0) return;
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;  // Keep writing the renamed file.
    close(fd_);
    fd_ = fd;
    bytes_ = 0;
  }

  const std::string path_;
  std::mutex mutex_;
  int fd_;  // Under mutex_.
  const size_t max_bytes_;
  size_t bytes_ = 0;      // Under mutex_.
  uint64_t dropped_ = 0;  // Under mutex_.
};

}  // namespace

std::shared_ptr<rocksdb::Logger> OpenInfoLogger(const std::string& dir, size_t max_bytes) {
  const std::string path = dir + "/LOG";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return nullptr;
  return std::make_shared<InfoLogger>(path, fd, max_bytes);
}

}  // namespace encore::persistence::internal
