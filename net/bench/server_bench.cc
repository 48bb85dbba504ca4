// The server over loopback: pipelined requests/s through the client library
// (1 and 4 connections), one-at-a-time latency, and the CPU an idle server
// uses. Engine on the no-op journal (the network, not the disk, is measured;
// durability has its own benchmark).
//
// Run: build/net/server_bench
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "encore/commands.h"
#include "encore/engine.h"
#include "encore/net/client.h"
#include "encore/net/server.h"

namespace encore {
namespace {

struct Running {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<net::Server> server;
};

Running Start(uint32_t shards) {
  Running running;
  EngineOptions options;
  options.shards = shards;
  options.token_key = {1, 2};
  running.engine = std::move(*Engine::Open(options));
  net::ServerOptions server_options;
  server_options.client_listen = "127.0.0.1:0";
  server_options.admin_listen = "127.0.0.1:0";
  server_options.io_threads = 1;
  running.server = std::move(*net::Server::Start(server_options, running.engine.get()));
  return running;
}

std::unique_ptr<net::Client> Connect(const Running& running) {
  net::ClientOptions options;
  options.port = running.server->client_port();
  return std::move(*net::Client::Connect(options));
}

// range(0) connections, each keeping up to 1024 charges in flight.
void BM_PipelinedCharges(benchmark::State& state) {
  Running running = Start(1);
  const int connections = static_cast<int>(state.range(0));
  std::vector<std::unique_ptr<net::Client>> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(Connect(running));
  uint64_t done = 0;
  std::atomic<uint64_t> errors{0};
  RequestKey key = 0;
  for (auto _ : state) {
    constexpr int kPerConnection = 50'000;
    std::vector<std::thread> senders;
    std::atomic<int> answered{0};
    for (int c = 0; c < connections; ++c) {
      const RequestKey base = key + static_cast<RequestKey>(c) * kPerConnection;
      senders.emplace_back([&, c, base] {
        for (int i = 0; i < kPerConnection; ++i) {
          clients[c]->Send(MakeCharge(1 + (i % 1000) + c * 1000, 1, base + i + 1),
                           [&](const net::DecodedResponse& response) {
                             if (response.code != ResultCode::kOk) ++errors;
                             ++answered;
                           });
        }
        while (clients[c]->in_flight() > 0) std::this_thread::yield();
      });
    }
    for (auto& sender : senders) sender.join();
    key += static_cast<RequestKey>(connections) * kPerConnection;
    done += static_cast<uint64_t>(answered.load());
  }
  state.SetItemsProcessed(static_cast<int64_t>(done));
  state.counters["errors"] = static_cast<double>(errors.load());
  clients.clear();
  running.server->Stop();
  running.engine->Close();
}
BENCHMARK(BM_PipelinedCharges)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

// One request at a time: the round trip a client sees.
void BM_CallLatency(benchmark::State& state) {
  Running running = Start(1);
  auto client = Connect(running);
  std::vector<double> micros;
  RequestKey key = 0;
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    ++key;
    benchmark::DoNotOptimize(client->Call(MakeCharge(1 + key % 100, 1, key)));
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
            .count());
  }
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  client.reset();
  running.server->Stop();
  running.engine->Close();
}
BENCHMARK(BM_CallLatency)->Iterations(20'000)->Unit(benchmark::kMicrosecond)->UseRealTime();

double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A running server (engine, I/O thread, a connected idle client): CPU over
// one second, in percent of one core.
void BM_IdleServerCpu(benchmark::State& state) {
  Running running = Start(1);
  auto client = Connect(running);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  double percent = 0;
  for (auto _ : state) {
    const double before = ProcessCpuSeconds();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    percent = (ProcessCpuSeconds() - before) * 100;
  }
  state.counters["idle_cpu_percent"] = percent;
  client.reset();
  running.server->Stop();
  running.engine->Close();
}
BENCHMARK(BM_IdleServerCpu)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace encore

BENCHMARK_MAIN();
