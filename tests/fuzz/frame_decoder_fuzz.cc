// libFuzzer target: the server's way into a byte stream. Bytes are cut into
// frames (FrameReader, 64 KiB limit), each frame is decoded as a Request, and
// a decoded command is encoded again and must decode to the same command.
// Responses are decoded too (the client's path). Built with clang's
// -fsanitize=fuzzer,address,undefined by tests/fuzz/run_fuzz.sh.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "encore/net/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using encore::net::FrameReader;
  FrameReader reader(encore::net::kFrameBytesMaxDefault);
  reader.Feed(std::span<const uint8_t>(data, size));
  std::span<const uint8_t> payload;
  while (reader.NextFrame(&payload) == FrameReader::Next::kFrame) {
    const encore::net::DecodeResult decoded = encore::net::DecodeRequest(payload);
    if (decoded.code == encore::ResultCode::kOk &&
        decoded.request.kind == encore::net::RequestKind::kCommand) {
      std::vector<uint8_t> frame;
      encore::net::AppendCommandRequest(decoded.request.id, decoded.request.command, &frame);
      FrameReader again;
      again.Feed(frame);
      std::span<const uint8_t> reencoded;
      if (again.NextFrame(&reencoded) != FrameReader::Next::kFrame) std::abort();
      const encore::net::DecodeResult second = encore::net::DecodeRequest(reencoded);
      const encore::Command& a = decoded.request.command;
      const encore::Command& b = second.request.command;
      if (second.code != encore::ResultCode::kOk || a.type != b.type || a.user != b.user ||
          a.schedule != b.schedule || a.amount != b.amount || a.hold != b.hold ||
          !(a.token == b.token) || a.request_key != b.request_key) {
        std::abort();  // The codec is not its own inverse.
      }
    }
    // Any bytes must decode to a response or to a clear error; which one does not matter here.
    encore::net::DecodeResponse(payload).IgnoreError();
  }
  return 0;
}
