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

// Empty when every target of the plan's moves has room: its used memory plus the estimate of
// what it receives (each source's used memory times the share of its slots that move) stays
// under kMaxFillAfterMove of its maxmemory. Targets without maxmemory, and nodes whose memory
// was not read, are not limited. Otherwise a message naming the first short target.
std::string capacityProblem(const topology::Plan& plan, const topology::ObservedCluster& observed,
                            const std::map<std::string, redis::MemoryInfo>& memory);

}  // namespace slotkeeper::reconciler
