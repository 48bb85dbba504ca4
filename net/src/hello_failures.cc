#include "hello_failures.h"

#include <algorithm>

namespace encore::net::internal {

HelloFailures::HelloFailures(uint32_t failures_max, std::chrono::milliseconds lockout,
                             size_t addresses_max)
    : failures_max_(failures_max), lockout_(lockout), addresses_max_(addresses_max) {}

HelloFailures::Key HelloFailures::KeyOf(const boost::asio::ip::address& address) {
  Key key{};
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return KeyOf(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()));
  }
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), key.begin());
    key[8] = 4;
  } else {
    const auto bytes = address.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.begin() + 8, key.begin());
    key[8] = 6;
  }
  return key;
}

std::chrono::milliseconds HelloFailures::LockedFor(const Key& key, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = entries_.find(key);
  if (found == entries_.end()) return std::chrono::milliseconds(0);
  if (Expired(found->second, now)) {
    entries_.erase(found);
    return std::chrono::milliseconds(0);
  }
  if (found->second.failures < failures_max_) return std::chrono::milliseconds(0);
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(found->second.last_failure + lockout_ - now);
  return std::max(left, std::chrono::milliseconds(1));
}

void HelloFailures::RecordFailure(const Key& key, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(key);
  if (found != entries_.end() && Expired(found->second, now)) {
    entries_.erase(found);
    found = entries_.end();
  }
  if (found == entries_.end()) {
    if (entries_.size() >= addresses_max_) MakeRoom(now);
    found = entries_.emplace(key, Entry{}).first;
  }
  ++found->second.failures;
  found->second.last_failure = now;
}

void HelloFailures::MakeRoom(Clock::time_point now) {
  auto oldest = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (Expired(it->second, now)) {
      it = entries_.erase(it);
      continue;
    }
    if (oldest == entries_.end() || it->second.last_failure < oldest->second.last_failure) {
      oldest = it;
    }
    ++it;
  }
  if (entries_.size() >= addresses_max_ && oldest != entries_.end()) entries_.erase(oldest);
}

size_t HelloFailures::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace encore::net::internal
