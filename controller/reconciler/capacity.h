// Whether the masters receiving slots have the memory for the keys that come with them. A move
// into a full master fails half way (OOM) or, with an allkeys-* eviction policy, makes it evict
// keys; so a plan whose targets lack room is refused before it starts. Pure.
#pragma once

#include <map>
#include <string>

#include "redis/cluster_nodes.h"
#include "topology/model.h"
#include "topology/plan.h"

namespace slotkeeper::reconciler {

// The share of maxmemory a target may fill, counting what it holds and what a plan brings.
inline constexpr double kMaxFillAfterMove = 0.9;
// Keys cost a target more while they arrive than once they are stored: a MIGRATE batch sits in
// its query buffer and (with appendonly) its AOF buffer before the keys exist. Measured here with
// 1 KB values and 1,000-key batches, a target grew by 1.5 times what left the source, so it keeps
// room for three batches.
inline constexpr double kBatchBuffersHeadroom = 3;

// Empty when every target of the plan's moves has room: its used memory, plus the estimate of
// what it receives (each source's used memory times the share of its slots that move), plus a
// headroom (the larger of 1 - kMaxFillAfterMove of its maxmemory and kBatchBuffersHeadroom
// batches of `batch_keys` keys of the source's mean size) fits in its maxmemory. Targets without
// maxmemory, and nodes whose memory was not read, are not limited. Otherwise a message naming
// the first short target.
std::string capacityProblem(const topology::Plan& plan, const topology::ObservedCluster& observed,
                            const std::map<std::string, redis::MemoryInfo>& memory, int batch_keys);

}  // namespace slotkeeper::reconciler
