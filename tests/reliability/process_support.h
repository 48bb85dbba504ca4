// Support for the tests that drive the real programs as processes (kill -9,
// full disks): start encored on ephemeral ports of 127.0.0.1 and read what it
// says, run encore-load, wait for a process with a bound (pidfd + poll, no
// sleeps), kill. Header-only; the programs' paths come from the build
// (ENCORED_BINARY, ENCORE_LOAD_BINARY, ...: tests/CMakeLists.txt).
#ifndef ENCORE_TESTS_RELIABILITY_PROCESS_SUPPORT_H_
#define ENCORE_TESTS_RELIABILITY_PROCESS_SUPPORT_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace encore::testing {

// Whether the programs were built with a sanitizer (slower: tests run less).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

inline uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

// Forks and execs argv[0] with stdout and stderr on `output_fd` (or a file
// `output_path` when output_fd < 0). `in_child` runs in the child before exec
// (e.g. setrlimit). Returns the pid; -1 on failure.
inline pid_t Spawn(const std::vector<std::string>& argv, int output_fd,
                   const std::string& output_path = "",
                   const std::function<void()>& in_child = nullptr) {
  // Everything allocated before fork(): the child of a threaded process may
  // only make async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = output_fd;
  if (fd < 0) fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) _exit(126);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  if (in_child) in_child();
  execv(args[0], args.data());
  _exit(127);
}

// Waits up to timeout_ms for `pid` to end: its wait status, or nullopt (still
// running). Reaps it.
inline std::optional<int> WaitExit(pid_t pid, int64_t timeout_ms) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd entry{pidfd, POLLIN, 0};
    const int ready = poll(&entry, 1, static_cast<int>(timeout_ms));
    close(pidfd);
    if (ready == 0) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid, &status, pidfd >= 0 ? 0 : WNOHANG) != pid) return std::nullopt;
  return status;
}

// An exit code from a wait status; 128 + signal when killed.
inline int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// encored as a child process, on ports the kernel picks; its output is kept
// (a reader thread), and can be waited for.
class EncoredProcess {
 public:
  // Starts encored with `flags` (data dir, durability, ...) and waits until it
  // listens. `in_child` runs in the child before exec.
  EncoredProcess(const std::vector<std::string>& flags,
                 const std::function<void()>& in_child = nullptr) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    std::vector<std::string> argv = {
        ENCORED_BINARY, "--listen",         "127.0.0.1:0", "--admin-listen",
        "127.0.0.1:0",  "--metrics-listen", "off"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    pid_ = Spawn(argv, fds[1], "", in_child);
    close(fds[1]);
    read_fd_ = fds[0];
    reader_ = std::thread([this] { ReadOutput(); });
    if (!WaitForOutput("listening on", 30'000)) return;
    const std::string out = output();
    const size_t at = out.find("listening on 127.0.0.1:");
    const size_t admin = out.find("(admin 127.0.0.1:", at);
    if (at == std::string::npos || admin == std::string::npos) return;
    port_ = static_cast<uint16_t>(std::atoi(out.c_str() + at + 23));
    admin_port_ = static_cast<uint16_t>(std::atoi(out.c_str() + admin + 17));
  }
  ~EncoredProcess() {
    if (pid_ > 0 && !reaped_) Kill9();
    if (reader_.joinable()) reader_.join();
    if (read_fd_ >= 0) close(read_fd_);
  }
  EncoredProcess(const EncoredProcess&) = delete;
  EncoredProcess& operator=(const EncoredProcess&) = delete;

  bool listening() const { return port_ != 0 && admin_port_ != 0; }
  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }

  std::string output() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return output_;
  }
  // True once the output holds `text`; false after timeout_ms or at its end.
  bool WaitForOutput(const std::string& text, int64_t timeout_ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      return output_.find(text) != std::string::npos || ended_;
    }) && output_.find(text) != std::string::npos;
  }

  // SIGKILL, then reaps it.
  void Kill9() {
    kill(pid_, SIGKILL);
    EXPECT_TRUE(WaitExit(pid_, 30'000).has_value());
    reaped_ = true;
  }
  // SIGTERM; the exit code (-1 when it did not stop within 30 s: then killed).
  int Stop() {
    kill(pid_, SIGTERM);
    const std::optional<int> status = WaitExit(pid_, 30'000);
    if (!status) Kill9();
    reaped_ = true;
    return status ? ExitCodeOf(*status) : -1;
  }

 private:
  void ReadOutput() {
    char buffer[4096];
    while (true) {
      const ssize_t got = read(read_fd_, buffer, sizeof(buffer));
      std::lock_guard<std::mutex> lock(mutex_);
      if (got <= 0) {
        ended_ = true;
        changed_.notify_all();
        return;
      }
      output_.append(buffer, static_cast<size_t>(got));
      changed_.notify_all();
    }
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int read_fd_ = -1;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;  // Under mutex_.
  bool ended_ = false;  // Under mutex_.
  std::thread reader_;
};

// Runs encore-load with `args` against `server`, output to `output_path`;
// waits up to timeout_ms. The exit code; -1 on a timeout (then killed).
inline int RunLoad(const EncoredProcess& server, const std::vector<std::string>& args,
                   const std::string& output_path, int64_t timeout_ms = 120'000) {
  std::vector<std::string> argv = {ENCORE_LOAD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--port", std::to_string(server.port()), "--admin-port",
                           std::to_string(server.admin_port())});
  const pid_t pid = Spawn(argv, -1, output_path);
  const std::optional<int> status = WaitExit(pid, timeout_ms);
  if (!status) {
    kill(pid, SIGKILL);
    (void)WaitExit(pid, 30'000);
    return -1;
  }
  return ExitCodeOf(*status);
}

// A fresh directory under /tmp, removed with its contents at the end.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/encore-reliability-XXXXXX";
    path_ = mkdtemp(name) != nullptr ? name : "";
  }
  // Kept when the test has failed (or with ENCORE_KEEP_TMP=1), for a look.
  ~TempDir() {
    if (path_.empty()) return;
    if (std::getenv("ENCORE_KEEP_TMP") != nullptr || ::testing::Test::HasFailure()) {
      std::cout << "kept " << path_ << std::endl;
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace encore::testing

#endif  // ENCORE_TESTS_RELIABILITY_PROCESS_SUPPORT_H_
