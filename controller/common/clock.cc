#include "common/clock.h"

#include <thread>

namespace slotkeeper {

void RealClock::sleepFor(Duration d) { std::this_thread::sleep_for(d); }

Clock::TimePoint FakeClock::now() const {
  std::lock_guard lock(mu_);
  return TimePoint{} + elapsed_;
}

std::chrono::system_clock::time_point FakeClock::wallNow() const {
  std::lock_guard lock(mu_);
  // A fixed, recognisable epoch keeps test output stable.
  return std::chrono::system_clock::time_point{std::chrono::seconds(1700000000)} +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed_);
}

void FakeClock::advance(Duration d) {
  std::lock_guard lock(mu_);
  elapsed_ += d;
}

}  // namespace slotkeeper
