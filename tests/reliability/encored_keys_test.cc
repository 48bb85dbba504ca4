// encored refuses keys that would make the server easy to break into: an API
// or admin key shorter than 16 bytes, and one key given for both, each with
// an error naming the flag, before it opens anything.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "reliability/process_support.h"

namespace encore::testing {
namespace {

struct Refusal {
  int exit_code = -1;
  std::string output;
};

Refusal RunEncored(const std::vector<std::string>& flags) {
  TempDir dir;
  const std::string log = dir.path() + "/encored.log";
  std::vector<std::string> argv = {ENCORED_BINARY,
                                   "--data-dir",
                                   dir.path() + "/data",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--admin-listen",
                                   "127.0.0.1:0",
                                   "--metrics-listen",
                                   "off",
                                   "--huge-pages",
                                   "off"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const pid_t pid = Spawn(argv, -1, log);
  Refusal refusal;
  const std::optional<int> status = WaitExit(pid, 30'000);
  if (!status.has_value()) {
    kill(pid, SIGKILL);
    WaitExit(pid, 30'000);
    ADD_FAILURE() << "encored kept running with " << flags[0] << " " << flags[1];
    return refusal;
  }
  refusal.exit_code = ExitCodeOf(*status);
  refusal.output = ReadFile(log);
  return refusal;
}

TEST(EncoredKeysTest, ShortOrSharedKeysAreRefusedNamingTheFlag) {
  const std::string long_key = "0123456789abcdef0123";
  for (const auto& [flags, expected] :
       {std::pair{std::vector<std::string>{"--api-key", "x"}, std::string("--api-key must be")},
        std::pair{std::vector<std::string>{"--admin-key", "fifteen-bytes!!"},
                  std::string("--admin-key must be")},
        std::pair{std::vector<std::string>{"--api-key", long_key, "--admin-key", long_key},
                  std::string("must differ")}}) {
    const Refusal refusal = RunEncored(flags);
    EXPECT_EQ(refusal.exit_code, 1) << refusal.output;
    EXPECT_NE(refusal.output.find(expected), std::string::npos) << refusal.output;
  }
}

}  // namespace
}  // namespace encore::testing
