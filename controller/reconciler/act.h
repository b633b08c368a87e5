// The act layer of a reconcile pass: carries out a Decision. Applies and deletes objects,
// executes one bounded slice of the topology plan behind the Lease fence, writes status when a
// user would see a difference, and records Events. It decides nothing beyond what failed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/clock.h"
#include "engine/executor.h"
#include "kube/controller.h"
#include "reconciler/decide.h"
#include "reconciler/ports.h"
#include "reconciler/snapshot.h"

namespace slotkeeper::reconciler {

struct ActOptions {
  // A slice of topology work stops at the first safe point (between steps and slot waves)
  // after this long, so a migrating cluster gives its worker back within a few seconds.
  std::chrono::milliseconds slice_budget{5000};
  // Every Redis write needs the Lease for at least this much longer (one write batch must fit).
  std::chrono::milliseconds write_margin{3000};
  // Slots opened per wave: one pipelined round of key fetches, so a slice can end soon after
  // its budget. The few extra SETSLOT round trips per wave cost little beside the keys.
  int slots_per_wave = 128;
  // How long the executor waits for gossip between steps before the slice fails.
  std::chrono::milliseconds agreement_timeout{30000};
  // How long a replica may take to become master after a graceful CLUSTER FAILOVER.
  std::chrono::milliseconds failover_timeout{15000};
  std::chrono::milliseconds failover_poll{100};
};

// What one slice did.
struct SliceReport {
  int64_t slots_moved = 0;
  int64_t keys_moved = 0;
  int64_t key_conflicts = 0;  // keys on both sides of a move after a failover, resolved
};

// Applies every object of the decision, recording each applied hash in `memory`.
Status applyObjects(KubePort& kube, const Decision& decision, SnapshotMemory* memory);
// Deletes the decision's objects in order, recording StatefulSet deletions in `memory`.
Status deleteObjects(KubePort& kube, const Decision& decision, SnapshotMemory* memory);

// CONFIG SET of the decision's live settings, node by node behind the Lease fence; each node
// that took them is remembered in `memory`. A node that refuses is logged and retried next pass.
Status applyLiveConfig(RedisPort& redis, const kube::ReconcileContext& context,
                       const ActOptions& options, const Snapshot& snapshot,
                       const Decision& decision, const SnapshotOptions& snapshot_options,
                       SnapshotMemory* memory);

// Tells each node of the decision's certificate reloads to read its TLS files again (one CONFIG
// SET of the file settings), behind the Lease fence. A node that refuses is logged and retried.
Status reloadCertificates(RedisPort& redis, const kube::ReconcileContext& context,
                          const ActOptions& options, const Snapshot& snapshot,
                          const Decision& decision, const SnapshotOptions& snapshot_options);

// Switches the decision's dual pods to its cluster bus protocol (CONFIG SET tls-replication and
// tls-cluster), behind the Lease fence. A node that refuses is logged; the next pass reads every
// dual pod's bus again.
Status switchTlsBus(RedisPort& redis, const kube::ReconcileContext& context,
                    const ActOptions& options, const Snapshot& snapshot, const Decision& decision,
                    const SnapshotOptions& snapshot_options);

// The decision's ACL user changes, node by node behind the Lease fence. What each node took is
// remembered in `memory`; rules Redis refuses are remembered by user (for status) and the pass
// goes on: one user's typo must not hold the others back.
Status applyUserUpdates(RedisPort& redis, const kube::ReconcileContext& context,
                        const ActOptions& options, const Snapshot& snapshot,
                        const Decision& decision, const SnapshotOptions& snapshot_options,
                        SnapshotMemory* memory);

// The decision's password rotation step (add the new password, switch masterauth, or remove the
// old one) on every node it names.
Status applyPasswordRotation(RedisPort& redis, const kube::ReconcileContext& context,
                             const ActOptions& options, const Snapshot& snapshot,
                             const Decision& decision, const SnapshotOptions& snapshot_options);

// The decision's graceful failovers: CLUSTER FAILOVER (never FORCE or TAKEOVER) on each chosen
// replica, then waits until it calls itself master. DeadlineExceeded when it does not in time
// (the master keeps its role and nothing is restarted).
Status runFailovers(RedisPort& redis, Clock& clock, const kube::ReconcileContext& context,
                    const ActOptions& options, const Snapshot& snapshot, const Decision& decision,
                    const SnapshotOptions& snapshot_options);

// Deletes the pods of the decision's restarts (only the incarnation decided on: a pod already
// replaced counts as done), remembering them in `memory` until the cache shows them gone.
Status restartPods(KubePort& kube, const Snapshot& snapshot, const Decision& decision,
                   SnapshotMemory* memory);

// Runs the decision's plan for at most one slice. Errors: Unavailable when the Lease is not held
// with time to spare (nothing was written, or the slice stopped before its next write), Aborted
// on shutdown, anything else is the engine's failure.
Result<SliceReport> runTopologySlice(RedisPort& redis, Clock& clock,
                                     const kube::ReconcileContext& context,
                                     const ActOptions& options, const Snapshot& snapshot,
                                     const TopologyWork& work,
                                     const SnapshotOptions& snapshot_options,
                                     std::function<void(int64_t, int64_t)> on_progress = {});

// Writes `after` when statusChangedForUsers(before, after), and remembers the write in `memory`
// so the next snapshot does not take a cache that lags behind it for the truth.
Status writeStatusIfChanged(KubePort& kube, const api::RedisCluster& cluster,
                            const api::RedisClusterStatus& before,
                            const api::RedisClusterStatus& after, SnapshotMemory* memory);

}  // namespace slotkeeper::reconciler
