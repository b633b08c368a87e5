// A person moves a shard's master by annotating the RedisCluster:
//   redis.slotkeeper.io/promote: <replica pod>   that replica becomes its shard's master;
//   redis.slotkeeper.io/demote: <master pod>     its replica furthest along the stream takes over.
// Both are idempotent (a promoted pod that is master, a demoted pod that is a replica: done), so
// a pass that repeats after a crash changes nothing. The checks of a rolling restart's failover
// apply: a serving master, every replica of the shard linked and synced, every node agreeing,
// and no slot in migration; the failover is a graceful CLUSTER FAILOVER. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "reconciler/rollout.h"
#include "reconciler/snapshot.h"

namespace slotkeeper::reconciler {

inline constexpr std::string_view kAnnotationPromote = "redis.slotkeeper.io/promote";
inline constexpr std::string_view kAnnotationDemote = "redis.slotkeeper.io/demote";

struct ManualFailover {
  std::optional<FailoverRequest> request;  // what to do now
  bool done = false;                       // already as asked: remove the annotation
  std::string refusal;  // why it will not be done (the annotation is removed with a warning)
  std::string waiting;  // why not yet (the annotation stays)
};

// `promote`: the pod should become master; otherwise it should stop being one.
ManualFailover planManualFailover(const Snapshot& snapshot, const std::string& pod_name,
                                  bool promote);

}  // namespace slotkeeper::reconciler
