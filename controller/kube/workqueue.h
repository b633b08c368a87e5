// A controller work queue of string keys: de-duplicates keys waiting to be processed, never
// hands the same key to two workers at once, supports delayed and per-key exponential
// rate-limited requeues, and shuts down cleanly. Time comes from an injectable Clock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/clock.h"

namespace slotkeeper::kube {

// Per-key exponential backoff: the n-th consecutive failure waits base * 2^(n-1), capped.
class ExponentialBackoff {
 public:
  ExponentialBackoff(Clock::Duration base, Clock::Duration max) : base_(base), max_(max) {}
  // The delay for the next retry of `key`, counting this failure.
  Clock::Duration when(const std::string& key);
  void forget(const std::string& key);
  int failures(const std::string& key) const;

 private:
  Clock::Duration base_;
  Clock::Duration max_;
  std::map<std::string, int> failures_;
};

struct WorkQueueOptions {
  Clock::Duration base_delay = std::chrono::milliseconds(5);
  Clock::Duration max_delay = std::chrono::seconds(300);
  // How often a blocked get() re-checks the clock for due delayed keys. Matters for a
  // FakeClock (whose advance() does not notify); with a RealClock get() waits exactly.
  std::chrono::milliseconds poll_interval{50};
};

class WorkQueue {
 public:
  explicit WorkQueue(Clock& clock, WorkQueueOptions options = {});

  // Queues `key` unless it is already waiting. If it is being processed, it is queued again
  // when done() is called for it. Ignored after shutDown().
  void add(const std::string& key);
  // Like add(), but ahead of every waiting key (moving it to the front if it waits already): a
  // change someone waits on is served before work that merely continues. A key being processed
  // goes to the front when done() is called for it.
  void addFirst(const std::string& key);
  // Queues `key` once `delay` has passed (an earlier pending deadline for the key wins).
  void addAfter(const std::string& key, Clock::Duration delay);
  // Queues `key` after its per-key backoff; each call without forget() doubles the delay.
  void addRateLimited(const std::string& key);
  // Resets the per-key backoff (call after a successful reconcile).
  void forget(const std::string& key);
  int numRequeues(const std::string& key) const;

  // Blocks until a key is ready or the queue is shut down and drained (then nullopt).
  // The caller must call done(key) when finished with it.
  std::optional<std::string> get();
  // Like get() but gives up after `timeout` (real time).
  std::optional<std::string> getFor(std::chrono::milliseconds timeout);
  // Non-blocking: moves due delayed keys in, then returns the next ready key if any.
  std::optional<std::string> tryGet();
  void done(const std::string& key);

  // Stops accepting keys; get() drains what is ready, then returns nullopt. Delayed keys
  // are dropped.
  void shutDown();
  bool shuttingDown() const;

  // Ready keys (not counting delayed or in-flight ones).
  size_t len() const;
  size_t delayedLen() const;
  bool isProcessing(const std::string& key) const;
  // When the earliest delayed key becomes due, if any.
  std::optional<Clock::TimePoint> nextDelayedAt() const;

 private:
  void addLocked(const std::string& key);
  void promoteDueLocked();
  std::optional<std::string> popLocked();

  Clock& clock_;
  WorkQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;                      // queued or to be re-queued after processing
  std::set<std::string> processing_;                 // handed out, done() not yet called
  std::set<std::string> first_;                      // processing, to be queued at the front
  std::map<std::string, Clock::TimePoint> delayed_;  // key -> when it becomes ready
  ExponentialBackoff backoff_;
  bool shutting_down_ = false;
};

}  // namespace slotkeeper::kube
