// RawConnection: a blocking TCP connection to 127.0.0.1 that speaks frames,
// for the tests that must send what the client library never would
// (pipelines past the server's limits, no Hello, forged fields) or must not
// read its replies. Header-only. Every blocking receive carries a socket
// timeout (kReceiveTimeoutSeconds) as a hang guard only: a test that hits it
// fails instead of hanging.
#ifndef ENCORE_TESTS_SUPPORT_RAW_CONNECTION_H_
#define ENCORE_TESTS_SUPPORT_RAW_CONNECTION_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "encore/command.h"
#include "encore/net/protocol.h"

namespace encore::testing {

class RawConnection {
 public:
  static constexpr int kReceiveTimeoutSeconds = 20;

  // `receive_buffer_bytes` > 0 shrinks SO_RCVBUF before connecting (a client
  // that reads slowly, or never).
  explicit RawConnection(uint16_t port, int receive_buffer_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    if (receive_buffer_bytes > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(receive_buffer_bytes));
    }
    timeval timeout{kReceiveTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawConnection() { Close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Blocks until every byte is handed to the kernel; false if the
  // connection failed.
  bool Send(std::span<const uint8_t> bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // The next response; nullopt when the connection closed, timed out or sent
  // something that is not a response.
  std::optional<net::DecodedResponse> Receive() {
    for (;;) {
      std::span<const uint8_t> payload;
      const net::FrameReader::Next next = reader_.NextFrame(&payload);
      if (next == net::FrameReader::Next::kFrame) {
        absl::StatusOr<net::DecodedResponse> decoded = net::DecodeResponse(payload);
        if (!decoded.ok()) return std::nullopt;
        return *std::move(decoded);
      }
      if (next != net::FrameReader::Next::kNeedMore || !ReadMore()) return std::nullopt;
    }
  }

  // True when the server closed the connection (EOF or reset) and nothing
  // more was sent first.
  bool ReceivesClose() {
    uint8_t byte;
    const ssize_t n = ::recv(fd_, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // Sends one request and returns the next response (a default one, code
  // kOk and id 0, if none came: callers check the id or the kind).
  net::DecodedResponse Call(const std::vector<uint8_t>& frame) {
    if (!Send(frame)) return Failed();
    return Receive().value_or(Failed());
  }

  net::DecodedResponse Hello(const std::string& api_key = "",
                             uint32_t version = net::kProtocolVersion) {
    std::vector<uint8_t> frame;
    net::AppendHelloRequest(1, net::HelloRequest{version, "raw", api_key}, &frame);
    return Call(frame);
  }

  net::DecodedResponse Command(uint64_t id, const encore::Command& command) {
    std::vector<uint8_t> frame;
    net::AppendCommandRequest(id, command, &frame);
    return Call(frame);
  }

 private:
  // What Call returns when no reply came: a code no server sends with id 0.
  static net::DecodedResponse Failed() {
    net::DecodedResponse response;
    response.code = ResultCode::kUnavailable;
    response.message = "no reply (connection closed or timed out)";
    return response;
  }

  bool ReadMore() {
    uint8_t buffer[16 * 1024];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    reader_.Feed(std::span<const uint8_t>(buffer, static_cast<size_t>(n)));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  net::FrameReader reader_{16u << 20};
};

}  // namespace encore::testing

#endif  // ENCORE_TESTS_SUPPORT_RAW_CONNECTION_H_
