// HelloFailures: the failed Hellos per client address, so that an address
// guessing keys is refused for a while (ServerOptions::hello_failures_max,
// hello_lockout_ms). Shared by the I/O threads (a client's connections are
// spread over them), behind one mutex: it is touched only on a Hello.
//
// An IPv6 address counts by its /64, the block one host is usually given, so
// that a host cannot get fresh addresses for free. The table holds at most
// kHelloFailureAddressesMax addresses: past it, expired entries go first,
// then the one whose last failure is oldest.
#ifndef ENCORE_NET_SRC_HELLO_FAILURES_H_
#define ENCORE_NET_SRC_HELLO_FAILURES_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include "boost/asio/ip/address.hpp"

namespace encore::net::internal {

class HelloFailures {
 public:
  using Clock = std::chrono::steady_clock;
  // IPv4 as its 4 bytes, IPv6 as its first 8 (the /64), then a family byte.
  using Key = std::array<uint8_t, 9>;

  HelloFailures(uint32_t failures_max, std::chrono::milliseconds lockout, size_t addresses_max);

  static Key KeyOf(const boost::asio::ip::address& address);

  // How long Hellos from `key` stay refused; zero if they are not.
  std::chrono::milliseconds LockedFor(const Key& key, Clock::time_point now);
  void RecordFailure(const Key& key, Clock::time_point now);
  size_t size() const;

 private:
  struct Entry {
    uint32_t failures = 0;
    Clock::time_point last_failure;
  };
  bool Expired(const Entry& entry, Clock::time_point now) const {
    return now - entry.last_failure >= lockout_;
  }
  // REQUIRES: mutex_ held, entries_ full.
  void MakeRoom(Clock::time_point now);

  const uint32_t failures_max_;
  const std::chrono::milliseconds lockout_;
  const size_t addresses_max_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;  // Guarded by mutex_.
};

}  // namespace encore::net::internal

#endif  // ENCORE_NET_SRC_HELLO_FAILURES_H_
