// The seed of a randomized test: from the environment variable when it is
// set (to replay a run), else a fresh one. Printed either way, with the line
// that replays it.
#ifndef ENCORE_TESTS_SUPPORT_SEED_H_
#define ENCORE_TESTS_SUPPORT_SEED_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace encore::testing {

inline uint64_t SeedFromEnvOrRandom(const char* variable) {
  const char* env = std::getenv(variable);
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::printf("seed %llu (replay: %s=%llu)\n", static_cast<unsigned long long>(seed), variable,
              static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace encore::testing

#endif  // ENCORE_TESTS_SUPPORT_SEED_H_
