// ENCORE_PERSISTENCE_CHECK: a programmer-error assertion of the persistence
// library that stays on in release builds and says what went wrong. A broken
// contract here (say, an LSN gap) means the log and memory would disagree;
// stopping is better than writing a log that cannot be replayed.
#ifndef ENCORE_PERSISTENCE_INTERNAL_CHECK_H_
#define ENCORE_PERSISTENCE_INTERNAL_CHECK_H_

#include <cstdio>
#include <cstdlib>

// ENCORE_PERSISTENCE_CHECK(condition, printf format, arguments...)
#define ENCORE_PERSISTENCE_CHECK(condition, ...)                                         \
  do {                                                                                   \
    if (__builtin_expect(!(condition), 0)) {                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #condition); \
      std::fprintf(stderr, __VA_ARGS__);                                                 \
      std::fputc('\n', stderr);                                                          \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

#endif  // ENCORE_PERSISTENCE_INTERNAL_CHECK_H_
