// The journal's log files on disk (internal/segment_log.h): a corrupt group,
// an unknown segment version, a missing segment, a bad group before whole
// ones, a tear before the last segment, a log ending short of its end mark
// and a lost database are DataLoss (cut only with cut_log_at_damage); a torn
// tail (a crash in the middle of a write) is cut and writing goes on after it;
// truncation deletes whole segments once every shard in them is past them;
// and a log kept as RocksDB keys by an earlier version is read and continued.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "encore/rocksdb_journal.h"
#include "gtest/gtest.h"
#include "internal/log_format.h"
#include "internal/segment_log.h"
#include "internal/shard_scan.h"
#include "persistence/journal_test_support.h"
#include "rocksdb/db.h"

namespace encore {
namespace {

namespace fs = std::filesystem;

// Group header (payload_bytes u32 | crc u32), then per batch key (13 bytes) |
// value_bytes u32 | batch header (10 bytes) | records.
constexpr size_t kSegmentHeaderBytes = 16;
constexpr size_t kGroupOverheadBytes = 8 + 13 + 4 + 10;  // One batch a group.

std::unique_ptr<RocksDbJournal> OpenWithSegments(const std::string& path, uint64_t segment_bytes) {
  return OpenJournal(path, Durability::kSync, segment_bytes);
}

// Submits a batch and waits until it is durable: each one its own group.
Batch WriteGroup(RocksDbJournal& journal, uint32_t shard, uint32_t count, uint32_t seed) {
  const Batch batch = SubmitBatch(journal, shard, count, seed);
  journal.WaitDurable(shard, batch.first_lsn + count - 1, kWaitForever);
  EXPECT_EQ(journal.DurableLsn(shard), batch.first_lsn + count - 1);
  return batch;
}

std::vector<std::string> SegmentFiles(const std::string& path) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path + "/log")) {
    files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void EditFile(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(file.is_open()) << path;
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(file.good());
}

std::vector<uint64_t> FirstLsns(const std::vector<Batch>& batches) {
  std::vector<uint64_t> lsns;
  for (const Batch& batch : batches) lsns.push_back(batch.first_lsn);
  return lsns;
}

// Opens the journal in `path`: its last LSN of shard 0 is `last_lsn` and its
// log reads back as `batches`.
void ExpectLog(const std::string& path, uint64_t last_lsn, const std::vector<Batch>& batches) {
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(path);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->LastLsn(0), last_lsn);
  absl::StatusOr<std::vector<Batch>> read = ReadAll(*journal, 0);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, batches);
}

// Three groups on shard 0 in one segment: lsn 1..3, 4..8, 9..10.
std::vector<Batch> WriteThreeGroups(const std::string& path) {
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(path);
  EXPECT_NE(journal, nullptr);
  if (journal == nullptr) return {};
  std::vector<Batch> batches = {WriteGroup(*journal, 0, 3, 1), WriteGroup(*journal, 0, 5, 2),
                                WriteGroup(*journal, 0, 2, 3)};
  EXPECT_TRUE(journal->Close().ok());
  return batches;
}

TEST(SegmentLogTest, ACorruptGroupIsDataLossNamingFileAndOffset) {
  TempDir dir;
  const std::vector<Batch> batches = WriteThreeGroups(dir.path());
  ASSERT_EQ(batches.size(), 3u);
  const std::vector<std::string> files = SegmentFiles(dir.path());
  ASSERT_EQ(files.size(), 1u);
  const uint64_t second_group =
      kSegmentHeaderBytes + kGroupOverheadBytes + batches[0].records.size();
  // A byte inside the second group's records: not at the tail, so not torn.
  EditFile(files[0], second_group + kGroupOverheadBytes + 5, "\x7f");
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  std::vector<uint64_t> delivered;
  const absl::Status status =
      journal->ReadShard(0, 1, [&](uint64_t first_lsn, std::span<const uint8_t>, uint32_t) {
        delivered.push_back(first_lsn);
        return absl::OkStatus();
      });
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(),
            "corrupt log group in " + files[0] + " at offset " + std::to_string(second_group));
  EXPECT_EQ(delivered, std::vector<uint64_t>{1});  // What came before is good.
  // Nothing was cut: the damage is still there after another open.
  ASSERT_TRUE(journal->Close().ok());
  journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(ReadAll(*journal, 0).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SegmentLogTest, UnknownSegmentVersionIsDataLoss) {
  TempDir dir;
  WriteThreeGroups(dir.path());
  const std::vector<std::string> files = SegmentFiles(dir.path());
  ASSERT_EQ(files.size(), 1u);
  EditFile(files[0], 8, std::string("\x07\0\0\0", 4));  // u32 little-endian version
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(ReadAll(*journal, 0).status().message(),
            "unknown log segment version 7 in " + files[0]);
}

TEST(SegmentLogTest, AMissingSegmentIsAGap) {
  TempDir dir;
  {
    // 100 events of 12 to 102 bytes pass the 4 KiB minimum: a segment each.
    std::unique_ptr<RocksDbJournal> journal = OpenWithSegments(dir.path(), 4096);
    ASSERT_NE(journal, nullptr);
    for (uint32_t seed = 1; seed <= 3; ++seed) WriteGroup(*journal, 0, 100, seed);
    ASSERT_TRUE(journal->Close().ok());
  }
  const std::vector<std::string> files = SegmentFiles(dir.path());
  ASSERT_EQ(files.size(), 3u);
  fs::remove(files[1]);
  std::unique_ptr<RocksDbJournal> journal = OpenWithSegments(dir.path(), 4096);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->LastLsn(0), 300u);
  EXPECT_EQ(ReadAll(*journal, 0).status().message(),
            "gap in the log at shard 0: expected lsn 101, found 201");
}

// A crash in the middle of a write leaves part of a group (or zeros, where
// the file system extended the file but not its data) after the last
// acknowledged one: never acknowledged, cut at the next open, and the log
// goes on after the last whole group.
TEST(SegmentLogTest, ATornTailIsCutAndTheLogGoesOn) {
  for (const bool zeros : {false, true}) {
    SCOPED_TRACE(zeros ? "zeros after the last group" : "a group cut short");
    TempDir dir;
    std::vector<Batch> batches = WriteThreeGroups(dir.path());
    ASSERT_EQ(batches.size(), 3u);
    const std::string file = SegmentFiles(dir.path())[0];
    const uint64_t end = fs::file_size(file);
    const uint64_t third = end - kGroupOverheadBytes - batches[2].records.size();
    std::string tail;
    if (zeros) {
      tail.assign(300, '\0');
    } else {  // A fourth group cut short: the third one's bytes, but its last 7.
      std::ifstream in(file, std::ios::binary);
      tail.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      tail = tail.substr(third, end - third - 7);
    }
    std::ofstream(file, std::ios::binary | std::ios::app) << tail;
    {
      std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
      ASSERT_NE(journal, nullptr);
      EXPECT_EQ(journal->LastLsn(0), 10u);
      // The bytes cut are kept beside the segment, unless they were zeros.
      const std::string aside = file + ".torn-at-" + std::to_string(end);
      EXPECT_EQ(fs::exists(aside), !zeros);
      if (!zeros) {
        EXPECT_EQ(fs::file_size(aside), tail.size());
      }
      EXPECT_EQ(fs::file_size(file), end);
      absl::StatusOr<std::vector<Batch>> read = ReadAll(*journal, 0);
      ASSERT_TRUE(read.ok()) << read.status();
      EXPECT_EQ(*read, batches);
      batches.push_back(WriteGroup(*journal, 0, 4, 9));  // 11..14
      ASSERT_TRUE(journal->Close().ok());
    }
    ExpectLog(dir.path(), 14, batches);
  }
}

// A length field damaged in place (here: 0x7FFFFFFF, reaching past the end
// of the file) looks like a torn write, but whole groups follow it: damage,
// refused with DataLoss naming the file and offset. Cut only when the
// operator says so (cut_log_at_damage), which keeps the rest aside.
TEST(SegmentLogTest, ADamagedLengthFollowedByWholeGroupsIsDamageNotATornTail) {
  TempDir dir;
  std::vector<Batch> batches = WriteThreeGroups(dir.path());
  ASSERT_EQ(batches.size(), 3u);
  const std::string file = SegmentFiles(dir.path())[0];
  const uint64_t size = fs::file_size(file);
  const uint64_t second = kSegmentHeaderBytes + kGroupOverheadBytes + batches[0].records.size();
  const uint64_t third = second + kGroupOverheadBytes + batches[1].records.size();
  EditFile(file, second, std::string("\xff\xff\xff\x7f", 4));
  for (int open = 0; open < 2; ++open) {  // Refused every time: nothing is cut.
    std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(ReadAll(*journal, 0).status(),
              absl::DataLossError("corrupt log group in " + file + " at offset " +
                                  std::to_string(second) + ": a whole group follows at offset " +
                                  std::to_string(third) + ", so it is damage, not a torn write"));
    EXPECT_TRUE(journal->cuts().empty());
    EXPECT_EQ(fs::file_size(file), size);
  }
  RocksDbJournalOptions options;
  options.path = dir.path();
  options.cut_log_at_damage = true;
  absl::StatusOr<std::unique_ptr<RocksDbJournal>> cut = RocksDbJournal::Open(options);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ((*cut)->LastLsn(0), 3u);
  ASSERT_EQ((*cut)->cuts().size(), 1u);
  EXPECT_EQ((*cut)->cuts()[0].rfind("cut " + file + " at offset " + std::to_string(second), 0), 0u)
      << (*cut)->cuts()[0];
  EXPECT_EQ(fs::file_size(file + ".damaged-at-" + std::to_string(second)), size - second);
  EXPECT_EQ(fs::file_size(file), second);
  ASSERT_TRUE((*cut)->Close().ok());
  cut->reset();
  ExpectLog(dir.path(), 3, {batches[0]});  // And opens normally from then on.
}

// Groups are synced in order (kSync) and a segment is synced when it is
// closed (kAsync): no crash tears a segment before the last one. Such a
// tear is damage in both modes, unless the operator cuts the log there.
TEST(SegmentLogTest, ATearBeforeTheLastSegmentIsDamageUnlessCut) {
  TempDir dir;
  std::vector<Batch> batches;
  {
    std::unique_ptr<RocksDbJournal> journal = OpenWithSegments(dir.path(), 4096);
    ASSERT_NE(journal, nullptr);
    for (uint32_t seed = 1; seed <= 3; ++seed)
      batches.push_back(WriteGroup(*journal, 0, 100, seed));
    ASSERT_TRUE(journal->Close().ok());
  }
  const std::vector<std::string> files = SegmentFiles(dir.path());
  ASSERT_EQ(files.size(), 3u);
  fs::resize_file(files[1], fs::file_size(files[1]) - 7);
  for (const Durability durability : {Durability::kSync, Durability::kAsync}) {
    std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path(), durability, 4096);
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(ReadAll(*journal, 0).status().message(),
              "torn log group before the last segment in " + files[1] + " at offset 16");
  }
  batches.resize(1);
  {
    RocksDbJournalOptions options;
    options.path = dir.path();
    options.log_segment_bytes = 4096;
    options.cut_log_at_damage = true;
    absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
    ASSERT_TRUE(journal.ok()) << journal.status();
    EXPECT_EQ((*journal)->LastLsn(0), 100u);
    // The tear, the segment after it, and the shortfall of the end mark.
    EXPECT_EQ((*journal)->cuts().size(), 3u);
    EXPECT_TRUE(fs::exists(files[2] + ".after-damage"));
    EXPECT_FALSE(fs::exists(files[2]));
    batches.push_back(WriteGroup(**journal, 0, 5, 4));  // 101..105
    ASSERT_TRUE((*journal)->Close().ok());
  }
  ExpectLog(dir.path(), 105, batches);
}

// The database records how far the log reached on disk (its end mark, at
// every segment roll and close): a last segment cut short or deleted, which
// once read as a shorter log, is DataLoss at open in both modes, for
// encore-wal as for encored. The operator may accept the loss.
TEST(SegmentLogTest, ALogEndingShortOfItsEndMarkIsDataLoss) {
  for (const bool deleted : {false, true}) {
    for (const Durability durability : {Durability::kSync, Durability::kAsync}) {
      SCOPED_TRACE(std::string(deleted ? "deleted" : "cut to half") +
                   (durability == Durability::kSync ? ", sync" : ", async"));
      TempDir dir;
      {
        std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path(), durability, 4096);
        ASSERT_NE(journal, nullptr);
        for (uint32_t seed = 1; seed <= 4; ++seed) WriteGroup(*journal, 0, 100, seed);
        ASSERT_TRUE(journal->Close().ok());
      }
      const std::vector<std::string> files = SegmentFiles(dir.path());
      ASSERT_EQ(files.size(), 4u);
      if (deleted) {
        fs::remove(files[3]);
      } else {
        fs::resize_file(files[3], fs::file_size(files[3]) / 2);
      }
      for (int open = 0; open < 2; ++open) {
        RocksDbJournalOptions options;
        options.path = dir.path();
        options.durability = durability;
        absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
        ASSERT_EQ(journal.status().code(), absl::StatusCode::kDataLoss) << journal.status();
        EXPECT_EQ(journal.status().message().rfind(
                      "the log of shard 0 ends at lsn 300, short of lsn 400, which was on disk", 0),
                  0u)
            << journal.status();
      }
      RocksDbJournalOptions options;
      options.path = dir.path();
      options.durability = durability;
      options.cut_log_at_damage = true;
      absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
      ASSERT_TRUE(journal.ok()) << journal.status();
      EXPECT_EQ((*journal)->LastLsn(0), 300u);
      ASSERT_FALSE((*journal)->cuts().empty());
      EXPECT_EQ((*journal)->cuts().back().rfind("accepted: the log of shard 0 ends at lsn 300", 0),
                0u);
      ASSERT_TRUE((*journal)->Close().ok());
      journal->reset();
      std::unique_ptr<RocksDbJournal> reopened = OpenJournal(dir.path(), durability);
      ASSERT_NE(reopened, nullptr);  // The mark now says where the log ends.
      EXPECT_EQ(reopened->LastLsn(0), 300u);
    }
  }
}

// The RocksDB database holds the queue-token key, the snapshot pointers and
// the log's end mark. Gone (its CURRENT file, or all of it) while the log is
// there: DataLoss, not a fresh database with a new key.
TEST(SegmentLogTest, ALostDatabaseBesideALogIsDataLoss) {
  for (const bool everything : {false, true}) {
    SCOPED_TRACE(everything ? "every database file removed" : "CURRENT removed");
    TempDir dir;
    WriteThreeGroups(dir.path());
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      const std::string name = entry.path().filename().string();
      if (name == "CURRENT" || (everything && name != "log" && name != "snapshots")) {
        fs::remove_all(entry.path());
      }
    }
    RocksDbJournalOptions options;
    options.path = dir.path();
    absl::StatusOr<std::unique_ptr<RocksDbJournal>> journal = RocksDbJournal::Open(options);
    ASSERT_EQ(journal.status().code(), absl::StatusCode::kDataLoss) << journal.status();
    EXPECT_NE(journal.status().message().find("is missing (no CURRENT file)"), std::string::npos)
        << journal.status();
    EXPECT_FALSE(fs::exists(dir.path() + "/CURRENT"));  // Nothing was created.
  }
}

// A crash right after a segment is created leaves it empty (or with part of
// its header): it holds nothing, and goes at the next open.
TEST(SegmentLogTest, AnEmptyLastSegmentIsRemoved) {
  for (const std::string& start : {std::string(), std::string("ENC")}) {
    TempDir dir;
    std::vector<Batch> batches = WriteThreeGroups(dir.path());
    const std::string empty = dir.path() + "/log/segment-00000000000000000009.log";
    std::ofstream(empty) << start;
    {
      std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
      ASSERT_NE(journal, nullptr);
      EXPECT_FALSE(fs::exists(empty));
      batches.push_back(WriteGroup(*journal, 0, 4, 9));  // 11..14
      ASSERT_TRUE(journal->Close().ok());
    }
    ExpectLog(dir.path(), 14, batches);
  }
}

TEST(SegmentLogTest, TruncationDeletesASegmentOnceEveryShardInItIsPast) {
  TempDir dir;
  std::unique_ptr<RocksDbJournal> journal = OpenWithSegments(dir.path(), 4096);
  ASSERT_NE(journal, nullptr);
  // Segment 1: shard 0 lsn 1..100 and shard 1 lsn 1..100 (one group);
  // segment 2: shard 0 lsn 101..200; segment 3: shard 0 lsn 201..300.
  SubmitBatch(*journal, 0, 100, 1);
  SubmitBatch(*journal, 1, 100, 2);
  journal->WaitDurable(0, 100, kWaitForever);
  journal->WaitDurable(1, 100, kWaitForever);
  // The two may have gone out as one group or two: count what is there.
  const size_t before = SegmentFiles(dir.path()).size();
  WriteGroup(*journal, 0, 100, 3);
  WriteGroup(*journal, 0, 100, 4);
  ASSERT_EQ(SegmentFiles(dir.path()).size(), before + 2);

  // Truncation follows a snapshot (its contract): stored, then the log cut.
  ASSERT_TRUE(journal->PutSnapshot(0, 200, std::vector<uint8_t>{1, 2, 3}).ok());
  ASSERT_TRUE(journal->DeleteBefore(0, 201).ok());
  // Left: the segment holding shard 1 (with or without shard 0's 1..100),
  // and the one being written.
  std::vector<std::string> left = SegmentFiles(dir.path());
  EXPECT_EQ(left.size(), 2u);
  // Reads honour the truncation before the files go.
  EXPECT_EQ(ReadAll(*journal, 0, 1).status().message(),
            "gap in the log at shard 0: expected lsn 1, found 201");
  absl::StatusOr<std::vector<Batch>> read = ReadAll(*journal, 0, 201);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(FirstLsns(*read), std::vector<uint64_t>{201});
  read = ReadAll(*journal, 1, 1);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(FirstLsns(*read), std::vector<uint64_t>{1});

  ASSERT_TRUE(journal->PutSnapshot(1, 100, std::vector<uint8_t>{4, 5}).ok());
  ASSERT_TRUE(journal->DeleteBefore(1, 101).ok());
  left = SegmentFiles(dir.path());
  ASSERT_EQ(left.size(), 1u);  // Only the one being written.
  read = ReadAll(*journal, 1, 101);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
  ASSERT_TRUE(journal->Close().ok());
  journal = OpenWithSegments(dir.path(), 4096);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->LastLsn(0), 300u);
  read = ReadAll(*journal, 0, 201);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(FirstLsns(*read), std::vector<uint64_t>{201});
}

// Data directories written before the segment log kept each batch as a
// RocksDB key ('E' | shard | first_lsn, format 2 value): still read, the
// log continued in segments after it, and truncated as before.
TEST(SegmentLogTest, AKeyedLogFromAnEarlierVersionIsReadAndContinued) {
  TempDir dir;
  std::vector<Batch> batches = {{1, 3, MakeRecords(3, 1)}, {4, 5, MakeRecords(5, 2)}};
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (const Batch& batch : batches) {
      using namespace persistence::internal;
      const Key key = EncodeKey(kBatchKind, 0, batch.first_lsn);
      const BatchHeader header = EncodeBatchHeader(batch.count, batch.records);
      std::string value(header.data(), header.size());
      value.append(reinterpret_cast<const char*>(batch.records.data()), batch.records.size());
      ASSERT_TRUE(
          db->Put(rocksdb::WriteOptions(), std::string(key.data(), key.size()), value).ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  {
    std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->LastLsn(0), 8u);
    batches.push_back(WriteGroup(*journal, 0, 2, 3));  // 9..10, in a segment
    ASSERT_TRUE(journal->Close().ok());
  }
  ExpectLog(dir.path(), 10, batches);
  std::unique_ptr<RocksDbJournal> journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<Batch>> read = ReadAll(*journal, 0, 6);  // From inside a keyed batch.
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(FirstLsns(*read), (std::vector<uint64_t>{6, 9}));
  ASSERT_TRUE(journal->DeleteBefore(0, 9).ok());
  EXPECT_EQ(ReadAll(*journal, 0, 1).status().message(),
            "gap in the log at shard 0: expected lsn 1, found 9");
  ASSERT_TRUE(journal->Close().ok());
  // The keyed batches are gone for good (a range deletion), the segment stays.
  journal = OpenJournal(dir.path());
  ASSERT_NE(journal, nullptr);
  read = ReadAll(*journal, 0, 9);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(FirstLsns(*read), std::vector<uint64_t>{9});
  EXPECT_EQ(ReadAll(*journal, 0, 1).status().message(),
            "gap in the log at shard 0: expected lsn 1, found 9");
}

// An append larger than a group may be (1 GiB; 100 bytes here) is written as
// several whole groups, in order, each holding at least one batch: read back
// the same, and the file is exactly those groups.
TEST(SegmentLogTest, AnAppendOverTheGroupLimitIsWrittenAsSeveralGroups) {
  using persistence::internal::SegmentLog;
  using persistence::internal::ShardScan;
  TempDir dir;
  const std::vector<Batch> batches = {
      {1, 2, MakeRecords(2, 1)}, {3, 1, MakeRecords(1, 2)}, {4, 3, MakeRecords(3, 3)}};
  std::vector<SegmentLog::Batch> appended;
  size_t records_bytes = 0;
  for (const Batch& batch : batches) {
    appended.push_back(SegmentLog::Batch{0, batch.first_lsn, batch.count, batch.records});
    records_bytes += batch.records.size();
  }
  SegmentLog::Options options;
  options.sync = false;
  options.segment_bytes_max = 4096;
  {
    SegmentLog::Options split = options;
    split.group_bytes_max = 100;
    absl::StatusOr<std::unique_ptr<SegmentLog>> log = SegmentLog::Open(dir.path(), split);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->Append(appended).ok());
    EXPECT_EQ((*log)->LastLsn(0), 6u);
    ASSERT_TRUE((*log)->Close().ok());
  }
  // Every batch is over 100 bytes with its entry: one group each.
  const std::string file = dir.path() + "/segment-00000000000000000001.log";
  EXPECT_EQ(fs::file_size(file), kSegmentHeaderBytes + 3 * kGroupOverheadBytes + records_bytes);
  absl::StatusOr<std::unique_ptr<SegmentLog>> log = SegmentLog::Open(dir.path(), options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->LastLsn(0), 6u);
  std::vector<Batch> read;
  const ShardScan::RecordsFn collect = [&](uint64_t first_lsn, std::span<const uint8_t> records,
                                           uint32_t count) {
    read.push_back(Batch{first_lsn, count, {records.begin(), records.end()}});
    return absl::OkStatus();
  };
  ShardScan scan(0, 1, 0, collect);
  ASSERT_TRUE((*log)->ReadShard(0, 1, &scan).ok());
  EXPECT_EQ(read, batches);
}

}  // namespace
}  // namespace encore
