// Slot-distribution math for the planner: the even target of each master, and the fewest, most
// contiguous slot transfers that take the current holders to those targets.
#pragma once

#include <vector>

#include "common/status.h"
#include "topology/slots.h"

namespace slotkeeper::topology {

// Target slot counts for masters that currently hold `counts` slots: the even split of kSlotCount,
// with the remainder slots going to the masters that already hold more (so the fewest slots
// move): first to those holding exactly the larger share (they need no move at all), then to the
// biggest holders; ties go to the lower index. Empty when `counts` is empty.
std::vector<int> evenTargets(const std::vector<int>& counts);

// One slot holder in a redistribution: a master that stays (target = its share) or a node that
// is drained (target 0).
struct SlotAccount {
  SlotSet slots;
  int target = 0;
};

// `SlotTransfer::from` for slots that no node owns yet (they are assigned, not migrated).
inline constexpr int kUncovered = -1;

struct SlotTransfer {
  int from = kUncovered;  // index into the accounts, or kUncovered
  int to = 0;             // index into the accounts
  SlotSet slots;
};

// Plans the transfers that bring every account to its target: first the uncovered slots, to the
// accounts short of their target (fewest slots first), then moves from the accounts above their
// target to the ones below. Exactly the surplus moves (no slot moves twice, no receiver gives),
// a giver gives from the ends of its ranges, and chunks that extend a receiver's existing range
// are preferred so each receiver ends with as few ranges as possible.
// Returns one transfer per (from, to) pair, ordered by (from, to), uncovered first.
// The accounts must hold disjoint slots, disjoint from `uncovered`, and their targets must add up
// to kSlotCount; anything else is an InternalError (a bug in the caller).
Result<std::vector<SlotTransfer>> planSlotTransfers(const std::vector<SlotAccount>& accounts,
                                                    const SlotSet& uncovered);

}  // namespace slotkeeper::topology
