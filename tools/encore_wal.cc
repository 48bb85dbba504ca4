// encore-wal: look into an Encore data directory (the journal).
//
//   encore-wal dump <dir> [--shard N] [--from LSN] [--limit N]
//   encore-wal verify <dir>      check everything; exit 1 naming the first problem
//   encore-wal replay <dir>      recover every shard: counts, state hash, speed
//   encore-wal cut <dir>         after a DataLoss: end the log at its first damage
//
// `encore-wal --help` says what each does (AddCommands below); exit 2 on a
// usage error. It opens the journal read-and-write (RocksDB allows one
// process at a time): stop encored first.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "encore/core.h"
#include "encore/rocksdb_journal.h"
#include "flags.h"

namespace encore {
namespace {

struct Options {
  std::string command;
  std::string path;
  int64_t shard = -1;
  uint64_t from_lsn = 1;
  uint64_t limit = UINT64_MAX;
};

// The subcommands, each with its help, filling `options`; one is required.
void AddCommands(CLI::App& app, Options* options) {
  app.require_subcommand(1);
  struct Spec {
    const char* name;
    const char* help;
  };
  for (const Spec& spec :
       {Spec{"dump", "one line per event: shard, LSN, type and its fields"},
        Spec{"verify",
             "read every shard (snapshot, then the log), check format versions, checksums and "
             "LSN contiguity, replay into a core and check the invariants; exit 1 naming the "
             "first problem"},
        Spec{"replay",
             "recover every shard and print its counts and state hash, and how fast the replay "
             "went"},
        Spec{"cut",
             "after a DataLoss: end the log at its first damage (what follows kept aside, never "
             "read again) and accept a log that ends short of its end mark; print what was cut, "
             "then verify. What was cut is lost."}}) {
    CLI::App* command = app.add_subcommand(spec.name, spec.help);
    command->add_option("dir", options->path, "the data directory")->type_name("DIR")->required();
    command->callback([options, name = std::string(spec.name)] { options->command = name; });
    if (std::string(spec.name) == "dump") {
      tools::AddNumber<int64_t>(*command, "--shard", &options->shard, "only this shard", 0,
                                INT64_MAX)
          ->default_str("all");
      tools::AddNumber(*command, "--from", &options->from_lsn, "from this LSN")->type_name("LSN");
      tools::AddNumber(*command, "--limit", &options->limit, "at most N events")
          ->default_str("all");
    }
  }
}

void PrintSeatsHeld(const SeatsHeld& e) {
  std::printf(" schedule=%" PRIu64 " user=%" PRIu64 " hold=%" PRIu64 " deadline=%" PRId64 " seats=",
              e.schedule, e.user, e.hold, e.deadline_ms);
  for (uint32_t i = 0; i < e.seat_count && i < kHoldSeatsMax; ++i) {
    std::printf("%s%u", i ? "," : "", e.seats[i]);
  }
}

void PrintEvent(uint32_t shard, uint64_t lsn, const EventView& event) {
  std::printf("%u %" PRIu64 " %s", shard, lsn, std::string(EventTypeName(event.type)).c_str());
  switch (event.type) {
    case EventType::kSeatsHeld:
      PrintSeatsHeld(event.As<SeatsHeld>());
      break;
    case EventType::kSeatsHeldRecorded: {
      const auto e = event.As<SeatsHeldRecorded>();
      PrintSeatsHeld(e.held);
      std::printf(" key=%" PRIu64, e.request_key);
      break;
    }
    case EventType::kHoldEnded: {
      const auto e = event.As<HoldEnded>();
      std::printf(" schedule=%" PRIu64 " hold=%" PRIu64 " reason=%s", e.schedule, e.hold,
                  e.reason == HoldEndReason::kReleased ? "released" : "expired");
      break;
    }
    case EventType::kAccountCharged: {
      const auto e = event.As<AccountCharged>();
      std::printf(" user=%" PRIu64 " amount=%" PRId64, e.user, e.amount);
      break;
    }
    case EventType::kAccountDebited: {
      const auto e = event.As<AccountDebited>();
      std::printf(" user=%" PRIu64 " schedule=%" PRIu64 " payment=%" PRIu64 " amount=%" PRId64,
                  e.user, e.schedule, e.payment, e.amount);
      break;
    }
    case EventType::kPaymentStarted: {
      const auto e = event.As<PaymentStarted>();
      std::printf(" schedule=%" PRIu64 " hold=%" PRIu64 " payment=%" PRIu64 " user=%" PRIu64
                  " amount=%" PRId64,
                  e.schedule, e.hold, e.payment, e.user, e.amount);
      break;
    }
    case EventType::kPaymentSettled: {
      const auto e = event.As<PaymentSettled>();
      std::printf(" schedule=%" PRIu64 " payment=%" PRIu64 " outcome=%s", e.schedule, e.payment,
                  std::string(ResultCodeName(e.outcome)).c_str());
      break;
    }
    case EventType::kPaymentCompleted: {
      const auto e = event.As<PaymentCompleted>();
      std::printf(" schedule=%" PRIu64 " hold=%" PRIu64 " payment=%" PRIu64 " user=%" PRIu64
                  " amount=%" PRId64 " entry=%u",
                  e.schedule, e.hold, e.payment, e.user, e.amount, e.entry);
      break;
    }
    case EventType::kQueueEntered: {
      const auto e = event.As<QueueEntered>();
      std::printf(" schedule=%" PRIu64 " user=%" PRIu64 " entry=%u", e.schedule, e.user, e.entry);
      break;
    }
    case EventType::kQueueAdmitted: {
      const auto e = event.As<QueueAdmitted>();
      std::printf(" schedule=%" PRIu64 " entry=%u", e.schedule, e.entry);
      break;
    }
    case EventType::kQueueEnded: {
      const auto e = event.As<QueueEnded>();
      std::printf(" schedule=%" PRIu64 " entry=%u state=%u", e.schedule, e.entry,
                  static_cast<unsigned>(e.state));
      break;
    }
    case EventType::kRequestRecorded: {
      const auto e = event.As<RequestRecorded>();
      std::printf(" user=%" PRIu64 " key=%" PRIu64 " result=%s", e.user, e.key,
                  std::string(ResultCodeName(e.reply.code)).c_str());
      break;
    }
    default:
      std::printf(" (%zu bytes)", event.payload.size());
      break;
  }
  std::printf("\n");
}

// Walks the events of one batch; false if the framing is broken.
template <typename Fn>
bool ForEachEvent(std::span<const uint8_t> records, Fn fn) {
  return ForEachEventRecord(records, [&](const EventView& event) {
           fn(event);
           return true;
         }) == records.size();
}

int Dump(RocksDbJournal& journal, const Options& options) {
  uint64_t printed = 0;
  for (uint32_t shard = 0; shard < RocksDbJournalOptions().shards_max; ++shard) {
    if (options.shard >= 0 && shard != options.shard) continue;
    if (journal.LastLsn(shard) == 0) continue;
    // The log before the newest snapshot is gone (the snapshot holds it).
    uint64_t from_lsn = options.from_lsn;
    absl::StatusOr<std::optional<Journal::StoredSnapshot>> snapshot = journal.LatestSnapshot(shard);
    if (!snapshot.ok()) {
      std::fprintf(stderr, "encore-wal: shard %u: %s\n", shard,
                   snapshot.status().ToString().c_str());
      return 1;
    }
    if (snapshot->has_value() && from_lsn <= (*snapshot)->first) {
      std::fprintf(stderr, "shard %u: events up to lsn %" PRIu64 " are in its snapshot\n", shard,
                   (*snapshot)->first);
      from_lsn = (*snapshot)->first + 1;
    }
    const absl::Status status = journal.ReadShard(
        shard, from_lsn,
        [&](uint64_t first_lsn, std::span<const uint8_t> records, uint32_t) -> absl::Status {
          uint64_t lsn = first_lsn;
          ForEachEvent(records, [&](const EventView& event) {
            if (printed++ < options.limit) PrintEvent(shard, lsn, event);
            ++lsn;
          });
          return printed < options.limit ? absl::OkStatus() : absl::CancelledError("limit");
        });
    if (!status.ok() && !absl::IsCancelled(status)) {
      std::fprintf(stderr, "encore-wal: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

// Recovers each shard into a core, as Engine::Open does. Prints one line per
// shard (and totals for replay); returns 1 at the first problem.
int Recover(RocksDbJournal& journal, bool print_state) {
  uint64_t events_total = 0;
  double seconds_total = 0;
  uint64_t shards = 0;
  for (uint32_t shard = 0; shard < RocksDbJournalOptions().shards_max; ++shard) {
    if (journal.LastLsn(shard) == 0) continue;
    ++shards;
    const auto started = std::chrono::steady_clock::now();
    Core core{CoreOptions{}};
    uint64_t snapshot_lsn = 0;
    absl::StatusOr<std::optional<Journal::StoredSnapshot>> snapshot = journal.LatestSnapshot(shard);
    if (!snapshot.ok()) {
      std::fprintf(stderr, "encore-wal: shard %u: %s\n", shard,
                   snapshot.status().ToString().c_str());
      return 1;
    }
    if (snapshot->has_value()) {
      const absl::Status loaded = core.LoadSnapshot((*snapshot)->second);
      if (!loaded.ok()) {
        std::fprintf(stderr, "encore-wal: shard %u snapshot at lsn %" PRIu64 ": %s\n", shard,
                     (*snapshot)->first, loaded.ToString().c_str());
        return 1;
      }
      snapshot_lsn = (*snapshot)->first;
    }
    uint64_t last_lsn = snapshot_lsn;
    uint64_t replayed = 0;
    absl::Status status = journal.ReadShard(
        shard, snapshot_lsn + 1,
        [&](uint64_t first_lsn, std::span<const uint8_t> records, uint32_t) -> absl::Status {
          uint64_t lsn = first_lsn;
          absl::Status applied;
          const bool framed = ForEachEvent(records, [&](const EventView& event) {
            if (applied.ok()) {
              applied = core.ApplyEvent(event);
              if (!applied.ok()) {
                applied = absl::DataLossError("shard " + std::to_string(shard) + " lsn " +
                                              std::to_string(lsn) + ": " +
                                              std::string(applied.message()));
              }
            }
            ++lsn;
          });
          if (!framed)
            return absl::DataLossError("broken record framing at lsn " + std::to_string(first_lsn));
          replayed += lsn - first_lsn;
          last_lsn = lsn - 1;
          return applied;
        });
    if (status.ok()) status = core.CheckInvariants();
    if (!status.ok()) {
      std::fprintf(stderr, "encore-wal: shard %u: %s\n", shard, status.ToString().c_str());
      return 1;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    events_total += replayed;
    seconds_total += seconds;
    const CoreStats stats = core.Stats();
    std::printf("shard %u: snapshot lsn %" PRIu64 ", %" PRIu64 " events replayed, last lsn %" PRIu64
                ", invariants ok",
                shard, snapshot_lsn, replayed, last_lsn);
    if (print_state) {
      std::printf(", hash %016" PRIx64 ", schedules %" PRIu64 ", seats sold %" PRIu64
                  ", holds %" PRIu64 ", accounts %" PRIu64 ", balances %" PRId64 ", %.3f s",
                  core.StateHash(), stats.schedules, stats.seats_sold, stats.holds_live,
                  stats.accounts, stats.balances_total, seconds);
    }
    std::printf("\n");
  }
  if (shards == 0) std::printf("no shard has any record in this directory\n");
  if (print_state && seconds_total > 0) {
    std::printf("replayed %" PRIu64 " events in %.3f s: %.2f M events/s\n", events_total,
                seconds_total, events_total / seconds_total / 1e6);
  }
  return 0;
}

}  // namespace
}  // namespace encore

int main(int argc, char** argv) {
  encore::Options options;
  CLI::App app("encore-wal: look into an Encore data directory (the journal). Stop encored first.",
               "encore-wal");
  encore::tools::SetUpApp(app);
  encore::AddCommands(app, &options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return encore::tools::ExitParse(app, error, 2);
  }
  encore::RocksDbJournalOptions journal_options;
  journal_options.path = options.path;
  journal_options.cut_log_at_damage = options.command == "cut";
  auto journal = encore::RocksDbJournal::Open(journal_options);
  if (!journal.ok()) {
    std::fprintf(stderr, "encore-wal: %s\n", journal.status().ToString().c_str());
    return 1;
  }
  if (options.command == "cut") {
    const std::vector<std::string> cuts = (*journal)->cuts();
    for (const std::string& cut : cuts) std::printf("%s\n", cut.c_str());
    if (cuts.empty()) std::printf("nothing to cut: the log is whole\n");
  }
  int result = 0;
  if (options.command == "dump") {
    result = encore::Dump(**journal, options);
  } else {
    result = encore::Recover(**journal, options.command == "replay");
  }
  if (!(*journal)->Close().ok()) return 1;
  return result;
}
