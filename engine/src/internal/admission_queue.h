// AdmissionQueue: the waiting room of one schedule.
//
// Entries are numbered in entry order and never move, so strict FIFO
// admission is a cursor over the entries. Two intrusive lists order the live
// entries by when they fall due: WAITING entries by last heartbeat (a poll
// moves an entry to the tail, so the head is the next to be dropped) and
// ACTIVE entries by admission (the TTL is fixed per schedule, so the head is
// the next to expire). Positions come from a Fenwick tree of WAITING flags.
//
// Memory per entry: 24 bytes of entry, 4 of Fenwick tree, and one 5-byte
// slot of the user index (a set of entry numbers at a load of 7/16 .. 7/8):
// about 34 .. 40 bytes. The entries are kept in chunks (chunked_vector.h): a
// queue of millions grows without copying them, so an onsale's rush neither
// stalls the shard on the copy nor holds the old and new arrays at once.
//
// Query functions change nothing; Apply*() functions perform one event and
// refuse, changing nothing, one that cannot follow the current state.
#ifndef ENCORE_INTERNAL_ADMISSION_QUEUE_H_
#define ENCORE_INTERNAL_ADMISSION_QUEUE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "encore/command.h"
#include "encore/event.h"
#include "encore/reply.h"
#include "internal/chunked_vector.h"
#include "internal/fenwick_tree.h"
#include "internal/touch.h"

namespace encore::internal {

class StateHasher;

class AdmissionQueue {
 public:
  static constexpr uint32_t kNoEntry = (1u << 29) - 1;
  static_assert(kQueueEntriesMax < kNoEntry);

  // REQUIRES: config is valid (ValidateScheduleConfig).
  explicit AdmissionQueue(const ScheduleConfig& config);
  // The user index points at entries_: never copied or moved.
  AdmissionQueue(const AdmissionQueue&) = delete;
  AdmissionQueue& operator=(const AdmissionQueue&) = delete;

  // The user's latest entry, or kNoEntry.
  uint32_t FindEntry(UserId user) const;
  uint32_t entry_count() const { return static_cast<uint32_t>(entries_.size()); }
  // A hint: loads `entry`'s line ahead of its use (nothing if out of range).
  void PrefetchEntry(uint32_t entry) const {
    if (entry < entries_.size()) Touch(&entries_[entry]);
  }
  QueueState StateOf(uint32_t entry) const { return UnpackState(entries_[entry].next_and_state); }
  UserId UserOf(uint32_t entry) const { return entries_[entry].user; }
  // 1-based place among WAITING entries. REQUIRES: StateOf(entry) == kWaiting.
  uint64_t Position(uint32_t entry) const;
  // Estimated wait for a place, from the measured admission rate (or the
  // policy's rate before any measurement); -1 when unknown.
  int64_t EtaMs(uint64_t position) const;
  // REQUIRES: StateOf(entry) == kActive.
  TimestampMs ActiveDeadlineMs(uint32_t entry) const { return entries_[entry].time_ms; }
  const AdmissionPolicy& policy() const { return policy_; }

  // What is due at `now`, or kNoEntry: a WAITING entry whose heartbeat ran
  // out, an ACTIVE entry whose TTL ran out, the next entry to admit.
  uint32_t DueDrop(TimestampMs now) const;
  uint32_t DueExpiry(TimestampMs now) const;
  uint32_t NextAdmission(TimestampMs now) const;
  // When the next drop, expiry or admission window is due after `now`.
  TimestampMs NextDeadlineMs(TimestampMs now) const;

  [[nodiscard]] absl::Status ApplyEntered(const QueueEntered& event);
  [[nodiscard]] absl::Status ApplyHeartbeat(const QueueHeartbeat& event);
  [[nodiscard]] absl::Status ApplyAdmitted(const QueueAdmitted& event);
  [[nodiscard]] absl::Status ApplyEnded(const QueueEnded& event);
  [[nodiscard]] absl::Status ApplyPolicyChanged(const AdmissionPolicyChanged& event);

  uint64_t waiting() const { return waiting_; }
  uint64_t active() const { return active_; }
  uint64_t state_bytes() const;

  void Save(class SnapshotWriter* writer) const;
  // REQUIRES: just constructed with the same config. False on bad input.
  bool Load(class SnapshotReader* reader);
  void AddToHash(StateHasher* hasher) const;
  [[nodiscard]] absl::Status CheckInvariants() const;

 private:
  static constexpr uint32_t kStateShift = 29;
  static constexpr uint32_t kNextMask = (1u << kStateShift) - 1;
  static constexpr uint32_t kRateSamples = 64;

  struct Entry {
    UserId user;
    // WAITING: last heartbeat. ACTIVE: when the token expires. Else unused.
    TimestampMs time_ms;
    uint32_t previous;
    uint32_t next_and_state;  // Next entry in its list (29 bits), state (3 bits).
  };
  static_assert(sizeof(Entry) == 24);
  // 4,096 entries (96 KiB) a chunk.
  using Entries = ChunkedVector<Entry, 12>;

  struct List {
    uint32_t head = kNoEntry;
    uint32_t tail = kNoEntry;
  };

  static QueueState UnpackState(uint32_t word) {
    return static_cast<QueueState>(word >> kStateShift);
  }
  uint32_t NextOf(uint32_t entry) const { return entries_[entry].next_and_state & kNextMask; }
  void SetNext(uint32_t entry, uint32_t next);
  void SetState(uint32_t entry, QueueState state);
  void PushBack(List* list, uint32_t entry);
  void Unlink(List* list, uint32_t entry);
  void SkipToNextWaiting();
  // Admissions counted in the window that holds `now`.
  uint32_t AdmittedInWindow(TimestampMs now) const;
  TimestampMs WindowStartFor(TimestampMs now) const;
  [[nodiscard]] absl::Status Corrupt(EventType event, uint32_t entry, const char* why) const;

  ScheduleId schedule_;
  TimestampMs sale_opens_at_ms_;
  TimestampMs sale_closes_at_ms_;
  int64_t active_ttl_ms_;
  int64_t heartbeat_timeout_ms_;
  AdmissionPolicy policy_;

  // Looks an entry number up by its entry's user (heterogeneous lookup).
  struct UserKey {
    UserId user;
  };
  struct EntryHash {
    using is_transparent = void;
    const Entries* entries;
    size_t operator()(uint32_t entry) const { return absl::Hash<UserId>{}((*entries)[entry].user); }
    size_t operator()(UserKey key) const { return absl::Hash<UserId>{}(key.user); }
  };
  struct EntryEq {
    using is_transparent = void;
    const Entries* entries;
    UserId UserOf(uint32_t entry) const { return (*entries)[entry].user; }
    UserId UserOf(UserKey key) const { return key.user; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return UserOf(a) == UserOf(b);
    }
  };

  Entries entries_;
  FenwickTree waiting_flags_;
  // Each user's latest entry: entry numbers, hashed by their entry's user.
  absl::flat_hash_set<uint32_t, EntryHash, EntryEq> entry_of_user_{0, EntryHash{&entries_},
                                                                   EntryEq{&entries_}};
  List waiting_list_;
  List active_list_;
  uint32_t admit_cursor_ = 0;  // No WAITING entry before it.
  uint64_t waiting_ = 0;
  uint64_t active_ = 0;
  TimestampMs window_start_ms_;
  uint32_t window_admitted_ = 0;
  // The last admissions' times, for the measured rate.
  std::array<TimestampMs, kRateSamples> admit_times_ms_{};
  uint64_t admissions_ = 0;
};

}  // namespace encore::internal

#endif  // ENCORE_INTERNAL_ADMISSION_QUEUE_H_
