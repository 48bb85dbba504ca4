// The end-of-run check (see server_check.h).
#include "server_check.h"

#include <algorithm>
#include <utility>

#include "encore/commands.h"
#include "encore/net/protocol.h"
#include "encore/result_code.h"
#include "setup_pipeline.h"

namespace encore::load {

using net::DecodedResponse;

absl::StatusOr<std::unique_ptr<net::Client>> ConnectAdmin(const LoadOptions& options,
                                                          const std::string& client_name) {
  net::ClientOptions client_options;
  client_options.host = options.host;
  client_options.port = options.admin_port;
  client_options.client_name = client_name;
  return net::Client::Connect(client_options);
}

namespace {

// A line of the check, and whether it says that a read failed rather than
// what a read found.
struct CheckLine {
  std::string text;
  bool read_failed = false;
};

// CheckServerState's reads and comparisons, on an open admin connection.
std::vector<CheckLine> ReadAndCompare(net::Client& admin, const Expectations& expected) {
  std::vector<CheckLine> lines;
  absl::StatusOr<DecodedResponse> listed = admin.ListSchedules(expected.concert);
  if (!listed.ok() || listed->code != ResultCode::kOk) {
    return {{"cannot list the schedules of concert " + std::to_string(expected.concert), true}};
  }
  for (const auto& [schedule, paid] : expected.seats_paid) {
    const ScheduleInfo* info = nullptr;
    for (const ScheduleInfo& candidate : listed->schedules) {
      if (candidate.config.schedule == schedule) info = &candidate;
    }
    if (info == nullptr) {
      lines.push_back({"schedule " + std::to_string(schedule) + " is missing on the server"});
      continue;
    }
    if (info->seats_sold != paid) {
      lines.push_back({"schedule " + std::to_string(schedule) + ": the server sold " +
                       std::to_string(info->seats_sold) + " seats; the tool saw " +
                       std::to_string(paid) + " paid"});
    }
    absl::StatusOr<DecodedResponse> map = admin.SeatMap(schedule, 0, QueueToken{});
    if (!map.ok() || map->code != ResultCode::kOk) {
      lines.push_back(
          {"schedule " + std::to_string(schedule) + ": cannot read the seat map", true});
      continue;
    }
    const uint64_t sold =
        static_cast<uint64_t>(std::count(map->seats.begin(), map->seats.end(), SeatState::kSold));
    if (sold != paid) {
      lines.push_back({"schedule " + std::to_string(schedule) + ": the seat map shows " +
                       std::to_string(sold) + " seats SOLD; the tool saw " + std::to_string(paid) +
                       " paid (a seat sold twice, or a payment lost)"});
    }
  }
  // Balances, pipelined; the replies' handler sends the next requests, so
  // they go out in batches.
  std::vector<std::pair<UserId, Points>> certain;
  for (const auto& [user, balance] : expected.balances) {
    if (expected.uncertain.count(user) == 0) certain.emplace_back(user, balance);
  }
  std::vector<std::pair<UserId, CheckLine>> wrong;
  SetupPipeline reads(
      &admin, certain.size(), SetupPipeline::WindowFor(admin, admin.options().in_flight_max),
      [&certain](uint64_t i) { return MakeBalance(certain[i].first); },
      [&certain, &wrong](uint64_t i, const DecodedResponse& r) {
        const auto& [user, balance] = certain[i];
        if (r.code != ResultCode::kOk) {
          wrong.emplace_back(user,
                             CheckLine{"user " + std::to_string(user) + ": Balance answered " +
                                           std::string(ResultCodeName(r.code)),
                                       r.code == ResultCode::kUnavailable});
        } else if (r.reply.balance != balance) {
          wrong.emplace_back(
              user,
              CheckLine{"user " + std::to_string(user) + ": balance " +
                        std::to_string(r.reply.balance) + " on the server; the tool expected " +
                        std::to_string(balance) + " (charges - payments it saw acknowledged)"});
        }
        return absl::OkStatus();
      });
  reads.Start();
  // Every reply has been handled (they write `wrong`) before it is read.
  if (absl::Status read = reads.Wait(); !read.ok()) {
    lines.push_back({"cannot read every balance: " + std::string(read.message()), true});
  }
  std::sort(wrong.begin(), wrong.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [user, line] : wrong) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

std::vector<std::string> CheckServerState(const LoadOptions& options, const Expectations& expected,
                                          bool* lost) {
  if (lost != nullptr) *lost = false;
  absl::StatusOr<std::unique_ptr<net::Client>> admin = ConnectAdmin(options, "encore-load-admin");
  if (!admin.ok()) {
    if (lost != nullptr) {
      *lost = true;
      return {};
    }
    return {"cannot read the server's state: " + std::string(admin.status().message())};
  }
  const std::vector<CheckLine> lines = ReadAndCompare(**admin, expected);
  // Reads in flight when the connection dropped failed or came back
  // UNAVAILABLE: those lines say nothing about the server's state; the
  // comparisons of what was read stay.
  const bool dropped = lost != nullptr && !(*admin)->connected();
  if (dropped) *lost = true;
  std::vector<std::string> breaches;
  for (const CheckLine& line : lines) {
    if (!(dropped && line.read_failed)) breaches.push_back(line.text);
  }
  return breaches;
}

}  // namespace encore::load
