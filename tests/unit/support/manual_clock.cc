#include "unit/support/manual_clock.h"

namespace slotkeeper::test {

Clock::TimePoint ManualClock::now() const {
  std::lock_guard lock(mu_);
  return TimePoint{} + elapsed_;
}

std::chrono::system_clock::time_point ManualClock::wallNow() const {
  std::lock_guard lock(mu_);
  // A fixed epoch keeps timestamps in test output stable.
  return std::chrono::system_clock::time_point{std::chrono::seconds(1700000000)} +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed_);
}

void ManualClock::sleepFor(Duration d) {
  SleepHook hook;
  {
    std::lock_guard lock(mu_);
    if (d > Duration::zero()) {
      elapsed_ += d;
      slept_ += d;
    }
    ++sleeps_;
    hook = hook_;
  }
  if (hook) hook(d);
}

void ManualClock::advance(Duration d) {
  std::lock_guard lock(mu_);
  elapsed_ += d;
}

void ManualClock::setSleepHook(SleepHook hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

int ManualClock::sleeps() const {
  std::lock_guard lock(mu_);
  return sleeps_;
}

Clock::Duration ManualClock::slept() const {
  std::lock_guard lock(mu_);
  return slept_;
}

Clock::Duration ManualClock::elapsed() const {
  std::lock_guard lock(mu_);
  return elapsed_;
}

}  // namespace slotkeeper::test
