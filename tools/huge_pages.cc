#include "huge_pages.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace encore::tools {
namespace {

constexpr char kTunable[] = "glibc.malloc.hugetlb";

}  // namespace

std::string TransparentHugePageMode() {
  std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  if (!std::getline(file, modes)) return "";
  // "always [madvise] never": the chosen one is in brackets.
  const size_t open = modes.find('[');
  const size_t close = modes.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return modes.substr(open + 1, close - open - 1);
}

bool MallocHugePagesTunableSet() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables != nullptr && std::strstr(tunables, kTunable) != nullptr;
}

std::string ReexecWithHugePages(char** argv) {
  if (MallocHugePagesTunableSet()) return "GLIBC_TUNABLES sets glibc.malloc.hugetlb already";
  const std::string mode = TransparentHugePageMode();
  if (mode != "madvise") {
    return mode.empty() ? "transparent huge pages not available"
                        : "transparent huge pages are \"" + mode + "\"";
  }
  const char* existing = std::getenv("GLIBC_TUNABLES");
  std::string tunables = std::string(kTunable) + "=1";
  if (existing != nullptr && existing[0] != '\0') tunables = std::string(existing) + ":" + tunables;
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) {
    return std::string("cannot set GLIBC_TUNABLES: ") + std::strerror(errno);
  }
  std::fflush(nullptr);
  execv("/proc/self/exe", argv);
  const std::string failure = std::string("cannot start again: ") + std::strerror(errno);
  unsetenv("GLIBC_TUNABLES");
  if (existing != nullptr) setenv("GLIBC_TUNABLES", existing, 1);
  return failure;
}

}  // namespace encore::tools
