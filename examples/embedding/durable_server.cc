// A program embedding all three Encore libraries: an engine over a RocksDB
// journal (encore::persistence) behind the wire-protocol server (encore::net).
// It charges a user, stops everything, opens it all again over the same
// directory, and checks that the balance came back from the journal. Exits
// non-zero if it did not.
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "encore/commands.h"
#include "encore/engine.h"
#include "encore/net/server.h"
#include "encore/rocksdb_journal.h"

namespace {

constexpr encore::UserId kUser = 41;
constexpr encore::Points kCharged = 7'000;

struct Running {
  std::unique_ptr<encore::RocksDbJournal> journal;
  std::unique_ptr<encore::Engine> engine;
  std::unique_ptr<encore::net::Server> server;
};

bool Start(const std::string& path, Running* running) {
  encore::RocksDbJournalOptions journal_options;
  journal_options.path = path;
  journal_options.durability = encore::Durability::kAsync;
  auto journal = encore::RocksDbJournal::Open(journal_options);
  if (!journal.ok()) {
    std::fprintf(stderr, "journal: %s\n", journal.status().ToString().c_str());
    return false;
  }
  running->journal = std::move(*journal);
  encore::EngineOptions options;
  options.shards = 2;
  options.journal = running->journal.get();
  auto engine = encore::Engine::Open(options);
  if (!engine.ok()) {
    std::fprintf(stderr, "engine: %s\n", engine.status().ToString().c_str());
    return false;
  }
  running->engine = std::move(*engine);
  encore::net::ServerOptions server_options;
  server_options.client_listen = "127.0.0.1:0";  // Any free ports.
  server_options.admin_listen = "127.0.0.1:0";
  auto server = encore::net::Server::Start(server_options, running->engine.get());
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return false;
  }
  running->server = std::move(*server);
  std::printf("serving on 127.0.0.1:%u (admin %u)\n", running->server->client_port(),
              running->server->admin_port());
  return true;
}

bool Stop(Running* running) {
  running->server->Stop();
  running->server.reset();
  running->engine->Close();
  running->engine.reset();
  const absl::Status closed = running->journal->Close();
  running->journal.reset();
  if (!closed.ok()) std::fprintf(stderr, "journal close: %s\n", closed.ToString().c_str());
  return closed.ok();
}

// One command through a producer of its own (a producer per thread).
encore::Reply Call(encore::Engine& engine, const encore::Command& command) {
  auto producer = engine.NewProducer();
  if (!producer.ok()) return encore::Reply{encore::ResultCode::kUnavailable};
  return (*producer)->Call(command);
}

}  // namespace

int main() {
  char pattern[] = "/tmp/encore-embedding-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string path = std::string(pattern) + "/data";
  Running running;
  bool ok = Start(path, &running);
  if (ok) {
    const encore::Reply charged = Call(*running.engine, encore::MakeCharge(kUser, kCharged, 1));
    std::printf("charge           %s, balance %lld\n",
                std::string(encore::ResultCodeName(charged.code)).c_str(),
                static_cast<long long>(charged.balance));
    ok = charged.ok() && Stop(&running);
  }
  ok = ok && Start(path, &running);
  if (ok) {
    const encore::Reply balance = Call(*running.engine, encore::MakeBalance(kUser));
    std::printf("after a restart  balance %lld\n", static_cast<long long>(balance.balance));
    ok = Stop(&running) && balance.ok() && balance.balance == kCharged;
  }
  std::filesystem::remove_all(pattern);
  std::printf("%s\n", ok ? "the charge survived the restart" : "UNEXPECTED OUTCOME");
  return ok ? 0 : 1;
}
