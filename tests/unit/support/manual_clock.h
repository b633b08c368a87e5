// A Clock for unit tests whose time moves only when sleepFor() or advance() is called, never on
// its own and never by really sleeping. Each sleepFor() advances time and then runs an optional
// hook, so code that polls while it sleeps (waitForAgreement, the executor's retries) sees the
// world change between polls: a test typically passes a hook that runs one gossip round of a
// FakeRedisCluster.
//
// Thread-safety: safe to share between threads. Time and the hook are guarded by a mutex; the
// hook itself runs outside the mutex, so it may call back into the clock.
#pragma once

#include <functional>
#include <mutex>

#include "common/clock.h"

namespace slotkeeper::test {

class ManualClock final : public Clock {
 public:
  using SleepHook = std::function<void(Duration)>;

  ManualClock() = default;
  explicit ManualClock(SleepHook hook) : hook_(std::move(hook)) {}

  TimePoint now() const override;
  std::chrono::system_clock::time_point wallNow() const override;
  // Advances time by `d`, then runs the hook (if any).
  void sleepFor(Duration d) override;

  // Advances time without running the hook.
  void advance(Duration d);
  void setSleepHook(SleepHook hook);

  // How many times sleepFor() was called, and the total time it "slept".
  int sleeps() const;
  Duration slept() const;
  Duration elapsed() const;

 private:
  mutable std::mutex mu_;
  Duration elapsed_{};
  Duration slept_{};
  int sleeps_ = 0;
  SleepHook hook_;
};

}  // namespace slotkeeper::test
