// Phase 0 of every plan: while any slot is MIGRATING or IMPORTING nothing else may happen, so the
// plan only settles each open slot (finish the move, or roll it back) and waits for agreement.
#pragma once

#include "common/status.h"
#include "topology/cluster_view.h"
#include "topology/master_choice.h"
#include "topology/plan.h"

namespace slotkeeper::topology {

bool hasOpenSlots(const ClusterView& view);

// One SettleSlotStep per open slot (ascending), then a WaitForAgreementStep. The move is finished
// when its destination is reachable and stays a master; otherwise it is rolled back to the node
// that owns the slot now. FailedPrecondition when that owner is unreachable (its keys could not
// be moved, so settling would strand them) or when no reachable node can take the slot.
Result<Plan> planOpenSlots(const ClusterView& view, const MasterChoice& choice);

}  // namespace slotkeeper::topology
