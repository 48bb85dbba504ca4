// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the
// journal's records. Uses the SSE4.2 crc32 instruction when the CPU has it,
// a table otherwise; both give the same value. Thread-safe (pure).
#ifndef ENCORE_PERSISTENCE_INTERNAL_CRC32C_H_
#define ENCORE_PERSISTENCE_INTERNAL_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace encore::persistence::internal {

// The CRC32C of `init_crc`'s data followed by `bytes`: Crc32cExtend(0, x) is
// the CRC32C of x, and Crc32cExtend(Crc32cExtend(0, a), b) that of a then b.
uint32_t Crc32cExtend(uint32_t init_crc, std::span<const uint8_t> bytes);

// The table version whatever the CPU, so tests can compare the two.
uint32_t Crc32cExtendPortable(uint32_t init_crc, std::span<const uint8_t> bytes);

inline uint32_t Crc32c(std::span<const uint8_t> bytes) { return Crc32cExtend(0, bytes); }

}  // namespace encore::persistence::internal

#endif  // ENCORE_PERSISTENCE_INTERNAL_CRC32C_H_
