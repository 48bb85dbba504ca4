#include "internal/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace encore::persistence::internal {
namespace {

constexpr uint32_t kPolynomialReflected = 0x82F63B78u;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPolynomialReflected : 0u);
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

// Works on the inverted register (the caller inverts before and after).
uint32_t UpdateWithTable(uint32_t crc, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) crc = (crc >> 8) ^ kTable[(crc ^ data[i]) & 0xFFu];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t UpdateWithSse42(uint32_t crc, const uint8_t* data,
                                                           size_t size) {
  uint64_t crc64 = crc;
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    crc64 = _mm_crc32_u64(crc64, word);
    data += 8;
    size -= 8;
  }
  crc = static_cast<uint32_t>(crc64);
  while (size > 0) {
    crc = _mm_crc32_u8(crc, *data++);
    --size;
  }
  return crc;
}

// Decided once: the instruction is there or not for the life of the process.
// (A function-local static, so it runs after the CPU model is initialized.)
bool HaveSse42() {
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return have;
}
#endif

}  // namespace

uint32_t Crc32cExtendPortable(uint32_t init_crc, std::span<const uint8_t> bytes) {
  return ~UpdateWithTable(~init_crc, bytes.data(), bytes.size());
}

uint32_t Crc32cExtend(uint32_t init_crc, std::span<const uint8_t> bytes) {
  const uint32_t crc = ~init_crc;
#if defined(__x86_64__)
  if (HaveSse42()) return ~UpdateWithSse42(crc, bytes.data(), bytes.size());
#endif
  return ~UpdateWithTable(crc, bytes.data(), bytes.size());
}

}  // namespace encore::persistence::internal
