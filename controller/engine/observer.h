// Reads the live state of a set of Redis nodes into the planner's ObservedCluster, following
// every member the nodes know about so that nodes outside the desired set are found too.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/node_client.h"
#include "topology/model.h"

namespace slotkeeper::engine {

// Observes `addresses` and, transitively, every cluster member their CLUSTER NODES lists.
// Unreachable nodes are reported as such (never an error): the planner decides what that means.
// A node that came back on a new address also appears at its old one (unreachable, same id);
// the planner uses that to re-MEET it.
// Reachable masters with keys are asked how many they hold in each slot no node claims (only when
// there is such a slot); a failed count is an error, since assigning those slots blind could
// strand the keys.
// `failure_domains` maps an address to its failure domain (may be empty). `aliases` maps another
// address peers may list a node at to the one it is reached at (a node serving two ports, whose
// peers have not all heard which one it announces now).
Result<topology::ObservedCluster> observeCluster(
    redis::NodeConnector& connector, const std::vector<std::string>& addresses,
    const std::map<std::string, std::string>& failure_domains = {},
    const std::map<std::string, std::string>& aliases = {});

// The owner id of every slot according to one node's CLUSTER NODES ("" = unassigned).
std::vector<std::string> slotOwnersFrom(const std::vector<redis::ClusterNodeEntry>& entries);

// The smallest cluster-node-timeout among the `addresses` that answer; 0 when none does.
std::chrono::milliseconds readSmallestNodeTimeout(redis::NodeConnector& connector,
                                                  const std::vector<std::string>& addresses);

}  // namespace slotkeeper::engine
