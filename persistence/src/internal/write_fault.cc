// The write fault journals take at open, under a mutex.
#include "internal/write_fault.h"

#include <mutex>
#include <utility>

namespace encore::persistence::internal {
namespace {

std::mutex& FaultMutex() {
  static std::mutex mutex;
  return mutex;
}

WriteFault& Fault() {
  static WriteFault* fault = new WriteFault();  // Never destroyed: no exit-time order.
  return *fault;
}

}  // namespace

void SetWriteFault(WriteFault fault) {
  std::lock_guard<std::mutex> lock(FaultMutex());
  Fault() = std::move(fault);
}

WriteFault CurrentWriteFault() {
  std::lock_guard<std::mutex> lock(FaultMutex());
  return Fault();
}

}  // namespace encore::persistence::internal
