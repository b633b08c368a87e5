#include "reconciler/capacity.h"

#include <algorithm>
#include <cstdio>

namespace slotkeeper::reconciler {
namespace {

std::string mib(double bytes) {
  char out[32];
  std::snprintf(out, sizeof(out), "%.1f MiB", bytes / (1024.0 * 1024.0));
  return out;
}

struct Incoming {
  double bytes = 0;        // estimated size of the keys it receives
  double batch_bytes = 0;  // the largest MIGRATE batch it may be sent
};

}  // namespace

std::string capacityProblem(const topology::Plan& plan, const topology::ObservedCluster& observed,
                            const std::map<std::string, redis::MemoryInfo>& memory,
                            int batch_keys) {
  std::map<std::string, const topology::ObservedNode*> nodes;
  for (const auto& n : observed.nodes) nodes[n.address] = &n;
  std::map<std::string, Incoming> incoming;
  for (const auto& step : plan.steps) {
    const auto* move = std::get_if<topology::MoveSlotsStep>(&step);
    if (move == nullptr) continue;
    auto source = memory.find(move->source_address);
    auto node = nodes.find(move->source_address);
    if (source == memory.end() || node == nodes.end()) continue;
    const int held = node->second->slots.count();
    if (held == 0) continue;
    const double used = static_cast<double>(source->second.used_memory);
    Incoming& in = incoming[move->target_address];
    in.bytes += used * move->slots.count() / held;
    const double mean_key = node->second->keys > 0 ? used / node->second->keys : 0;
    in.batch_bytes = std::max(in.batch_bytes, mean_key * std::max(batch_keys, 1));
  }
  for (const auto& [target, in] : incoming) {
    auto it = memory.find(target);
    if (it == memory.end() || it->second.maxmemory <= 0) continue;
    const double max = static_cast<double>(it->second.maxmemory);
    const double used = static_cast<double>(it->second.used_memory);
    const double headroom =
        std::max(max * (1 - kMaxFillAfterMove), in.batch_bytes * kBatchBuffersHeadroom);
    if (used + in.bytes + headroom <= max) continue;
    return "not enough memory: " + target + " would receive about " + mib(in.bytes) +
           " on top of " + mib(used) + " used, and needs " + mib(headroom) +
           " free while keys arrive (the larger of " +
           std::to_string(static_cast<int>((1 - kMaxFillAfterMove) * 100 + 0.5)) +
           "% of maxmemory and " + std::to_string(static_cast<int>(kBatchBuffersHeadroom)) +
           " MIGRATE batches), more than its maxmemory " + mib(max) +
           "; nothing was moved (raise maxmemory, keep more masters, or lower "
           "spec.migration.batchKeys)";
  }
  return "";
}

}  // namespace slotkeeper::reconciler
