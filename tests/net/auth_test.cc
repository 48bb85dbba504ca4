// Keys and key guessing, in-process on loopback.
//
// - Keys shorter than kKeyBytesMin, and an admin key equal to the API key,
//   are refused by the options' validation (so by Server::Start and encored).
// - An address with hello_failures_max failed Hellos is refused, right key
//   or not, until hello_lockout_ms have passed since its last failure; a
//   guesser trying as fast as it can gets no more keys checked meanwhile.
// - The table of failing addresses stays within its bound, forgetting the
//   oldest first; IPv6 addresses count by their /64.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "boost/asio/ip/address.hpp"
#include "encore/commands.h"
#include "encore/net/protocol.h"
#include "encore/net/server.h"
#include "gtest/gtest.h"
#include "hello_failures.h"
#include "support/core_fixture.h"
#include "support/loopback_server.h"
#include "support/raw_connection.h"

namespace encore::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr char kApiKey[] = "api-4f1c0e9a7b2d6e3f";
constexpr char kAdminKey[] = "admin-8c2e5a1f0d9b7c4e";

TEST(AuthTest, ShortKeysAndAnAdminKeyEqualToTheApiKeyAreRefused) {
  net::ServerOptions options;
  options.api_key = std::string(net::kKeyBytesMin - 1, 'k');
  absl::Status status = net::ValidateServerOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("api_key"), std::string::npos) << status;

  options = {};
  options.admin_key = "x";
  status = net::ValidateServerOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("admin_key"), std::string::npos) << status;

  options = {};
  options.api_key = std::string(net::kKeyBytesMin, 'k');
  options.admin_key = options.api_key;
  status = net::ValidateServerOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("differ"), std::string::npos) << status;

  options.admin_key = std::string(net::kKeyBytesMin, 'a');
  EXPECT_TRUE(net::ValidateServerOptions(options).ok());
  options = {};  // No keys at all is allowed (a server on a private network).
  EXPECT_TRUE(net::ValidateServerOptions(options).ok());

  LoopbackServer probe(nullptr, 1);
  options.api_key = "short";
  options.client_listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  EXPECT_EQ(net::Server::Start(options, &probe.engine()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AuthTest, AnAddressWithTooManyFailedHellosIsRefusedUntilTheLockoutEnds) {
  constexpr uint32_t kFailuresMax = 3;
  constexpr uint32_t kLockoutMs = 600;
  constexpr auto kGuessFor = std::chrono::milliseconds(300);
  net::ServerOptions options;
  options.api_key = kApiKey;
  options.admin_key = kAdminKey;
  options.hello_failures_max = kFailuresMax;
  options.hello_lockout_ms = kLockoutMs;
  LoopbackServer server(nullptr, 1, options);

  for (uint32_t i = 0; i < kFailuresMax; ++i) {
    RawConnection guess(server.client_port());
    const net::DecodedResponse refused = guess.Hello("api-guess-" + std::to_string(i) + "-xxxxxx");
    EXPECT_EQ(refused.code, ResultCode::kUnauthorized);
    EXPECT_EQ(refused.message, "wrong or missing API key");
    EXPECT_TRUE(guess.ReceivesClose());
  }
  // Locked out now: the right key is refused too, and says why.
  const SteadyClock::time_point locked_at = SteadyClock::now();
  {
    RawConnection right(server.client_port());
    const net::DecodedResponse refused = right.Hello(kApiKey);
    EXPECT_EQ(refused.code, ResultCode::kUnauthorized);
    EXPECT_NE(refused.message.find("too many failed Hellos"), std::string::npos) << refused.message;
    EXPECT_TRUE(right.ReceivesClose());
  }
  // A guesser as fast as it can: no key is looked at while locked out.
  uint32_t attempts = 0;
  while (SteadyClock::now() - locked_at < kGuessFor && attempts < 10'000) {
    RawConnection guess(server.client_port());
    if (guess.Hello("api-guess-fast-" + std::to_string(attempts)).code !=
        ResultCode::kUnauthorized) {
      ADD_FAILURE() << "a guess was accepted";
      break;
    }
    ++attempts;
  }
  const net::Server::Stats locked = server.server().stats();
  std::printf(
      "[ figures  ] key guessing locked out: %u Hellos in %lld ms, %llu keys checked "
      "(hello_failures_max %u, hello_lockout_ms %u)\n",
      attempts + 1, static_cast<long long>(kGuessFor.count()),
      static_cast<unsigned long long>(locked.connections_auth_failed_closed), kFailuresMax,
      kLockoutMs);
  EXPECT_EQ(locked.connections_auth_failed_closed, kFailuresMax);
  EXPECT_EQ(locked.connections_auth_locked_closed, attempts + 1);
  EXPECT_GT(attempts, 10u);

  // After the lockout (counted from the last failure), the right key works.
  std::this_thread::sleep_until(locked_at + std::chrono::milliseconds(kLockoutMs + 100));
  RawConnection right(server.client_port());
  const net::DecodedResponse hello = right.Hello(kApiKey);
  EXPECT_EQ(hello.code, ResultCode::kOk) << hello.message;
  EXPECT_EQ(right.Command(2, MakeCharge(3, 5, 1)).code, ResultCode::kOk);
  // Failures on the admin listener count for the same address.
  for (uint32_t i = 0; i < kFailuresMax; ++i) {
    RawConnection guess(server.admin_port());
    EXPECT_EQ(guess.Hello(kApiKey).code, ResultCode::kUnauthorized);
  }
  RawConnection admin(server.admin_port());
  EXPECT_NE(admin.Hello(kAdminKey).message.find("too many failed Hellos"), std::string::npos);
}

TEST(AuthTest, TheTableOfFailingAddressesIsBoundedAndForgetsTheOldestFirst) {
  using net::internal::HelloFailures;
  namespace ip = boost::asio::ip;
  constexpr size_t kAddressesMax = 8;
  HelloFailures failures(/*failures_max=*/2, std::chrono::milliseconds(60'000), kAddressesMax);
  SteadyClock::time_point now = SteadyClock::now();
  auto v4 = [](uint32_t n) {
    return HelloFailures::KeyOf(ip::make_address_v4(0x0A000000u + n));  // 10.0.0.n
  };
  for (uint32_t n = 0; n < 100; ++n) {
    now += std::chrono::milliseconds(1);
    failures.RecordFailure(v4(n), now);
    failures.RecordFailure(v4(n), now);
    ASSERT_LE(failures.size(), kAddressesMax);
  }
  EXPECT_EQ(failures.size(), kAddressesMax);
  // The newest are still locked out; the oldest were forgotten.
  EXPECT_GT(failures.LockedFor(v4(99), now).count(), 0);
  EXPECT_GT(failures.LockedFor(v4(92), now).count(), 0);
  EXPECT_EQ(failures.LockedFor(v4(0), now).count(), 0);
  EXPECT_EQ(failures.LockedFor(v4(91), now).count(), 0);

  // IPv6: one /64 is one entry; a v4-mapped address is its IPv4 address.
  HelloFailures six(/*failures_max=*/2, std::chrono::milliseconds(60'000), kAddressesMax);
  six.RecordFailure(HelloFailures::KeyOf(ip::make_address("2001:db8:1:2::1")), now);
  six.RecordFailure(HelloFailures::KeyOf(ip::make_address("2001:db8:1:2:ffff::7")), now);
  EXPECT_EQ(six.size(), 1u);
  EXPECT_GT(six.LockedFor(HelloFailures::KeyOf(ip::make_address("2001:db8:1:2::99")), now).count(),
            0);
  EXPECT_EQ(six.LockedFor(HelloFailures::KeyOf(ip::make_address("2001:db8:1:3::1")), now).count(),
            0);
  EXPECT_EQ(HelloFailures::KeyOf(ip::make_address("::ffff:10.0.0.5")), v4(5));

  // A failure is forgotten once the lockout has passed since it.
  now += std::chrono::milliseconds(60'000);
  EXPECT_EQ(failures.LockedFor(v4(99), now).count(), 0);
}

}  // namespace
}  // namespace encore::testing
