// Queue tokens and hold proofs as text: lowercase hex digits, most
// significant first. A token is 32 (the locator's 16 then the mac's 16), a
// hold proof 16. This is how encore-cli prints them and reads them back;
// parsing accepts either letter case.
//
// Thread safety: pure functions.
#ifndef ENCORE_NET_TOKEN_TEXT_H_
#define ENCORE_NET_TOKEN_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/types.h"

namespace encore::net {

inline constexpr size_t kTokenTextLength = 32;
inline constexpr size_t kHoldProofTextLength = 16;

namespace internal {

inline void FormatWord(uint64_t word, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < 16; ++i) out[i] = kDigits[(word >> (60 - 4 * i)) & 0xf];
}

// InvalidArgument unless `text` is exactly 16 * words.size() hex digits.
[[nodiscard]] inline absl::Status ParseWords(std::string_view text, std::string_view what,
                                             std::span<uint64_t> words) {
  const size_t length = 16 * words.size();
  const std::string expected = std::string(what) + " is " + std::to_string(length) + " hex digits";
  if (text.size() != length) {
    return absl::InvalidArgumentError(expected + "; got " + std::to_string(text.size()) +
                                      " characters");
  }
  for (size_t i = 0; i < length; ++i) {
    const char c = text[i];
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a') + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c - 'A') + 10;
    } else {
      return absl::InvalidArgumentError(expected + "; '" + std::string(1, c) + "' at position " +
                                        std::to_string(i) + " is not one");
    }
    words[i / 16] = words[i / 16] << 4 | digit;
  }
  return absl::OkStatus();
}

}  // namespace internal

inline std::string FormatToken(const QueueToken& token) {
  std::string text(kTokenTextLength, '0');
  internal::FormatWord(token.locator, text.data());
  internal::FormatWord(token.mac, text.data() + 16);
  return text;
}

// InvalidArgument unless `text` is exactly 32 hex digits.
[[nodiscard]] inline absl::StatusOr<QueueToken> ParseToken(std::string_view text) {
  uint64_t words[2] = {0, 0};
  const absl::Status status = internal::ParseWords(text, "a queue token", words);
  if (!status.ok()) return status;
  return QueueToken{words[0], words[1]};
}

inline std::string FormatHoldProof(HoldProof proof) {
  std::string text(kHoldProofTextLength, '0');
  internal::FormatWord(proof, text.data());
  return text;
}

// InvalidArgument unless `text` is exactly 16 hex digits.
[[nodiscard]] inline absl::StatusOr<HoldProof> ParseHoldProof(std::string_view text) {
  uint64_t word = 0;
  const absl::Status status =
      internal::ParseWords(text, "a hold proof", std::span<uint64_t>(&word, 1));
  if (!status.ok()) return status;
  return word;
}

}  // namespace encore::net

#endif  // ENCORE_NET_TOKEN_TEXT_H_
