#include "kube/leader_election.h"

#include <thread>

#include "common/log.h"
#include "kube/timefmt.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

std::string specString(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t specInt(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::optional<system_clock::time_point> specTime(const json& spec, const char* key) {
  const std::string text = specString(spec, key);
  if (text.empty()) return std::nullopt;
  auto parsed = parseTime(text);
  if (!parsed.isOk()) return std::nullopt;
  return *parsed;
}

}  // namespace

LeaseRecord leaseRecordFromLease(const json& lease) {
  LeaseRecord record;
  if (!lease.is_object()) return record;
  auto spec_it = lease.find("spec");
  if (spec_it == lease.end() || !spec_it->is_object()) return record;
  const json& spec = *spec_it;
  record.holder_identity = specString(spec, "holderIdentity");
  record.lease_duration_seconds = specInt(spec, "leaseDurationSeconds");
  record.acquire_time = specTime(spec, "acquireTime");
  record.renew_time = specTime(spec, "renewTime");
  record.lease_transitions = specInt(spec, "leaseTransitions");
  return record;
}

json leaseSpecFromRecord(const LeaseRecord& record) {
  json spec = {{"holderIdentity", record.holder_identity},
               {"leaseDurationSeconds", record.lease_duration_seconds},
               {"leaseTransitions", record.lease_transitions}};
  if (record.acquire_time) spec["acquireTime"] = formatMicroTime(*record.acquire_time);
  if (record.renew_time) spec["renewTime"] = formatMicroTime(*record.renew_time);
  return spec;
}

LeaseAction decideLeaseAction(const std::optional<LeaseRecord>& current, std::string_view identity,
                              Clock::TimePoint observed_at, Clock::TimePoint now) {
  if (!current) return LeaseAction::kCreate;
  if (current->holder_identity == identity) return LeaseAction::kRenew;
  if (current->holder_identity.empty()) return LeaseAction::kTakeOver;  // released
  const auto duration = std::chrono::seconds(current->lease_duration_seconds);
  if (observed_at + duration <= now) return LeaseAction::kTakeOver;
  return LeaseAction::kWait;
}

LeaseRecord makeNextLeaseRecord(const std::optional<LeaseRecord>& current, LeaseAction action,
                                std::string_view identity, std::chrono::seconds lease_duration,
                                system_clock::time_point wall_now) {
  LeaseRecord next;
  next.holder_identity = std::string(identity);
  next.lease_duration_seconds = lease_duration.count();
  next.renew_time = wall_now;
  next.acquire_time = wall_now;
  if (!current) return next;
  next.lease_transitions = current->lease_transitions;
  if (action == LeaseAction::kRenew && current->acquire_time) {
    next.acquire_time = current->acquire_time;
  }
  if (action == LeaseAction::kTakeOver) next.lease_transitions += 1;
  return next;
}

LeaderElector::LeaderElector(KubeClient& client, LeaderElectionConfig config,
                             LeaderCallbacks callbacks, Clock& clock)
    : client_(client),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      clock_(clock) {}

std::string LeaderElector::observedLeader() const {
  std::lock_guard lock(mu_);
  return observed_record_ ? observed_record_->holder_identity : "";
}

void LeaderElector::noteObserved(const std::optional<LeaseRecord>& record) {
  bool holder_changed = false;
  std::string holder;
  {
    std::lock_guard lock(mu_);
    if (record == observed_record_) return;
    const std::string before = observed_record_ ? observed_record_->holder_identity : "";
    holder = record ? record->holder_identity : "";
    holder_changed = before != holder || !observed_record_;
    observed_record_ = record;
    // Expiry counts from when *we* saw the record change (see decideLeaseAction).
    observed_at_ = clock_.now();
  }
  if (holder_changed && !holder.empty() && callbacks_.on_new_leader) {
    callbacks_.on_new_leader(holder);
  }
}

Result<bool> LeaderElector::tryAcquireOrRenew() {
  const ResourceRef ref = kLeases.in(config_.lease_namespace).named(config_.lease_name);
  auto lease = client_.get(ref);
  if (!lease.isOk() && lease.status().code() != StatusCode::kNotFound) return lease.status();

  if (!lease.isOk()) {
    LeaseRecord record = makeNextLeaseRecord(std::nullopt, LeaseAction::kCreate, config_.identity,
                                             config_.lease_duration, clock_.wallNow());
    json object = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec", leaseSpecFromRecord(record)}};
    auto created = client_.create(ref, object);
    if (!created.isOk()) {
      const StatusCode code = created.status().code();
      // Someone else created it first: we lost this round, not an error.
      if (code == StatusCode::kAlreadyExists || code == StatusCode::kConflict) return false;
      return created.status();
    }
    noteObserved(leaseRecordFromLease(*created));
    return true;
  }

  if (!lease->is_object()) return internalError("Lease reply is not a JSON object");
  const LeaseRecord current = leaseRecordFromLease(*lease);
  noteObserved(current);
  Clock::TimePoint observed_at;
  {
    std::lock_guard lock(mu_);
    observed_at = observed_at_;
  }
  const LeaseAction action =
      decideLeaseAction(current, config_.identity, observed_at, clock_.now());
  if (action == LeaseAction::kWait) return false;

  json updated = std::move(*lease);  // keeps metadata.resourceVersion: the update is a CAS
  updated["spec"] = leaseSpecFromRecord(makeNextLeaseRecord(
      current, action, config_.identity, config_.lease_duration, clock_.wallNow()));
  auto written = client_.update(ref, updated);
  if (!written.isOk()) {
    if (written.status().code() == StatusCode::kConflict) return false;  // lost the race
    return written.status();
  }
  noteObserved(leaseRecordFromLease(*written));
  return true;
}

Status LeaderElector::release() {
  const ResourceRef ref = kLeases.in(config_.lease_namespace).named(config_.lease_name);
  ASSIGN_OR_RETURN(json lease, client_.get(ref));
  if (!lease.is_object()) return internalError("Lease reply is not a JSON object");
  LeaseRecord record = leaseRecordFromLease(lease);
  if (record.holder_identity != config_.identity) return Status::ok();
  // An empty holder lets the next candidate take over at once instead of waiting out the
  // lease; a 1s duration keeps older clients that ignore the empty holder waiting briefly.
  record.holder_identity.clear();
  record.lease_duration_seconds = 1;
  record.renew_time = clock_.wallNow();
  lease["spec"] = leaseSpecFromRecord(record);
  auto written = client_.update(ref, lease);
  if (!written.isOk()) return written.status();
  noteObserved(leaseRecordFromLease(*written));
  return Status::ok();
}

void LeaderElector::noteLeaseHeldFrom(Clock::TimePoint sent) {
  const auto until = sent + config_.lease_duration;
  lease_valid_until_ns_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count());
}

bool LeaderElector::holdsLeaseFor(std::chrono::milliseconds margin) const {
  if (!leading_.load()) return false;
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          (clock_.now() + margin).time_since_epoch())
                          .count();
  return now_ns < lease_valid_until_ns_.load();
}

bool LeaderElector::waitFor(std::stop_token stop, std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

void LeaderElector::run(std::stop_token stop) {
  const nlohmann::json fields = {{"lease", config_.lease_namespace + "/" + config_.lease_name},
                                 {"identity", config_.identity}};
  while (!stop.stop_requested()) {
    const Clock::TimePoint sent = clock_.now();
    auto acquired = tryAcquireOrRenew();
    if (acquired.isOk() && *acquired) {
      noteLeaseHeldFrom(sent);
      break;
    }
    if (!acquired.isOk()) {
      log::warn("leader election attempt failed",
                {{"lease", fields["lease"]}, {"error", acquired.status().toString()}});
    }
    if (!waitFor(stop, config_.retry_period)) return;
  }
  if (stop.stop_requested()) return;
  log::info("became leader", fields);
  lead(stop);
}

void LeaderElector::lead(std::stop_token stop) {
  leading_.store(true);
  std::stop_source work_stop;
  std::thread worker;
  if (callbacks_.on_started_leading) {
    worker = std::thread(
        [this, token = work_stop.get_token()] { callbacks_.on_started_leading(token); });
  }
  Clock::TimePoint last_renewal = clock_.now();
  while (waitFor(stop, config_.retry_period)) {
    const Clock::TimePoint sent = clock_.now();
    auto renewed = tryAcquireOrRenew();
    if (renewed.isOk() && *renewed) {
      last_renewal = clock_.now();
      noteLeaseHeldFrom(sent);
      continue;
    }
    if (renewed.isOk()) break;  // someone else holds it now
    // Transient failure: keep trying until the renew deadline, which is shorter than the
    // lease, so we stop working before anyone else may legitimately take over.
    if (clock_.now() - last_renewal >= config_.renew_deadline) break;
  }
  leading_.store(false);
  lease_valid_until_ns_.store(0);
  work_stop.request_stop();
  if (worker.joinable()) worker.join();
  if (stop.stop_requested() && config_.release_on_cancel) {
    Status released = release();
    if (!released.isOk()) {
      log::warn("releasing the lease failed",
                {{"lease", config_.lease_name}, {"error", released.toString()}});
    }
  }
  log::info("stopped leading", {{"lease", config_.lease_name}, {"identity", config_.identity}});
  if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
}

}  // namespace slotkeeper::kube
