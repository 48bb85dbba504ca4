// Server: options, listeners, accepting and the orderly stop. The connections
// themselves are served in server_io_thread.cc.
#include "encore/net/server.h"

#include <charconv>
#include <utility>

#include "boost/asio/post.hpp"
#include "server_internal.h"

namespace encore::net {

namespace internal {
namespace {

// Wait before accepting again after an accept error (e.g. out of file
// descriptors), so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

struct ParsedAddress {
  asio::ip::address address;
  uint16_t port = 0;
};

// "host:port" or "[v6]:port".
absl::StatusOr<ParsedAddress> ParseAddress(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return absl::InvalidArgumentError("expected host:port, got \"" + text + "\"");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  ParsedAddress parsed;
  boost::system::error_code error;
  parsed.address = asio::ip::make_address(host, error);
  if (error) return absl::InvalidArgumentError("\"" + host + "\" is not an IP address");
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  uint32_t port = 0;
  const auto [end, code] = std::from_chars(first, last, port);
  if (code != std::errc() || end != last || port > 65535) {
    return absl::InvalidArgumentError("bad port in \"" + text + "\"");
  }
  parsed.port = static_cast<uint16_t>(port);
  return parsed;
}

absl::Status CheckRange(const char* field, uint64_t value, uint64_t min, uint64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError("ServerOptions." + std::string(field) + " must be " +
                                    std::to_string(min) + " .. " + std::to_string(max) + ", got " +
                                    std::to_string(value));
}

}  // namespace

void CompletionSignal::Notify() {
  if (drain_queued_.exchange(true, std::memory_order_seq_cst)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_ != nullptr) thread_->PostDrain();
}

void CompletionSignal::Detach() {
  std::lock_guard<std::mutex> lock(mutex_);
  thread_ = nullptr;
}

ServerState::ServerState(const ServerOptions& options, Engine* engine)
    : options_(options),
      engine_(engine),
      hello_failures_(options.hello_failures_max,
                      std::chrono::milliseconds(options.hello_lockout_ms),
                      kHelloFailureAddressesMax) {}

ServerState::~ServerState() {
  Stop();
  // A Start that failed half-way: nothing runs; the listeners go before the
  // I/O threads whose contexts they use.
  client_listener_.reset();
  admin_listener_.reset();
  read_pool_.join();
}

absl::Status ServerState::Start() {
  for (uint32_t index = 0; index < options_.io_threads; ++index) {
    absl::StatusOr<std::unique_ptr<Producer>> producer = engine_->NewProducer();
    if (!producer.ok()) return producer.status();
    io_threads_.push_back(std::make_unique<IoThread>(this, std::move(*producer)));
  }
  client_listener_ = std::make_unique<Listener>(io_thread(0).context());
  admin_listener_ = std::make_unique<Listener>(io_thread(0).context());
  admin_listener_->admin = true;
  absl::Status status = Listen(options_.client_listen, client_listener_.get(), &client_port_);
  if (!status.ok()) return status;
  status = Listen(options_.admin_listen, admin_listener_.get(), &admin_port_);
  if (!status.ok()) return status;
  Accept(client_listener_.get());
  Accept(admin_listener_.get());
  for (auto& thread : io_threads_) thread->Start();
  started_ = true;
  return absl::OkStatus();
}

absl::Status ServerState::Listen(const std::string& text, Listener* listener, uint16_t* port) {
  absl::StatusOr<ParsedAddress> parsed = ParseAddress(text);
  if (!parsed.ok()) return parsed.status();
  const asio::ip::tcp::endpoint endpoint(parsed->address, parsed->port);
  asio::ip::tcp::acceptor& acceptor = listener->acceptor;
  boost::system::error_code error;
  const char* step = "open";
  acceptor.open(endpoint.protocol(), error);
  if (!error) {
    step = "set SO_REUSEADDR";
    acceptor.set_option(asio::socket_base::reuse_address(true), error);
  }
  if (!error) {
    step = "bind";
    acceptor.bind(endpoint, error);
  }
  if (!error) {
    step = "listen";
    acceptor.listen(asio::socket_base::max_listen_connections, error);
  }
  asio::ip::tcp::endpoint bound;
  if (!error) {
    step = "read the bound port";
    bound = acceptor.local_endpoint(error);
  }
  if (error) {
    return absl::UnavailableError("cannot listen on " + text + " (" + step +
                                  "): " + error.message());
  }
  *port = bound.port();
  return absl::OkStatus();
}

// Runs on I/O thread 0, which owns the acceptors.
void ServerState::Accept(Listener* listener) {
  IoThread* target = io_threads_[next_thread_].get();
  next_thread_ = (next_thread_ + 1) % static_cast<uint32_t>(io_threads_.size());
  listener->acceptor.async_accept(
      target->context(),
      [this, listener, target](boost::system::error_code error, asio::ip::tcp::socket socket) {
        if (stopping_.load()) return;
        if (error) {
          if (error == asio::error::operation_aborted) return;
          listener->retry_timer.expires_after(kAcceptRetryDelay);
          listener->retry_timer.async_wait([this, listener](boost::system::error_code wait_error) {
            if (!wait_error && !stopping_.load()) Accept(listener);
          });
          return;
        }
        if (counters_.connections_open.load() >= options_.connections_max) {
          counters_.connections_refused.fetch_add(1);
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          counters_.connections_open.fetch_add(1);
          counters_.connections_accepted.fetch_add(1);
          asio::post(target->context(),
                     [target, admin = listener->admin, socket = std::move(socket)]() mutable {
                       target->Adopt(std::move(socket), admin);
                     });
        }
        Accept(listener);
      });
}

void ServerState::ReportQuiet() {
  std::lock_guard<std::mutex> lock(quiet_mutex_);
  ++quiet_threads_;
  quiet_changed_.notify_all();
}

void ServerState::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  asio::post(io_thread(0).context(), [this] {
    boost::system::error_code ignored;
    for (Listener* listener : {client_listener_.get(), admin_listener_.get()}) {
      listener->acceptor.close(ignored);
      listener->retry_timer.cancel();
    }
  });
  for (auto& thread : io_threads_) {
    asio::post(thread->context(), [io = thread.get()] { io->BeginDrain(); });
  }
  {
    std::unique_lock<std::mutex> lock(quiet_mutex_);
    quiet_changed_.wait_for(lock, std::chrono::milliseconds(options_.stop_drain_timeout_ms),
                            [this] { return quiet_threads_ == io_threads_.size(); });
  }
  // Reads still running finish against the open engine; what they post back
  // is dropped with the closed connections.
  read_pool_.join();
  for (auto& thread : io_threads_) {
    asio::post(thread->context(), [io = thread.get()] { io->CloseAll(); });
  }
  for (auto& thread : io_threads_) thread->Join();
}

Server::Stats ServerState::stats() const {
  Server::Stats stats;
  stats.connections_open = counters_.connections_open.load();
  stats.connections_accepted = counters_.connections_accepted.load();
  stats.connections_refused = counters_.connections_refused.load();
  stats.connections_idle_closed = counters_.connections_idle_closed.load();
  stats.connections_hello_timeout_closed = counters_.connections_hello_timeout_closed.load();
  stats.connections_frame_timeout_closed = counters_.connections_frame_timeout_closed.load();
  stats.connections_auth_failed_closed = counters_.connections_auth_failed_closed.load();
  stats.connections_auth_locked_closed = counters_.connections_auth_locked_closed.load();
  stats.connections_protocol_closed = counters_.connections_protocol_closed.load();
  stats.commands_deferred = counters_.commands_deferred.load();
  stats.requests = counters_.requests.load();
  return stats;
}

RequestLatencies ServerState::request_latencies() const {
  RequestLatencies latencies{};
  for (const auto& thread : io_threads_) thread->AddLatencies(&latencies);
  return latencies;
}

}  // namespace internal

std::string_view RequestTypeName(RequestType type) {
  switch (type) {
#define ENCORE_X(enumerator, value, name) \
  case RequestType::enumerator:           \
    return name;
    ENCORE_COMMAND_TYPES(ENCORE_X)
    ENCORE_SERVER_REQUEST_KINDS(ENCORE_X)
#undef ENCORE_X
    case RequestType::kOther:
      break;
  }
  return "other";
}

absl::Status ValidateServerOptions(const ServerOptions& options) {
  for (const auto& [field, address] : {std::pair{"client_listen", &options.client_listen},
                                       std::pair{"admin_listen", &options.admin_listen}}) {
    absl::StatusOr<internal::ParsedAddress> parsed = internal::ParseAddress(*address);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("ServerOptions." + std::string(field) + ": " +
                                        std::string(parsed.status().message()));
    }
  }
  absl::Status status = internal::CheckRange("io_threads", options.io_threads, 1, kIoThreadsMax);
  if (status.ok()) {
    status =
        internal::CheckRange("connections_max", options.connections_max, 1, kConnectionsMaxLimit);
  }
  if (status.ok()) {
    status =
        internal::CheckRange("frame_bytes_max", options.frame_bytes_max, 64, kFrameBytesMaxLimit);
  }
  if (status.ok()) {
    status = internal::CheckRange("in_flight_max", options.in_flight_max, 1, kInFlightMaxLimit);
  }
  if (status.ok()) {
    status = internal::CheckRange("output_bytes_max", options.output_bytes_max, kOutputBytesMaxMin,
                                  UINT64_MAX);
  }
  for (const auto& [field, key] :
       {std::pair{"api_key", &options.api_key}, std::pair{"admin_key", &options.admin_key}}) {
    if (status.ok() && !key->empty()) {
      status = internal::CheckRange((std::string(field) + " bytes").c_str(), key->size(),
                                    kKeyBytesMin, kNameBytesMax);
    }
  }
  if (status.ok() && !options.api_key.empty() && options.api_key == options.admin_key) {
    status = absl::InvalidArgumentError(
        "ServerOptions.api_key and admin_key must differ: the same key would make every client "
        "an admin");
  }
  for (const auto& [field, value] : {std::pair{"idle_timeout_ms", options.idle_timeout_ms},
                                     std::pair{"hello_timeout_ms", options.hello_timeout_ms},
                                     std::pair{"frame_timeout_ms", options.frame_timeout_ms}}) {
    if (status.ok()) status = internal::CheckRange(field, value, 0, kTimeoutMsLimit);
  }
  if (status.ok()) {
    status = internal::CheckRange("hello_failures_max", options.hello_failures_max, 1, 1000);
  }
  if (status.ok()) {
    status = internal::CheckRange("hello_lockout_ms", options.hello_lockout_ms, 1, kTimeoutMsLimit);
  }
  if (status.ok()) {
    status =
        internal::CheckRange("server_name bytes", options.server_name.size(), 0, kNameBytesMax);
  }
  return status;
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      Engine* engine) {
  if (engine == nullptr) return absl::InvalidArgumentError("Server::Start: engine is null");
  absl::Status status = ValidateServerOptions(options);
  if (!status.ok()) return status;
  auto state = std::make_unique<internal::ServerState>(options, engine);
  status = state->Start();
  if (!status.ok()) return status;
  return std::unique_ptr<Server>(new Server(std::move(state)));
}

Server::Server(std::unique_ptr<internal::ServerState> state) : state_(std::move(state)) {}
Server::~Server() { Stop(); }
void Server::Stop() { state_->Stop(); }
uint16_t Server::client_port() const { return state_->client_port(); }
uint16_t Server::admin_port() const { return state_->admin_port(); }
Server::Stats Server::stats() const { return state_->stats(); }
RequestLatencies Server::request_latencies() const { return state_->request_latencies(); }

}  // namespace encore::net
