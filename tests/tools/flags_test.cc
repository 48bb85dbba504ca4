// The programs' flags (tools/flags.h): each of encored, encore-cli, encore-sim
// and encore-wal answers --help and --version with exit code 0, refuses an
// unknown flag naming it (non-zero, nothing done), and encored takes its
// flags from a config file, under those on the command line.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace encore {
namespace {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr.
};

// Runs `command` through the shell, bounded by `timeout` (coreutils).
Result RunShell(const std::string& command, int timeout_s = 30) {
  Result result;
  FILE* pipe = popen(
      ("timeout -s KILL " + std::to_string(timeout_s) + " " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t got = 0;
  while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, got);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

struct Program {
  std::string name;
  std::string path;
  int usage_exit_code;
};

const std::vector<Program>& Programs() {
  static const std::vector<Program> programs = {
      {"encored", ENCORED_BINARY, 1},
      {"encore-cli", ENCORE_CLI_BINARY, 2},
      {"encore-sim", ENCORE_SIM_BINARY, 2},
      {"encore-wal", ENCORE_WAL_BINARY, 2},
  };
  return programs;
}

TEST(FlagsTest, HelpListsTheFlagsAndExitsZero) {
  for (const Program& program : Programs()) {
    const Result help = RunShell(program.path + " --help");
    EXPECT_EQ(help.exit_code, 0) << program.name << ": " << help.output;
    EXPECT_NE(help.output.find("Usage: " + program.name), std::string::npos) << help.output;
    EXPECT_NE(help.output.find("--version"), std::string::npos) << help.output;
  }
  EXPECT_NE(RunShell(std::string(ENCORED_BINARY) + " --help")
                .output.find("--idempotency-window N=262144"),
            std::string::npos);
  const Result command_help = RunShell(std::string(ENCORE_CLI_BINARY) + " create-schedule --help");
  EXPECT_EQ(command_help.exit_code, 0) << command_help.output;
  EXPECT_NE(command_help.output.find("--tiers"), std::string::npos) << command_help.output;
  const Result dump_help = RunShell(std::string(ENCORE_WAL_BINARY) + " dump --help");
  EXPECT_EQ(dump_help.exit_code, 0) << dump_help.output;
  EXPECT_NE(dump_help.output.find("--limit"), std::string::npos) << dump_help.output;
}

TEST(FlagsTest, VersionNamesTheProgramAndExitsZero) {
  for (const Program& program : Programs()) {
    const Result version = RunShell(program.path + " --version");
    EXPECT_EQ(version.exit_code, 0) << program.name << ": " << version.output;
    EXPECT_EQ(version.output, program.name + " " + ENCORE_VERSION + "\n");
  }
}

TEST(FlagsTest, AnUnknownFlagIsRefusedNamingIt) {
  for (const Program& program : Programs()) {
    const Result refused = RunShell(program.path + " --no-such-flag");
    EXPECT_EQ(refused.exit_code, program.usage_exit_code) << program.name << ": " << refused.output;
    EXPECT_NE(refused.output.find("--no-such-flag"), std::string::npos) << refused.output;
    EXPECT_EQ(refused.output.find("listening"), std::string::npos) << refused.output;
  }
  const Result bad_number = RunShell(std::string(ENCORE_SIM_BINARY) + " --users many");
  EXPECT_EQ(bad_number.exit_code, 2) << bad_number.output;
  EXPECT_NE(bad_number.output.find("--users: \"many\" is not a valid number"), std::string::npos)
      << bad_number.output;
  const Result bad_command = RunShell(std::string(ENCORE_CLI_BINARY) + " frobnicate 1");
  EXPECT_EQ(bad_command.exit_code, 2) << bad_command.output;
  EXPECT_NE(bad_command.output.find("unknown command \"frobnicate\""), std::string::npos)
      << bad_command.output;
}

class EncoredConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/encore-flags-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string WriteConfig(const std::string& text) {
    const std::string path = dir_ + "/encored.conf";
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

// encored serves with what the file says (it stops at the timeout's SIGTERM,
// before which it has printed where it listens and its data dir).
TEST_F(EncoredConfigTest, EncoredReadsItsConfigFileAndFlagsWin) {
  const std::string config = WriteConfig(
      "# a test server\n"
      "data-dir = " +
      dir_ +
      "/data   # created\n"
      "durability = async\n"
      "listen = 127.0.0.1:0\n"
      "admin-listen=127.0.0.1:0\n"
      "metrics-listen = off\n"
      "huge-pages = off\n"
      "\n"
      "shards = 2\n");
  const Result served = RunShell("timeout 2 " + std::string(ENCORED_BINARY) + " --config " +
                                 config + " --durability none");
  EXPECT_NE(served.output.find("data dir " + dir_ + "/data, durability none"), std::string::npos)
      << served.output;
  EXPECT_NE(served.output.find("encored heap: --huge-pages off"), std::string::npos)
      << served.output;
}

TEST_F(EncoredConfigTest, ABadConfigFileIsRefusedNamingTheLine) {
  for (const auto& [text, expected] :
       {std::pair{std::string("durability = none\nno-such-key = 1\n"),
                  std::string("encored.conf:2: unknown key \"no-such-key\"")},
        std::pair{std::string("just words\n"),
                  std::string("encored.conf:1: expected `key = value`")},
        std::pair{std::string("shards = two\n"),
                  std::string("--shards: \"two\" is not a valid number")}}) {
    const std::string config = WriteConfig(text + "data-dir = " + dir_ + "/data\n");
    const Result refused = RunShell(std::string(ENCORED_BINARY) + " --config " + config);
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(refused.output.find(expected), std::string::npos) << refused.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/data")) << refused.output;
  }
  const Result missing =
      RunShell(std::string(ENCORED_BINARY) + " --config " + dir_ + "/absent.conf");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("absent.conf"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace encore
