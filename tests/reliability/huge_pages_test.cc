// encored's heap on transparent huge pages (tools/huge_pages.h): by default it
// starts itself again with glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES
// (where the kernel's THP mode is "madvise"), keeping tunables already there;
// --huge-pages off leaves the environment alone. Either way it says which on
// start-up and serves.
#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"
#include "reliability/process_support.h"

namespace encore::testing {
namespace {

std::string Environment(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::string ThpMode() {
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(file, modes);
  const size_t open = modes.find('[');
  const size_t close = modes.find(']', open);
  return open == std::string::npos || close == std::string::npos
             ? ""
             : modes.substr(open + 1, close - open - 1);
}

// Sets an environment variable for the children started in its lifetime.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = getenv(name);
    if (old != nullptr) old_ = old;
    had_ = old != nullptr;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(HugePagesTest, EncoredStartsAgainWithMallocOnHugePagesKeepingOtherTunables) {
  TempDir dir;
  ScopedEnv tunables("GLIBC_TUNABLES", "glibc.malloc.arena_max=4");
  EncoredProcess encored({"--data-dir", dir.path() + "/data", "--durability", "none"});
  ASSERT_TRUE(encored.listening()) << encored.output();
  ASSERT_TRUE(encored.WaitForOutput("encored heap:", 30'000)) << encored.output();
  const std::string environment = Environment(encored.pid());
  if (ThpMode() != "madvise") {
    EXPECT_NE(encored.output().find("encored heap: 4 KiB pages (transparent huge pages"),
              std::string::npos)
        << encored.output();
    EXPECT_NE(environment.find("GLIBC_TUNABLES=glibc.malloc.arena_max=4"), std::string::npos);
    GTEST_SKIP() << "THP mode is \"" << ThpMode() << "\", not madvise: nothing to add";
  }
  // As the process sees it (glibc rewrites the variable it started with, which
  // /proc/<pid>/environ shows, when it parses it).
  const std::string expected = "GLIBC_TUNABLES=glibc.malloc.arena_max=4:glibc.malloc.hugetlb=1";
  EXPECT_NE(encored.output().find("encored heap: " + expected + "\n"), std::string::npos)
      << encored.output();
  EXPECT_NE(environment.find("glibc.malloc.hugetlb=1"), std::string::npos);
  EXPECT_EQ(encored.Stop(), 0);
}

TEST(HugePagesTest, HugePagesOffLeavesTheEnvironmentAlone) {
  TempDir dir;
  EncoredProcess encored(
      {"--data-dir", dir.path() + "/data", "--durability", "none", "--huge-pages", "off"});
  ASSERT_TRUE(encored.listening()) << encored.output();
  ASSERT_TRUE(encored.WaitForOutput("encored heap:", 30'000)) << encored.output();
  EXPECT_EQ(Environment(encored.pid()).find("glibc.malloc.hugetlb"), std::string::npos);
  EXPECT_NE(encored.output().find("encored heap: --huge-pages off"), std::string::npos)
      << encored.output();
}

}  // namespace
}  // namespace encore::testing
