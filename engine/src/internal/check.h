// ENCORE_CHECK: a programmer-error assertion that stays on in release builds.
// A broken invariant means memory and log may disagree; going on would be worse
// than stopping, so it prints where and aborts.
#ifndef ENCORE_INTERNAL_CHECK_H_
#define ENCORE_INTERNAL_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define ENCORE_CHECK(condition)                                                                 \
  do {                                                                                          \
    if (__builtin_expect(!(condition), 0)) {                                                    \
      std::fprintf(stderr, "%s:%d: ENCORE_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)

#endif  // ENCORE_INTERNAL_CHECK_H_
