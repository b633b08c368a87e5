// ACL users on every node: the spec.users entries and the operator's own user. A node that lacks
// a user (new or restarted) or holds rules this process has not given it gets the user whole; a
// changed password is rolled in like the default user's: added next to the old one on every
// node, then, once the grace period has passed since every node accepted it, left alone.
// Users this process created that the spec no longer lists are deleted. Pure.
#pragma once

#include <string>
#include <vector>

#include "reconciler/decide.h"
#include "reconciler/snapshot.h"

namespace slotkeeper::reconciler {

// spec.users rules as ACL SETUSER arguments: split on spaces, except inside a selector's
// parentheses ("(~log:* +get)" stays one argument).
std::vector<std::string> splitAclRules(const std::string& rules);

// Adds the user updates, rotation marks, Events and the requeue a rotation's grace needs.
void decideUsers(const Snapshot& s, Decision& d);

}  // namespace slotkeeper::reconciler
