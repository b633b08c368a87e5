// An injectable clock so that waits and timeouts can be unit tested without sleeping.
#pragma once

#include <chrono>
#include <mutex>

namespace slotkeeper {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual void sleepFor(Duration d) = 0;
  // Wall-clock time for timestamps shown to people (status, events, logs).
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  void sleepFor(Duration d) override;
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
};

// For tests: time moves only when sleepFor() or advance() is called.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override;
  void sleepFor(Duration d) override { advance(d); }
  std::chrono::system_clock::time_point wallNow() const override;
  void advance(Duration d);

 private:
  mutable std::mutex mu_;
  Duration elapsed_{};
};

}  // namespace slotkeeper
