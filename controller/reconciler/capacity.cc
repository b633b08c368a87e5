#include "reconciler/capacity.h"

#include <cstdio>

namespace slotkeeper::reconciler {
namespace {

std::string mib(double bytes) {
  char out[32];
  std::snprintf(out, sizeof(out), "%.1f MiB", bytes / (1024.0 * 1024.0));
  return out;
}

}  // namespace

std::string capacityProblem(const topology::Plan& plan, const topology::ObservedCluster& observed,
                            const std::map<std::string, redis::MemoryInfo>& memory) {
  std::map<std::string, int> slots_held;
  for (const auto& n : observed.nodes) slots_held[n.address] = n.slots.count();
  std::map<std::string, double> incoming;
  for (const auto& step : plan.steps) {
    const auto* move = std::get_if<topology::MoveSlotsStep>(&step);
    if (move == nullptr) continue;
    auto source = memory.find(move->source_address);
    const int held = slots_held[move->source_address];
    if (source == memory.end() || held == 0) continue;
    incoming[move->target_address] +=
        static_cast<double>(source->second.used_memory) * move->slots.count() / held;
  }
  for (const auto& [target, bytes] : incoming) {
    auto it = memory.find(target);
    if (it == memory.end() || it->second.maxmemory <= 0) continue;
    const double limit = static_cast<double>(it->second.maxmemory) * kMaxFillAfterMove;
    const double after = static_cast<double>(it->second.used_memory) + bytes;
    if (after <= limit) continue;
    return "not enough memory: " + target + " would receive about " + mib(bytes) + " on top of " +
           mib(static_cast<double>(it->second.used_memory)) + " used, over " +
           std::to_string(static_cast<int>(kMaxFillAfterMove * 100)) + "% of its maxmemory " +
           mib(static_cast<double>(it->second.maxmemory)) +
           "; nothing was moved (raise maxmemory, or keep more masters)";
  }
  return "";
}

}  // namespace slotkeeper::reconciler
