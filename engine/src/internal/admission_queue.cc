#include "internal/admission_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "encore/core.h"
#include "internal/state_hasher.h"

namespace encore::internal {

AdmissionQueue::AdmissionQueue(const ScheduleConfig& config)
    : schedule_(config.schedule),
      sale_opens_at_ms_(config.sale_opens_at_ms),
      sale_closes_at_ms_(config.sale_closes_at_ms),
      active_ttl_ms_(config.active_ttl_ms),
      heartbeat_timeout_ms_(config.heartbeat_timeout_ms),
      policy_(config.policy),
      window_start_ms_(config.sale_opens_at_ms) {}

absl::Status AdmissionQueue::Corrupt(EventType event, uint32_t entry, const char* why) const {
  return absl::DataLossError(absl::StrCat(std::string(EventTypeName(event)), " for schedule ",
                                          schedule_, " entry ", entry, " cannot apply: ", why));
}

uint32_t AdmissionQueue::FindEntry(UserId user) const {
  auto it = entry_of_user_.find(UserKey{user});
  return it == entry_of_user_.end() ? kNoEntry : *it;
}

uint64_t AdmissionQueue::Position(uint32_t entry) const {
  return static_cast<uint64_t>(waiting_flags_.PrefixSum(entry));
}

int64_t AdmissionQueue::EtaMs(uint64_t position) const {
  const uint64_t samples = std::min<uint64_t>(admissions_, kRateSamples);
  if (samples >= 2) {
    const TimestampMs newest = admit_times_ms_[(admissions_ - 1) % kRateSamples];
    const TimestampMs oldest = admit_times_ms_[(admissions_ - samples) % kRateSamples];
    if (newest > oldest) {
      // position admissions at (newest - oldest) / (samples - 1) ms each.
      const __int128 eta = static_cast<__int128>(position) * (newest - oldest) / (samples - 1);
      return eta > INT64_MAX ? INT64_MAX : static_cast<int64_t>(eta);
    }
  }
  if (policy_.admit_per_interval > 0) {
    const uint64_t windows =
        (position + policy_.admit_per_interval - 1) / policy_.admit_per_interval;
    return static_cast<int64_t>(windows) * policy_.interval_ms;
  }
  return -1;
}

TimestampMs AdmissionQueue::WindowStartFor(TimestampMs now) const {
  if (policy_.interval_ms <= 0 || now < window_start_ms_ + policy_.interval_ms) {
    return window_start_ms_;
  }
  return window_start_ms_ + (now - window_start_ms_) / policy_.interval_ms * policy_.interval_ms;
}

uint32_t AdmissionQueue::AdmittedInWindow(TimestampMs now) const {
  return WindowStartFor(now) == window_start_ms_ ? window_admitted_ : 0;
}

uint32_t AdmissionQueue::DueDrop(TimestampMs now) const {
  const uint32_t head = waiting_list_.head;
  if (head == kNoEntry || entries_[head].time_ms + heartbeat_timeout_ms_ > now) return kNoEntry;
  return head;
}

uint32_t AdmissionQueue::DueExpiry(TimestampMs now) const {
  const uint32_t head = active_list_.head;
  if (head == kNoEntry || entries_[head].time_ms > now) return kNoEntry;
  return head;
}

uint32_t AdmissionQueue::NextAdmission(TimestampMs now) const {
  if (waiting_ == 0 || now < sale_opens_at_ms_ || now >= sale_closes_at_ms_) return kNoEntry;
  if (policy_.active_max > 0 && active_ >= policy_.active_max) return kNoEntry;
  if (policy_.admit_per_interval > 0 && AdmittedInWindow(now) >= policy_.admit_per_interval) {
    return kNoEntry;
  }
  return admit_cursor_;
}

TimestampMs AdmissionQueue::NextDeadlineMs(TimestampMs now) const {
  TimestampMs next = kNoDeadline;
  if (waiting_list_.head != kNoEntry) {
    next = std::min(next, entries_[waiting_list_.head].time_ms + heartbeat_timeout_ms_);
  }
  if (active_list_.head != kNoEntry) next = std::min(next, entries_[active_list_.head].time_ms);
  if (waiting_ > 0 && now < sale_closes_at_ms_) {
    if (now < sale_opens_at_ms_) {
      next = std::min(next, sale_opens_at_ms_);
    } else if (policy_.admit_per_interval > 0 &&
               AdmittedInWindow(now) >= policy_.admit_per_interval &&
               (policy_.active_max == 0 || active_ < policy_.active_max)) {
      next = std::min(next, WindowStartFor(now) + policy_.interval_ms);
    }
  }
  return next;
}

void AdmissionQueue::SetNext(uint32_t entry, uint32_t next) {
  uint32_t& word = entries_[entry].next_and_state;
  word = (word & ~kNextMask) | next;
}

void AdmissionQueue::SetState(uint32_t entry, QueueState state) {
  uint32_t& word = entries_[entry].next_and_state;
  word = (word & kNextMask) | (static_cast<uint32_t>(state) << kStateShift);
}

void AdmissionQueue::PushBack(List* list, uint32_t entry) {
  entries_[entry].previous = list->tail;
  SetNext(entry, kNoEntry);
  if (list->tail == kNoEntry) {
    list->head = entry;
  } else {
    SetNext(list->tail, entry);
  }
  list->tail = entry;
}

void AdmissionQueue::Unlink(List* list, uint32_t entry) {
  const uint32_t previous = entries_[entry].previous;
  const uint32_t next = NextOf(entry);
  if (previous == kNoEntry) {
    list->head = next;
  } else {
    SetNext(previous, next);
  }
  if (next == kNoEntry) {
    list->tail = previous;
  } else {
    entries_[next].previous = previous;
  }
  entries_[entry].previous = kNoEntry;
  SetNext(entry, kNoEntry);
}

void AdmissionQueue::SkipToNextWaiting() {
  while (admit_cursor_ < entries_.size() && StateOf(admit_cursor_) != QueueState::kWaiting) {
    ++admit_cursor_;
  }
}

absl::Status AdmissionQueue::ApplyEntered(const QueueEntered& event) {
  if (event.entry != entries_.size() || entries_.size() >= kQueueEntriesMax) {
    return Corrupt(EventType::kQueueEntered, event.entry, "entry numbers not in sequence");
  }
  const uint32_t existing = FindEntry(event.user);
  if (existing != kNoEntry &&
      (StateOf(existing) == QueueState::kWaiting || StateOf(existing) == QueueState::kActive)) {
    return Corrupt(EventType::kQueueEntered, event.entry, "user already in line");
  }
  if (existing != kNoEntry) entry_of_user_.erase(existing);
  entries_.push_back(Entry{event.user, event.at_ms, kNoEntry, kNoEntry});
  SetState(event.entry, QueueState::kWaiting);
  waiting_flags_.PushBack(1);
  entry_of_user_.insert(event.entry);
  PushBack(&waiting_list_, event.entry);
  ++waiting_;
  SkipToNextWaiting();
  return absl::OkStatus();
}

absl::Status AdmissionQueue::ApplyHeartbeat(const QueueHeartbeat& event) {
  if (event.entry >= entries_.size() || StateOf(event.entry) != QueueState::kWaiting) {
    return Corrupt(EventType::kQueueHeartbeat, event.entry, "entry not waiting");
  }
  Unlink(&waiting_list_, event.entry);
  entries_[event.entry].time_ms = event.at_ms;
  PushBack(&waiting_list_, event.entry);
  return absl::OkStatus();
}

absl::Status AdmissionQueue::ApplyAdmitted(const QueueAdmitted& event) {
  if (event.entry != admit_cursor_ || event.entry >= entries_.size() ||
      StateOf(event.entry) != QueueState::kWaiting) {
    return Corrupt(EventType::kQueueAdmitted, event.entry, "not the next waiting entry (FIFO)");
  }
  Unlink(&waiting_list_, event.entry);
  waiting_flags_.Add(event.entry, -1);
  --waiting_;
  SetState(event.entry, QueueState::kActive);
  entries_[event.entry].time_ms = event.at_ms + active_ttl_ms_;
  PushBack(&active_list_, event.entry);
  ++active_;
  const TimestampMs window_start = WindowStartFor(event.at_ms);
  if (window_start != window_start_ms_) {
    window_start_ms_ = window_start;
    window_admitted_ = 0;
  }
  ++window_admitted_;
  admit_times_ms_[admissions_ % kRateSamples] = event.at_ms;
  ++admissions_;
  SkipToNextWaiting();
  return absl::OkStatus();
}

absl::Status AdmissionQueue::ApplyEnded(const QueueEnded& event) {
  if (event.entry >= entries_.size())
    return Corrupt(EventType::kQueueEnded, event.entry, "no such entry");
  const QueueState state = StateOf(event.entry);
  const bool valid_end = event.state == QueueState::kExpired || event.state == QueueState::kLeft ||
                         (event.state == QueueState::kDone && state == QueueState::kActive);
  if (!valid_end || (state != QueueState::kWaiting && state != QueueState::kActive)) {
    return Corrupt(EventType::kQueueEnded, event.entry, "entry not live, or end not allowed");
  }
  if (state == QueueState::kWaiting) {
    Unlink(&waiting_list_, event.entry);
    waiting_flags_.Add(event.entry, -1);
    --waiting_;
  } else {
    Unlink(&active_list_, event.entry);
    --active_;
  }
  SetState(event.entry, event.state);
  entries_[event.entry].time_ms = 0;
  SkipToNextWaiting();
  return absl::OkStatus();
}

absl::Status AdmissionQueue::ApplyPolicyChanged(const AdmissionPolicyChanged& event) {
  // A new interval starts a new window now; the admissions of the current
  // window still count in it, so a policy change never lets an extra burst in.
  if (event.policy.interval_ms != policy_.interval_ms) {
    window_admitted_ = policy_.interval_ms > 0 ? AdmittedInWindow(event.at_ms) : 0;
    window_start_ms_ = std::max(event.at_ms, sale_opens_at_ms_);
  }
  policy_ = event.policy;
  return absl::OkStatus();
}

uint64_t AdmissionQueue::state_bytes() const {
  // flat_hash_set: one 4-byte slot and one control byte per bucket.
  const uint64_t map_bytes = entry_of_user_.bucket_count() * (sizeof(uint32_t) + 1);
  return entries_.capacity() * sizeof(Entry) + waiting_flags_.bytes() + map_bytes;
}

void AdmissionQueue::AddToHash(StateHasher* hasher) const {
  hasher->Add(schedule_);
  for (const Entry& entry : entries_) {
    hasher->Add(entry.user);
    hasher->AddSigned(entry.time_ms);
    hasher->Add(entry.previous);
    hasher->Add(entry.next_and_state);
  }
  hasher->Add(waiting_list_.head);
  hasher->Add(waiting_list_.tail);
  hasher->Add(active_list_.head);
  hasher->Add(active_list_.tail);
  hasher->Add(policy_.active_max);
  hasher->Add(policy_.admit_per_interval);
  hasher->AddSigned(policy_.interval_ms);
  hasher->AddSigned(window_start_ms_);
  hasher->Add(window_admitted_);
  hasher->Add(admissions_);
  for (TimestampMs time : admit_times_ms_) hasher->AddSigned(time);
}

absl::Status AdmissionQueue::CheckInvariants() const {
  uint64_t waiting = 0;
  uint64_t active = 0;
  for (uint32_t entry = 0; entry < entries_.size(); ++entry) {
    const QueueState state = StateOf(entry);
    if (state == QueueState::kWaiting) {
      ++waiting;
      if (entry < admit_cursor_) {
        return absl::InternalError(absl::StrCat("schedule ", schedule_, " entry ", entry,
                                                " waits behind the admission cursor"));
      }
      if (Position(entry) != waiting) {
        return absl::InternalError(absl::StrCat("schedule ", schedule_, " entry ", entry,
                                                " position disagrees with a count"));
      }
    }
    if (state == QueueState::kActive) ++active;
  }
  uint64_t listed_waiting = 0;
  for (uint32_t e = waiting_list_.head; e != kNoEntry; e = NextOf(e)) ++listed_waiting;
  uint64_t listed_active = 0;
  for (uint32_t e = active_list_.head; e != kNoEntry; e = NextOf(e)) ++listed_active;
  if (waiting != waiting_ || active != active_ || listed_waiting != waiting ||
      listed_active != active) {
    return absl::InternalError(absl::StrCat(
        "schedule ", schedule_, " queue counts disagree: waiting ", waiting_, "/", waiting, "/",
        listed_waiting, " active ", active_, "/", active, "/", listed_active));
  }
  // ACTIVE may exceed policy_.active_max after the limit is lowered while the
  // sale runs: admissions then wait until the count falls under it.
  return absl::OkStatus();
}

}  // namespace encore::internal
