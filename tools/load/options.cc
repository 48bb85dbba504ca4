// The options' check and derived defaults (see options.h).
#include "options.h"

#include <algorithm>
#include <cmath>

#include "encore/types.h"

namespace encore::load {

bool IsSingleOperationMix(const std::string& mix) {
  return mix == "hold-only" || mix == "pay-only";
}

uint32_t HoldOnlySeatsDefault(const LoadOptions& options) {
  double holds = options.duration_s > 0 ? options.duration_s * kHoldOnlyRateAssumed : 0;
  if (options.count != 0 && (holds == 0 || static_cast<double>(options.count) < holds)) {
    holds = static_cast<double>(options.count);
  }
  const double per_connection = std::ceil(holds / std::max<uint32_t>(options.connections, 1));
  return static_cast<uint32_t>(
      std::clamp<double>(per_connection, 1, kHoldOnlySeatsPerConnectionMax));
}

absl::Status ValidateLoadOptions(const LoadOptions& o) {
  auto bad = [](const std::string& text) { return absl::InvalidArgumentError(text); };
  if (o.scenario == "verify") {
    return o.ack_log_path.empty() ? bad("verify needs --ack-log FILE") : absl::OkStatus();
  }
  if (o.scenario != "flash-sale" && o.scenario != "throughput") {
    return bad("the scenario is flash-sale, throughput or verify; got '" + o.scenario + "'");
  }
  if (o.connections < 1 || o.connections > kConnectionsMax) return bad("--connections is 1 .. 256");
  if (o.depth < 1 || o.depth > kDepthMax) return bad("--depth is 1 .. 65536");
  if (o.duration_s < 0 || (o.scenario == "throughput" && o.duration_s == 0 && o.count == 0)) {
    return bad("--duration-s must be > 0 (or give --count)");
  }
  if (o.rate < 0) return bad("--rate must be >= 0");
  if (o.scenario == "throughput" && o.mix != "mixed" && o.mix != "holds" && o.mix != "pays" &&
      !IsSingleOperationMix(o.mix)) {
    return bad("--mix is mixed, holds, pays, hold-only or pay-only; got '" + o.mix + "'");
  }
  const bool hold_only = o.scenario == "throughput" && o.mix == "hold-only";
  if (hold_only && (o.seats < 1 || o.seats > kHoldOnlySeatsPerConnectionMax)) {
    return bad("--seats is 1 .. 16000000 with --mix hold-only");
  }
  if (!hold_only && (o.seats < 1 || o.seats > kSeatsPerScheduleMax)) {
    return bad("--seats is 1 .. 1000000");
  }
  if (o.scenario == "throughput" && IsSingleOperationMix(o.mix) && o.count != 0 &&
      o.count < o.connections) {
    return bad("--count is split over the connections with --mix " + o.mix +
               ": give at least one per connection");
  }
  if (o.scenario == "throughput" && o.mix == "pay-only" &&
      (o.count == 0 ||
       (o.count + o.connections - 1) / o.connections > kPayOnlyPaymentsPerConnectionMax)) {
    return bad("--mix pay-only needs --count of 1 .. 4000000 payments per connection");
  }
  if (o.users < 1 || o.users > 10'000'000) return bad("--users is 1 .. 10000000");
  if (o.price < 1 || o.price > kSeatPriceMax) return bad("--price is 1 .. 10^11");
  if (o.hold_ttl_ms < kHoldTtlMinMs || o.hold_ttl_ms > kHoldTtlMaxMs) {
    return bad("--hold-ttl-ms is 1000 .. 86400000");
  }
  if (o.abandon_percent + o.late_percent > 100) {
    return bad("--abandon-percent + --late-percent is at most 100");
  }
  if (o.poll_ms < 1) return bad("--poll-ms must be >= 1");
  return absl::OkStatus();
}

}  // namespace encore::load
