// Snapshots of a whole core. Layout (little-endian):
//   u32 magic "ENCS" | u16 version | u16 reserved | i64 now
//   u64 concerts, each: u64 id | title | u64 n | n schedule ids
//   u64 schedules, each (in creation order): config | seats | queue
//   accounts | request results
// Derived state (indexes, timers, payments in flight) is rebuilt on load.
#include "internal/core_state.h"
#include "internal/snapshot_codec.h"

namespace encore::internal {
namespace {

constexpr uint32_t kSnapshotMagic = 0x53434e45;  // "ENCS"
// 3: replies in the request results end with Reply::hold_proof.
// 2: each account's ledger follows the account (ledgers are bounded per
// account). Versions 1 and 2 still load (their replies without a hold proof,
// which reads as 0).
constexpr uint16_t kSnapshotVersion = 3;
constexpr uint16_t kSnapshotVersionNoHoldProof = 2;

}  // namespace

void CoreState::SaveSnapshot(SnapshotBuffer* out) const {
  out->Clear();
  SnapshotWriter writer(out);
  writer.Put(kSnapshotMagic);
  writer.Put(kSnapshotVersion);
  writer.Put<uint16_t>(0);
  writer.Put(now_);
  writer.Put<uint64_t>(concerts_.size());
  for (const auto& [id, concert] : concerts_) {
    writer.Put(id);
    writer.Put(concert.title);
    writer.PutVector(concert.schedules);
  }
  writer.Put<uint64_t>(schedules_.size());
  for (const auto& schedule : schedules_) {
    writer.Put(schedule->seats.config());
    schedule->seats.Save(&writer);
    schedule->queue.Save(&writer);
  }
  accounts_.Save(&writer);
  request_results_.Save(&writer);
}

absl::Status CoreState::LoadSnapshot(std::span<const uint8_t> snapshot) {
  if (!concerts_.empty() || !schedules_.empty() || accounts_.account_count() != 0 ||
      request_results_.size() != 0) {
    return absl::FailedPreconditionError("a snapshot loads only into a new core");
  }
  SnapshotReader reader(snapshot);
  uint32_t magic = 0;
  uint16_t version = 0;
  uint16_t reserved = 0;
  if (!reader.Get(&magic) || magic != kSnapshotMagic) {
    return absl::DataLossError("not an Encore snapshot (bad magic)");
  }
  if (!reader.Get(&version) || version < 1 || version > kSnapshotVersion) {
    return absl::DataLossError("unknown snapshot version " + std::to_string(version));
  }
  uint64_t count = 0;
  if (!reader.Get(&reserved) || !reader.Get(&now_) ||
      !reader.GetCount(&count, sizeof(ConcertId) + sizeof(Title) + sizeof(uint64_t))) {
    return reader.status("header");
  }
  for (uint64_t i = 0; i < count; ++i) {
    ConcertId id = 0;
    Concert concert;
    if (!reader.Get(&id) || !reader.Get(&concert.title) ||
        !reader.GetVector(&concert.schedules, kSeatsPerScheduleMax) ||
        !concerts_.emplace(id, std::move(concert)).second) {
      reader.Fail();
      return reader.status("concerts");
    }
  }
  if (!reader.GetCount(&count, sizeof(ScheduleConfig))) return reader.status("schedules");
  for (uint64_t i = 0; i < count; ++i) {
    ScheduleConfig config;
    if (!reader.Get(&config) || ValidateScheduleConfig(config) != ResultCode::kOk ||
        FindSchedule(config.schedule) != kNoSchedule) {
      reader.Fail();
      return reader.status("schedule config");
    }
    Schedule& schedule = AddSchedule(config);
    if (!schedule.seats.Load(&reader)) return reader.status("seats");
    if (!schedule.queue.Load(&reader)) return reader.status("queue");
  }
  if (!accounts_.Load(&reader, version)) return reader.status("accounts");
  const size_t record_bytes = version <= kSnapshotVersionNoHoldProof
                                  ? sizeof(RequestRecorded) - sizeof(HoldProof)
                                  : sizeof(RequestRecorded);
  if (!request_results_.Load(&reader, record_bytes)) return reader.status("request results");
  if (!reader.done()) return absl::DataLossError("snapshot has trailing bytes");

  // What is derived: hold timers, payments in flight; queues are examined
  // (and their timers armed) before the next command.
  for (uint32_t index = 0; index < schedules_.size(); ++index) {
    const ScheduleSeats& seats = schedules_[index]->seats;
    seats.ForEachLiveHold([&](HoldId hold, TimestampMs deadline_ms) {
      timers_.Push(deadline_ms, index, TimerKind::kHoldDeadline, hold);
    });
    for (PaymentId id = 1; id <= seats.payment_count(); ++id) {
      const PaymentRecord* payment = seats.FindPayment(id);
      if (payment->status == PaymentStatus::kStarted) {
        pays_in_flight_[RequestId{payment->user, payment->request_key}] = id;
      }
    }
  }
  queues_need_processing_ = true;
  // A snapshot that loads but breaks an invariant is as corrupt as one that
  // does not load.
  const absl::Status invariants = CheckInvariants();
  if (!invariants.ok()) {
    return absl::DataLossError("snapshot breaks an invariant: " +
                               std::string(invariants.message()));
  }
  return absl::OkStatus();
}

}  // namespace encore::internal
