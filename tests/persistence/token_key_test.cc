// The queue-token key is kept with the data: a token handed out before a
// restart still opens the gate after it, with the default (stored) key.
#include <filesystem>

#include "encore/commands.h"
#include "encore/engine.h"
#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"

namespace encore::testing {
namespace {

struct Opened {
  std::unique_ptr<RocksDbJournal> journal;
  std::unique_ptr<Engine> engine;
};

Opened OpenDefault(const std::string& path) {
  Opened opened;
  RocksDbJournalOptions journal_options;
  journal_options.path = path;
  auto journal = RocksDbJournal::Open(journal_options);
  EXPECT_TRUE(journal.ok()) << journal.status();
  opened.journal = std::move(*journal);
  EngineOptions options;  // token_key left zero: stored with the data.
  options.journal = opened.journal.get();
  auto engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  opened.engine = std::move(*engine);
  return opened;
}

TEST(TokenKeyTest, TokensStayValidAcrossARestart) {
  char dir_template[] = "/tmp/encore-token-XXXXXX";
  const std::string path = std::string(mkdtemp(dir_template)) + "/data";
  const ScheduleConfig config = OnSaleNowConfig(kSchedule, 10);
  QueueToken token;
  {
    Opened opened = OpenDefault(path);
    auto producer = std::move(*opened.engine->NewProducer());
    ASSERT_TRUE(producer->Call(MakeCreateConcert(kConcert, "Keys", 1)).ok());
    ASSERT_TRUE(producer->Call(MakeCreateSchedule(config, 2)).ok());
    const Reply entered = producer->Call(MakeEnterQueue(kSchedule, 5, 3));
    ASSERT_TRUE(entered.ok());
    token = entered.token;
    opened.engine->Close();
    opened.engine.reset();
    ASSERT_TRUE(opened.journal->Close().ok());
  }
  Opened reopened = OpenDefault(path);
  auto producer = std::move(*reopened.engine->NewProducer());
  const Reply status = producer->Call(MakeQueueStatus(kSchedule, 5, token));
  EXPECT_EQ(status.code, ResultCode::kOk) << ResultCodeName(status.code);
  EXPECT_EQ(status.queue_state, QueueState::kActive);
  const SeatIndex seats[] = {4};
  const Reply held = producer->Call(MakeHoldSeats(kSchedule, 5, token, seats, 4));
  EXPECT_EQ(held.code, ResultCode::kOk) << ResultCodeName(held.code);
  reopened.engine->Close();
  reopened.engine.reset();
  ASSERT_TRUE(reopened.journal->Close().ok());
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

}  // namespace
}  // namespace encore::testing
