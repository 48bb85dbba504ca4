// Queue tokens as text: 32 lowercase hex digits, the locator's 16 then the
// mac's 16 (most significant digit first). This is how encore-cli prints a
// token and reads one back; parsing accepts either letter case.
//
// Thread safety: pure functions.
#ifndef ENCORE_NET_TOKEN_TEXT_H_
#define ENCORE_NET_TOKEN_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "encore/types.h"

namespace encore::net {

inline constexpr size_t kTokenTextLength = 32;

inline std::string FormatToken(const QueueToken& token) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(kTokenTextLength, '0');
  for (size_t i = 0; i < 16; ++i) {
    const int shift = static_cast<int>(60 - 4 * i);
    text[i] = kDigits[(token.locator >> shift) & 0xf];
    text[16 + i] = kDigits[(token.mac >> shift) & 0xf];
  }
  return text;
}

// InvalidArgument unless `text` is exactly 32 hex digits.
inline absl::StatusOr<QueueToken> ParseToken(std::string_view text) {
  if (text.size() != kTokenTextLength) {
    return absl::InvalidArgumentError("a queue token is 32 hex digits; got " +
                                      std::to_string(text.size()) + " characters");
  }
  uint64_t words[2] = {0, 0};
  for (size_t i = 0; i < kTokenTextLength; ++i) {
    const char c = text[i];
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      return absl::InvalidArgumentError("a queue token is 32 hex digits; '" + std::string(1, c) +
                                        "' at position " + std::to_string(i) + " is not one");
    }
    words[i / 16] = words[i / 16] << 4 | digit;
  }
  return QueueToken{words[0], words[1]};
}

}  // namespace encore::net

#endif  // ENCORE_NET_TOKEN_TEXT_H_
