// Lease-based leader election (coordination.k8s.io/v1 Lease), compatible with client-go's
// leaderelection: acquire, renew, release on stop, callbacks when leadership starts and ends.
// Optimistic concurrency via resourceVersion: a 409 on create/update means another
// candidate won the race.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "kube/client.h"

namespace slotkeeper::kube {

// Lease.spec, as far as election is concerned.
struct LeaseRecord {
  std::string holder_identity;  // "" = released
  int64_t lease_duration_seconds = 0;
  std::optional<std::chrono::system_clock::time_point> acquire_time;
  std::optional<std::chrono::system_clock::time_point> renew_time;
  int64_t lease_transitions = 0;

  friend bool operator==(const LeaseRecord&, const LeaseRecord&) = default;
};

// Codec for Lease.spec (never throws; missing fields keep defaults).
LeaseRecord leaseRecordFromLease(const nlohmann::json& lease);
nlohmann::json leaseSpecFromRecord(const LeaseRecord& record);

enum class LeaseAction {
  kCreate,    // no Lease object yet
  kRenew,     // we hold it
  kTakeOver,  // released, or its holder stopped renewing for a full lease duration
  kWait,      // someone else holds a live lease
};

// Decides the next step. Expiry is judged on the local monotonic clock from when this
// candidate last saw the record change (`observed_at`), not from renewTime, so clock skew
// between machines cannot make a live lease look expired.
LeaseAction decideLeaseAction(const std::optional<LeaseRecord>& current, std::string_view identity,
                              Clock::TimePoint observed_at, Clock::TimePoint now);

// The record to write for `action` (kCreate/kRenew/kTakeOver): keeps acquireTime on renew,
// bumps leaseTransitions when the holder changes.
LeaseRecord makeNextLeaseRecord(const std::optional<LeaseRecord>& current, LeaseAction action,
                                std::string_view identity, std::chrono::seconds lease_duration,
                                std::chrono::system_clock::time_point wall_now);

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. pod name + random suffix
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};  // stop leading if renewals fail this long
  std::chrono::seconds retry_period{2};
  bool release_on_cancel = true;  // clear holderIdentity on stop so a successor need not wait
};

struct LeaderCallbacks {
  // Runs on its own thread once leadership is acquired; `stop` is requested when it ends.
  std::function<void(std::stop_token stop)> on_started_leading;
  // Called after leadership ends (lost or released), once the started callback returned.
  std::function<void()> on_stopped_leading;
  // Called whenever the observed holder changes (including to ourselves).
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  LeaderElector(KubeClient& client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                Clock& clock);

  // Blocks: tries to acquire every retry_period, then leads while renewals succeed. Returns
  // when `stop` is requested (after releasing, if configured) or when leadership is lost.
  void run(std::stop_token stop);

  // One get + create/update round. Ok(true) when we hold the lease afterwards; Ok(false)
  // when someone else does or we lost a 409 race; errors for anything else.
  Result<bool> tryAcquireOrRenew();
  // Clears holderIdentity if we hold the lease (no-op otherwise).
  Status release();

  bool isLeader() const { return leading_.load(); }
  std::string observedLeader() const;

  // The write fence: true while this candidate leads and its lease, counted from when the
  // last successful acquire or renew was *sent*, outlasts now + `margin` on the local
  // monotonic clock. A standby takes over only a full lease duration after it last saw the
  // record change, which is later than that send, so work that checks this before every
  // write and finishes within `margin` can never overlap a successor's.
  bool holdsLeaseFor(std::chrono::milliseconds margin) const;

 private:
  void noteObserved(const std::optional<LeaseRecord>& record);
  void noteLeaseHeldFrom(Clock::TimePoint sent);
  bool waitFor(std::stop_token stop, std::chrono::milliseconds d);
  void lead(std::stop_token stop);

  KubeClient& client_;
  LeaderElectionConfig config_;
  LeaderCallbacks callbacks_;
  Clock& clock_;
  std::atomic<bool> leading_{false};
  // Monotonic time (ns since the clock's epoch) until which the lease is surely ours.
  std::atomic<int64_t> lease_valid_until_ns_{0};

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::optional<LeaseRecord> observed_record_;
  std::string observed_resource_version_;
  Clock::TimePoint observed_at_{};
};

}  // namespace slotkeeper::kube
