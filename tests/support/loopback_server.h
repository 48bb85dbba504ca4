// LoopbackServer: an engine and an encored-style server on ephemeral ports of
// 127.0.0.1, for the tests of net/ and tools/. Header-only, so that only the
// tests that use it link the network library.
#ifndef ENCORE_TESTS_SUPPORT_LOOPBACK_SERVER_H_
#define ENCORE_TESTS_SUPPORT_LOOPBACK_SERVER_H_

#include <memory>
#include <utility>

#include "encore/engine.h"
#include "encore/net/server.h"
#include "gtest/gtest.h"

namespace encore::testing {

class LoopbackServer {
 public:
  // `journal` (not owned, may be null: no-op) must outlive the server.
  // `server_options` sets the limits and keys; its listen addresses are
  // replaced by ephemeral ports of 127.0.0.1.
  explicit LoopbackServer(Journal* journal = nullptr, uint32_t shards = 2,
                          net::ServerOptions server_options = {})
      : LoopbackServer(EngineWith(journal, shards), std::move(server_options)) {}
  // `engine_options` as given (e.g. a small ring_capacity).
  LoopbackServer(const EngineOptions& engine_options, net::ServerOptions server_options) {
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Open(engine_options);
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
    server_options.client_listen = "127.0.0.1:0";
    server_options.admin_listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<net::Server>> server =
        net::Server::Start(server_options, engine_.get());
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  ~LoopbackServer() {
    server_->Stop();
    engine_->Close();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  Engine& engine() { return *engine_; }
  net::Server& server() { return *server_; }
  uint16_t client_port() const { return server_->client_port(); }
  uint16_t admin_port() const { return server_->admin_port(); }

 private:
  static EngineOptions EngineWith(Journal* journal, uint32_t shards) {
    EngineOptions options;
    options.shards = shards;
    options.journal = journal;
    return options;
  }

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<net::Server> server_;
};

}  // namespace encore::testing

#endif  // ENCORE_TESTS_SUPPORT_LOOPBACK_SERVER_H_
