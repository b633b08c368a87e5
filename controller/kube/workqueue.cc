#include "kube/workqueue.h"

#include <algorithm>

namespace slotkeeper::kube {

Clock::Duration ExponentialBackoff::when(const std::string& key) {
  const int failures = failures_[key]++;
  // Doubling stops once past max: avoids overflowing the shift for a key that fails forever.
  Clock::Duration delay = base_;
  for (int i = 0; i < failures && delay < max_; ++i) delay *= 2;
  return std::min(delay, max_);
}

void ExponentialBackoff::forget(const std::string& key) { failures_.erase(key); }

int ExponentialBackoff::failures(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

WorkQueue::WorkQueue(Clock& clock, WorkQueueOptions options)
    : clock_(clock), options_(options), backoff_(options.base_delay, options.max_delay) {}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  addLocked(key);
}

void WorkQueue::addLocked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // already waiting: de-duplicate
  // A key being processed is queued again by done(), so two workers never share it.
  if (processing_.count(key) != 0) return;
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::addFirst(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  dirty_.insert(key);
  delayed_.erase(key);
  if (processing_.count(key) != 0) {
    first_.insert(key);
    return;
  }
  std::erase(queue_, key);
  queue_.push_front(key);
  cv_.notify_one();
}

void WorkQueue::addAfter(const std::string& key, Clock::Duration delay) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  if (delay <= Clock::Duration::zero()) {
    addLocked(key);
    return;
  }
  const Clock::TimePoint ready_at = clock_.now() + delay;
  auto [it, inserted] = delayed_.try_emplace(key, ready_at);
  if (!inserted && ready_at < it->second) it->second = ready_at;
  // Wakes a blocked get() so it re-computes how long to wait.
  cv_.notify_all();
}

void WorkQueue::addRateLimited(const std::string& key) {
  Clock::Duration delay;
  {
    std::lock_guard lock(mu_);
    delay = backoff_.when(key);
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  backoff_.forget(key);
}

int WorkQueue::numRequeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  return backoff_.failures(key);
}

void WorkQueue::promoteDueLocked() {
  if (delayed_.empty()) return;
  const Clock::TimePoint now = clock_.now();
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    addLocked(it->first);
    it = delayed_.erase(it);
  }
}

std::optional<std::string> WorkQueue::popLocked() {
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

std::optional<std::string> WorkQueue::tryGet() {
  std::lock_guard lock(mu_);
  promoteDueLocked();
  return popLocked();
}

std::optional<std::string> WorkQueue::get() { return getFor(std::chrono::milliseconds::max()); }

std::optional<std::string> WorkQueue::getFor(std::chrono::milliseconds timeout) {
  const bool forever = timeout == std::chrono::milliseconds::max();
  const auto deadline = forever ? std::chrono::steady_clock::time_point::max()
                                : std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (true) {
    promoteDueLocked();
    if (!queue_.empty()) return popLocked();
    if (shutting_down_) return std::nullopt;
    const auto real_now = std::chrono::steady_clock::now();
    if (real_now >= deadline) return std::nullopt;
    if (delayed_.empty() && forever) {
      cv_.wait(lock);
      continue;
    }
    // Sleep until the earliest delayed key is due (by our clock), the deadline, or one poll
    // interval, whichever is first; the poll covers clocks that move without notifying.
    auto wait =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.poll_interval);
    if (!forever) wait = std::min(wait, deadline - real_now);
    if (!delayed_.empty()) {
      Clock::TimePoint earliest = Clock::TimePoint::max();
      for (const auto& [key, at] : delayed_) earliest = std::min(earliest, at);
      wait = std::min(wait,
                      std::max<Clock::Duration>(earliest - clock_.now(), Clock::Duration::zero()));
    }
    cv_.wait_for(lock, wait);
  }
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  const bool first = first_.erase(key) != 0;
  if (dirty_.count(key) != 0) {
    if (first) {
      queue_.push_front(key);
    } else {
      queue_.push_back(key);
    }
    cv_.notify_one();
  }
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  delayed_.clear();
  cv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t WorkQueue::delayedLen() const {
  std::lock_guard lock(mu_);
  return delayed_.size();
}

bool WorkQueue::isProcessing(const std::string& key) const {
  std::lock_guard lock(mu_);
  return processing_.count(key) != 0;
}

std::optional<Clock::TimePoint> WorkQueue::nextDelayedAt() const {
  std::lock_guard lock(mu_);
  if (delayed_.empty()) return std::nullopt;
  Clock::TimePoint earliest = Clock::TimePoint::max();
  for (const auto& [key, at] : delayed_) earliest = std::min(earliest, at);
  return earliest;
}

}  // namespace slotkeeper::kube
