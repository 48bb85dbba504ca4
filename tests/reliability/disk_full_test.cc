// Disk faults under the real server: when encored's journal cannot write
// (the data dir's filesystem is full, or a file size limit is hit), encored
// stops acknowledging (every request answered UNAVAILABLE), says so on stderr
// naming the error and the data dir, keeps running without corrupting
// anything, and exits 1 on SIGTERM with the error; once there is space again
// a restart recovers everything acknowledged (checked with encore-load's ack
// log) and takes new work.
//
// Two ways to fill the disk:
//   - RLIMIT_FSIZE on the encored process (EFBIG past the limit): no
//     privileges needed, runs everywhere.
//   - a real tiny filesystem (tmpfs of 8 MiB, filled up; ENOSPC): needs root
//     or CAP_SYS_ADMIN to mount, else skipped with the reason.
#include <sys/mount.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "gtest/gtest.h"
#include "reliability/process_support.h"

namespace encore::testing {
namespace {

std::vector<std::string> SaleArgs(const std::string& ack_log, uint32_t users, uint64_t seed) {
  return {"flash-sale",
          "--users",
          std::to_string(users),
          "--seats",
          "120",
          "--active-max",
          "60",
          "--poll-ms",
          "20",
          "--hold-ttl-ms",
          "1000",
          "--connections",
          "2",
          "--depth",
          "64",
          "--duration-s",
          "60",
          "--quiet",
          "--ack-log",
          ack_log,
          "--seed",
          std::to_string(seed)};
}

// A flash sale that fills the disk: what encored must do about it, then a
// restart with space and the check of every acknowledgement. `in_child`
// runs in encored's process before exec, `after_start` once it listens,
// `free_space` between the stop and the restart.
void FillStopRestartVerify(const TempDir& dir, const std::string& data,
                           const std::function<void()>& in_child,
                           const std::function<void()>& after_start,
                           const std::string& expected_error,
                           const std::function<void()>& free_space) {
  const std::string acks = dir.path() + "/acks.log";
  const std::vector<std::string> flags = {"--data-dir", data, "--durability", "sync"};
  {
    EncoredProcess server(flags, in_child);
    ASSERT_TRUE(server.listening()) << server.output();
    after_start();
    // A first sale fits; the second cannot.
    const std::string first = dir.path() + "/first.txt";
    ASSERT_EQ(RunLoad(server, SaleArgs(acks, 300, 5), first), 0) << ReadFile(first);
    const std::string second = dir.path() + "/second.txt";
    EXPECT_EQ(RunLoad(server, SaleArgs(acks, 8000, 6), second), 4) << ReadFile(second);
    EXPECT_NE(ReadFile(second).find("UNAVAILABLE"), std::string::npos) << ReadFile(second);

    // Said on stderr, naming the data dir and the error.
    ASSERT_TRUE(server.WaitForOutput("JOURNAL FAILED in data dir " + data, 10'000))
        << server.output();
    EXPECT_NE(server.output().find(expected_error), std::string::npos) << server.output();
    EXPECT_NE(server.output().find("restart encored"), std::string::npos) << server.output();
    // Still up, and a new request gets a clear UNAVAILABLE, not a hang.
    EXPECT_FALSE(WaitExit(server.pid(), 0).has_value()) << "encored exited:\n" << server.output();
    const std::string cli = dir.path() + "/cli.txt";
    const pid_t cli_pid =
        Spawn({ENCORE_CLI_BINARY, "--port", std::to_string(server.port()), "charge", "77", "1000"},
              -1, cli);
    const std::optional<int> cli_status = WaitExit(cli_pid, 30'000);
    ASSERT_TRUE(cli_status.has_value());
    EXPECT_EQ(ExitCodeOf(*cli_status), 1) << ReadFile(cli);
    EXPECT_NE(ReadFile(cli).find("UNAVAILABLE"), std::string::npos) << ReadFile(cli);
    // A clean stop reports the failure in its exit code.
    EXPECT_EQ(server.Stop(), 1) << server.output();
    EXPECT_NE(server.output().find("the engine stopped with"), std::string::npos)
        << server.output();
  }
  free_space();
  EncoredProcess server(flags);
  ASSERT_TRUE(server.listening()) << "restart with space failed:\n" << server.output();
  const std::string verify = dir.path() + "/verify.txt";
  EXPECT_EQ(RunLoad(server, {"verify", "--ack-log", acks}, verify), 0) << ReadFile(verify);
  const std::string verified = ReadFile(verify);
  std::cout << verified.substr(std::min(verified.find("verify:"), verified.size()));
  EXPECT_NE(verified.find("2 runs"), std::string::npos) << verified;
  // And it takes new work.
  const std::string third = dir.path() + "/third.txt";
  EXPECT_EQ(RunLoad(server, SaleArgs(dir.path() + "/acks-after.log", 300, 7), third), 0)
      << ReadFile(third);
  EXPECT_EQ(server.Stop(), 0) << server.output();
  const std::string wal_out = dir.path() + "/wal-verify.txt";
  const pid_t wal = Spawn({ENCORE_WAL_BINARY, "verify", data}, -1, wal_out);
  const std::optional<int> wal_status = WaitExit(wal, 120'000);
  ASSERT_TRUE(wal_status.has_value());
  EXPECT_EQ(ExitCodeOf(*wal_status), 0) << ReadFile(wal_out);
}

TEST(DiskFullTest, AFileSizeLimitStopsAcknowledgingAndARestartRecovers) {
  if (kSanitized) GTEST_SKIP() << "8,000-user sale under a sanitizer is too slow; Release only";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // A 300-user sale writes about 0.5 MiB of journal; the 8,000-user one much more.
  constexpr rlim_t kFileBytesMax = 1 << 20;
  FillStopRestartVerify(
      dir, dir.path() + "/data",
      [] {  // In the child, before exec: async-signal-safe calls only.
        const rlimit limit{kFileBytesMax, kFileBytesMax};
        setrlimit(RLIMIT_FSIZE, &limit);
        // SIGXFSZ keeps its default action (death): encored itself must
        // ignore it and see EFBIG.
        signal(SIGXFSZ, SIG_DFL);
      },
      [] {}, "File too large", [] {});
}

TEST(DiskFullTest, AFullFilesystemStopsAcknowledgingAndARestartRecovers) {
  if (kSanitized) GTEST_SKIP() << "8,000-user sale under a sanitizer is too slow; Release only";
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string mount_point = dir.path() + "/tiny";
  std::filesystem::create_directory(mount_point);
  if (mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=8m") != 0) {
    GTEST_SKIP() << "cannot mount an 8 MiB tmpfs (" << std::strerror(errno)
                 << "; needs root or CAP_SYS_ADMIN): the file size limit test covers the "
                    "journal failure without it";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};
  // Fill the filesystem, but for kRoomBytes, once encored has started.
  constexpr uintmax_t kRoomBytes = 1 << 20;
  const std::string filler = mount_point + "/filler";
  auto fill = [&] {
    std::FILE* file = std::fopen(filler.c_str(), "w");
    if (file == nullptr) return;
    const std::vector<char> block(64 * 1024, 'x');
    for (int i = 0; i < 256 && std::fwrite(block.data(), 1, block.size(), file) == block.size();
         ++i) {
    }
    std::fclose(file);
    // Room for the first sale (about 0.5 MiB of journal), not the second.
    std::error_code ignored;
    const uintmax_t size = std::filesystem::file_size(filler, ignored);
    std::filesystem::resize_file(filler, size > kRoomBytes ? size - kRoomBytes : 0, ignored);
  };
  // Filled once encored has started (and preallocated its log file).
  FillStopRestartVerify(
      dir, mount_point + "/data", nullptr,
      [&] {
        fill();
        std::cout << "tmpfs: filler of " << std::filesystem::file_size(filler) << " bytes"
                  << std::endl;
      },
      "No space left on device", [&] { std::filesystem::remove(filler); });
}

}  // namespace
}  // namespace encore::testing
