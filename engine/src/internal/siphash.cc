#include "internal/siphash.h"

#include <bit>
#include <cstring>

namespace encore::internal {
namespace {

struct SipState {
  uint64_t v0, v1, v2, v3;

  explicit SipState(const std::array<uint64_t, 2>& key)
      : v0(key[0] ^ 0x736f6d6570736575ULL),
        v1(key[1] ^ 0x646f72616e646f6dULL),
        v2(key[0] ^ 0x6c7967656e657261ULL),
        v3(key[1] ^ 0x7465646279746573ULL) {}

  void Round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }

  void Compress(uint64_t word) {
    v3 ^= word;
    Round();
    Round();
    v0 ^= word;
  }

  uint64_t Finish(uint64_t last_word) {
    Compress(last_word);
    v2 ^= 0xff;
    Round();
    Round();
    Round();
    Round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

}  // namespace

uint64_t SipHash24(const std::array<uint64_t, 2>& key, std::span<const uint8_t> message) {
  SipState state(key);
  const size_t whole_words = message.size() / 8;
  for (size_t i = 0; i < whole_words; ++i) {
    uint64_t word;
    std::memcpy(&word, message.data() + i * 8, 8);
    state.Compress(word);
  }
  uint64_t last_word = static_cast<uint64_t>(message.size() & 0xff) << 56;
  for (size_t i = whole_words * 8; i < message.size(); ++i) {
    last_word |= static_cast<uint64_t>(message[i]) << (8 * (i % 8));
  }
  return state.Finish(last_word);
}

uint64_t SipHash24Words(const std::array<uint64_t, 2>& key, std::span<const uint64_t> words) {
  SipState state(key);
  for (uint64_t word : words) state.Compress(word);
  return state.Finish(static_cast<uint64_t>((words.size() * 8) & 0xff) << 56);
}

}  // namespace encore::internal
