// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random function
// with a 128-bit key and a 64-bit output, used as the MAC of queue tokens.
#ifndef ENCORE_INTERNAL_SIPHASH_H_
#define ENCORE_INTERNAL_SIPHASH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace encore::internal {

uint64_t SipHash24(const std::array<uint64_t, 2>& key, std::span<const uint8_t> message);

// SipHash-2-4 of the little-endian bytes of `words`.
uint64_t SipHash24Words(const std::array<uint64_t, 2>& key, std::span<const uint64_t> words);

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_SIPHASH_H_
