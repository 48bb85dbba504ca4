// Transparent huge pages for encored's heap.
//
// The engine's state is large and read at random (a hash map of every user's
// balance, seat and hold tables), and grows with every payment (ledger
// entries, payment records). On 4 KiB pages each lookup pays a TLB miss (two
// levels of page tables under a hypervisor) and every 4 KiB of growth a page
// fault. With glibc's malloc asking for huge pages (the tunable
// glibc.malloc.hugetlb=1: madvise(MADV_HUGEPAGE) on the memory it maps),
// encore-load --mix pay-only in memory went from 0.74-0.80M to 1.10-1.28M
// payments/s, and the shard's time in page faults from a quarter to little
// (docs/PERFORMANCE.md). glibc reads its tunables only at start-up, so the
// program starts itself again with the tunable set.
#ifndef ENCORE_TOOLS_HUGE_PAGES_H_
#define ENCORE_TOOLS_HUGE_PAGES_H_

#include <string>

namespace encore::tools {

// The kernel's transparent huge page mode: "always", "madvise" or "never";
// "" if it cannot be read.
std::string TransparentHugePageMode();

// True if GLIBC_TUNABLES already sets glibc.malloc.hugetlb.
bool MallocHugePagesTunableSet();

// Where THP is "madvise" and GLIBC_TUNABLES does not set glibc.malloc.hugetlb,
// executes /proc/self/exe again with `argv` and glibc.malloc.hugetlb=1 added
// to GLIBC_TUNABLES: does not return then. Otherwise (THP "always" or
// "never", the tunable already set, or the exec failed) returns why, for a
// log line.
std::string ReexecWithHugePages(char** argv);

}  // namespace encore::tools

#endif  // ENCORE_TOOLS_HUGE_PAGES_H_
