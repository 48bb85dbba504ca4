// The wire templates' Verifier skip (net/src/wire_template.h), fuzzed in a
// bounded, seeded run: valid payloads of every templated kind, mutated
// (wire_template_property.h), and for every mutation: a template match is a
// buffer the Verifier accepts, whose decoded fields encode back to it. The
// libFuzzer target wire_template_fuzz.cc checks the same property unbounded.
// ENCORE_WIRE_TEMPLATE_SEED replays a run; ENCORE_WIRE_TEMPLATE_MUTATIONS
// sets its length.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/wire_template_property.h"
#include "gtest/gtest.h"
#include "support/seed.h"

namespace encore::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr uint64_t kMutationsDefault = 500'000;
#else
constexpr uint64_t kMutationsDefault = 10'000'000;
#endif
constexpr int kSamplesPerKind = 8;

uint64_t Mutations() {
  const char* env = std::getenv("ENCORE_WIRE_TEMPLATE_MUTATIONS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : kMutationsDefault;
}

std::string Hex(const std::vector<uint8_t>& bytes) {
  std::string text;
  char byte[4];
  for (uint8_t b : bytes) {
    std::snprintf(byte, sizeof(byte), "%02x", b);
    text += byte;
  }
  return text;
}

TEST(WireTemplateFuzzTest, EveryTemplateMatchIsAVerifiedBufferOfItsFields) {
  const uint64_t seed = SeedFromEnvOrRandom("ENCORE_WIRE_TEMPLATE_SEED");
  const uint64_t mutations = Mutations();
  MutationRandom random(seed);
  const std::vector<WireSample> samples = TemplatedSamples(random, kSamplesPerKind);
  PropertyCounts counts;
  // The unmutated samples match their templates.
  for (const WireSample& sample : samples) {
    ASSERT_EQ(CheckTemplateProperty(sample.payload, &counts), nullptr) << Hex(sample.payload);
  }
  ASSERT_EQ(counts.request_matches + counts.response_matches, samples.size());
  std::vector<uint8_t> bytes;
  for (uint64_t i = 0; i < mutations; ++i) {
    const WireSample& sample = samples[random.Below(samples.size())];
    bytes.assign(sample.payload.begin(), sample.payload.end());
    Mutate(random, samples, &bytes);
    const char* failure = CheckTemplateProperty(bytes, &counts);
    ASSERT_EQ(failure, nullptr) << "mutation " << i << " of seed " << seed << ": " << failure
                                << "\n  payload " << Hex(bytes);
  }
  std::printf("%llu payloads: %llu request and %llu reply template matches, %llu refused values\n",
              static_cast<unsigned long long>(counts.checked),
              static_cast<unsigned long long>(counts.request_matches),
              static_cast<unsigned long long>(counts.response_matches),
              static_cast<unsigned long long>(counts.refused_after_match));
  // The mutations reach both sides of the check: matches (field bytes changed)
  // and misses (shape bytes changed, sizes changed).
  EXPECT_GT(counts.request_matches, mutations / 100);
  EXPECT_GT(counts.response_matches, mutations / 1000);
  EXPECT_LT(counts.request_matches + counts.response_matches, counts.checked);
}

}  // namespace
}  // namespace encore::testing
