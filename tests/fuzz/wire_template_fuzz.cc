// libFuzzer target: the wire templates' Verifier skip (net/src/wire_template.h).
// Each input is checked as a payload itself, and also seeds a run of the
// structured mutations of wire_template_property.h over valid payloads of
// every templated kind (libFuzzer alone rarely keeps a template's exact size
// and shape). The property: a template match is a buffer the Verifier
// accepts, whose decoded fields encode back to it. Built with clang's
// -fsanitize=fuzzer,address,undefined by tests/fuzz/run_fuzz.sh; its bounded
// counterpart in ctest is wire_template_fuzz_test.cc.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "wire_template_property.h"

namespace {

constexpr int kMutationsPerInput = 64;

void Check(std::span<const uint8_t> payload, encore::testing::PropertyCounts* counts) {
  if (const char* failure = encore::testing::CheckTemplateProperty(payload, counts)) {
    std::fprintf(stderr, "wire_template_fuzz: %s\n", failure);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using encore::testing::MutationRandom;
  static MutationRandom sample_random(1);
  static const std::vector<encore::testing::WireSample> samples =
      encore::testing::TemplatedSamples(sample_random, 4);
  encore::testing::PropertyCounts counts;
  Check(std::span<const uint8_t>(data, size), &counts);
  uint64_t seed = 0xcbf29ce484222325ULL;  // FNV-1a of the input.
  for (size_t i = 0; i < size; ++i) seed = (seed ^ data[i]) * 0x100000001b3ULL;
  MutationRandom random(seed);
  std::vector<uint8_t> bytes;
  for (int i = 0; i < kMutationsPerInput; ++i) {
    const auto& sample = samples[random.Below(samples.size())];
    bytes.assign(sample.payload.begin(), sample.payload.end());
    encore::testing::Mutate(random, samples, &bytes);
    Check(bytes, &counts);
  }
  return 0;
}
