// Reads show only what is durable: Ledger, SeatMap, ListSchedules and
// ServerStats wait until what they read from memory is in the journal, and
// once the journal has failed they answer UNAVAILABLE, as commands do (what
// a failed journal never wrote is gone after the restart: a read must not
// have shown it).
#include <poll.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "encore/commands.h"
#include "encore/journal.h"
#include "gtest/gtest.h"
#include "support/core_fixture.h"
#include "support/loopback_server.h"
#include "support/raw_connection.h"

namespace encore::testing {
namespace {

// A journal whose durability the test holds back, lets go, or fails for
// good.
class GatedJournal final : public Journal {
 public:
  void Submit(uint32_t shard, uint64_t first_lsn, uint32_t count,
              std::span<const uint8_t>) override {
    std::lock_guard<std::mutex> lock(mutex_);
    submitted_[shard] = first_lsn + count - 1;
    if (!held_ && !failed_) Publish();
  }
  uint64_t DurableLsn(uint32_t shard) const override { return durable_[shard].load(); }
  void WaitDurable(uint32_t shard, uint64_t lsn, std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return durable_[shard].load() >= lsn || failed_; });
  }
  absl::Status status() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_ ? absl::DataLossError("injected: no space left on device") : absl::OkStatus();
  }

  void Hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_ = false;
    Publish();
  }
  void Fail() {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_ = true;
    changed_.notify_all();
  }

 private:
  void Publish() {  // REQUIRES: mutex_ held.
    for (size_t shard = 0; shard < durable_.size(); ++shard) durable_[shard] = submitted_[shard];
    changed_.notify_all();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  bool failed_ = false;
  std::array<uint64_t, 2> submitted_{};
  std::array<std::atomic<uint64_t>, 2> durable_{};
};

// True if nothing arrives on `connection` within `ms`.
bool Silent(RawConnection& connection, int ms) {
  pollfd polled{connection.fd(), POLLIN, 0};
  return ::poll(&polled, 1, ms) == 0;
}

// The next `count` responses, by request id.
std::map<uint64_t, net::DecodedResponse> ReceiveAll(RawConnection& connection, size_t count) {
  std::map<uint64_t, net::DecodedResponse> responses;
  for (size_t i = 0; i < count; ++i) {
    std::optional<net::DecodedResponse> response = connection.Receive();
    if (!response.has_value()) break;
    responses[response->id] = *response;
  }
  return responses;
}

class DurableReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(admin_.Hello().code, ResultCode::kOk);
    ASSERT_EQ(admin_.Command(2, MakeCreateConcert(kConcert, "Durable", 1)).code, ResultCode::kOk);
    ASSERT_EQ(admin_.Command(3, MakeCreateSchedule(OnSaleNowConfig(kSchedule, 10), 2)).code,
              ResultCode::kOk);
    ASSERT_EQ(admin_.Command(4, MakeCharge(kUser, 100, 3)).code, ResultCode::kOk);
  }

  // Sends a second charge of kUser, and waits until its shard has applied
  // it (it is held back from durability): a read from then on sees it.
  void ChargeAppliedNotDurable(uint64_t id) {
    const uint32_t shard = ShardOfUser(kUser, stack_.engine().shard_count());
    const uint64_t before = stack_.engine().shard_stats(shard).last_lsn;
    std::vector<uint8_t> frame;
    net::AppendCommandRequest(id, MakeCharge(kUser, 50, 4), &frame);
    ASSERT_TRUE(admin_.Send(frame));
    for (int i = 0; i < 2000 && stack_.engine().shard_stats(shard).last_lsn == before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GT(stack_.engine().shard_stats(shard).last_lsn, before);
    ASSERT_LT(stack_.engine().shard_stats(shard).durable_lsn,
              stack_.engine().shard_stats(shard).last_lsn);
  }

  // Holds durability back, charges kUser again (request 10, applied, not
  // durable), then asks for the ledger (request 11), which shows that
  // charge: no answer comes within `silent_ms`.
  void LedgerAfterAHeldCharge(int silent_ms) {
    journal_.Hold();
    ChargeAppliedNotDurable(10);
    std::vector<uint8_t> frame;
    net::AppendLedgerRequest(11, kUser, 0, 0, &frame);
    ASSERT_TRUE(admin_.Send(frame));
    EXPECT_TRUE(Silent(admin_, silent_ms));
  }

  static constexpr UserId kUser = 42;
  GatedJournal journal_;
  LoopbackServer stack_{&journal_, 2};
  RawConnection admin_{stack_.admin_port()};
};

TEST_F(DurableReadsTest, ALedgerReadWaitsForWhatItShowsToBeDurable) {
  LedgerAfterAHeldCharge(300);
  journal_.Release();
  std::map<uint64_t, net::DecodedResponse> responses = ReceiveAll(admin_, 2);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[10].code, ResultCode::kOk);
  EXPECT_EQ(responses[11].code, ResultCode::kOk);
  EXPECT_EQ(responses[11].ledger.size(), 2u);
}

TEST_F(DurableReadsTest, EveryReadAnswersUnavailableOnceTheJournalFailed) {
  LedgerAfterAHeldCharge(100);
  journal_.Fail();
  std::map<uint64_t, net::DecodedResponse> responses = ReceiveAll(admin_, 2);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[10].code, ResultCode::kUnavailable);
  EXPECT_EQ(responses[11].code, ResultCode::kUnavailable) << responses[11].message;
  EXPECT_TRUE(responses[11].ledger.empty());

  // Reads of what was durable before the failure too: the failure may have
  // come between changes they would show.
  std::vector<uint8_t> request;
  net::AppendSeatMapRequest(20, kSchedule, 0, QueueToken{}, &request);
  const net::DecodedResponse seats = admin_.Call(request);
  EXPECT_EQ(seats.id, 20u);
  EXPECT_EQ(seats.code, ResultCode::kUnavailable);
  EXPECT_TRUE(seats.seats.empty());
  request.clear();
  net::AppendListSchedulesRequest(21, kConcert, &request);
  const net::DecodedResponse schedules = admin_.Call(request);
  EXPECT_EQ(schedules.id, 21u);
  EXPECT_EQ(schedules.code, ResultCode::kUnavailable);
  EXPECT_TRUE(schedules.schedules.empty());
  request.clear();
  net::AppendServerStatsRequest(22, &request);
  const net::DecodedResponse stats = admin_.Call(request);
  EXPECT_EQ(stats.id, 22u);
  EXPECT_EQ(stats.code, ResultCode::kUnavailable);
  EXPECT_NE(stats.message.find("no space left on device"), std::string::npos) << stats.message;
  EXPECT_EQ(admin_.Command(23, MakeBalance(kUser)).code, ResultCode::kUnavailable);
}

}  // namespace
}  // namespace encore::testing
