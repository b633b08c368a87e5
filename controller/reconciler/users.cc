#include "reconciler/users.h"

#include <algorithm>
#include <cctype>

namespace slotkeeper::reconciler {
namespace {

bool nodeReachable(const Snapshot& s, const std::string& address) {
  return std::any_of(
      s.live->cluster.nodes.begin(), s.live->cluster.nodes.end(),
      [&](const topology::ObservedNode& n) { return n.address == address && n.reachable; });
}

// The password hashes a node's user accepts, empty when not read.
const std::vector<std::string>& passwordsOf(const Snapshot& s, const std::string& address,
                                            const std::string& user) {
  static const std::vector<std::string> kNone;
  auto node = s.live->user_passwords.find(address);
  if (node == s.live->user_passwords.end()) return kNone;
  auto found = node->second.find(user);
  return found == node->second.end() ? kNone : found->second;
}

void requeueWithin(Decision& d, std::chrono::milliseconds wait) {
  wait = std::max(wait, std::chrono::milliseconds(1));
  if (d.requeue.count() == 0 || d.requeue > wait) d.requeue = wait;
}

constexpr std::chrono::milliseconds kRecheckAfterChange{5000};

struct UserNodes {
  bool everywhere = true;          // every reachable node accepts the current password
  std::vector<std::string> stale;  // nodes that also accept an older one
};

// Per node: the whole user where it is missing or its rules are not ours, the new password
// added where it is not accepted yet (the old one stays valid), nothing where it is current.
UserNodes decideUserOnNodes(const Snapshot& s, const UserRead& user, Decision& d) {
  UserNodes out;
  const std::string add = ">" + user.password;
  for (const auto& [address, present] : s.live->acl_users) {
    if (!nodeReachable(s, address)) continue;
    auto applied = s.users_applied.find(address + "/" + user.name);
    if (!present.count(user.name) || applied == s.users_applied.end() ||
        applied->second != user.rules_hash) {
      std::vector<std::string> rules = {"reset", "on", add};
      for (auto& rule : splitAclRules(user.rules)) rules.push_back(std::move(rule));
      d.user_updates.push_back({address, user.name, std::move(rules), user.rules_hash, false});
      out.everywhere = false;
      continue;
    }
    const auto& hashes = passwordsOf(s, address, user.name);
    if (std::find(hashes.begin(), hashes.end(), user.password_sha256) == hashes.end()) {
      d.user_updates.push_back({address, user.name, {"on", add}, "", false});
      out.everywhere = false;
    } else if (hashes.size() > 1) {
      out.stale.push_back(address);
    }
  }
  return out;
}

// The old password goes once every node has accepted the new one for the grace period.
void decideUserRotation(const Snapshot& s, const UserRead& user, const UserNodes& nodes,
                        Decision& d) {
  auto since = s.user_rotations.find(user.name);
  if (nodes.stale.empty()) {
    if (since != s.user_rotations.end()) d.user_rotation_marks[user.name] = std::nullopt;
    return;
  }
  if (!nodes.everywhere) return;  // the new password first reaches every node
  if (since == s.user_rotations.end()) {
    d.user_rotation_marks[user.name] = s.now;
    d.events.push_back({kube::EventType::kNormal, "RotatingUserPassword",
                        "user " + user.name +
                            ": every node accepts the new password; the previous one keeps "
                            "working for " +
                            std::to_string(user.grace.count()) + " s"});
    requeueWithin(d, user.grace);
    return;
  }
  const auto remaining = since->second + user.grace - s.now;
  if (remaining > std::chrono::system_clock::duration::zero()) {
    requeueWithin(d, std::chrono::duration_cast<std::chrono::milliseconds>(remaining));
    return;
  }
  for (const auto& address : nodes.stale) {
    d.user_updates.push_back({address, user.name, {"resetpass", ">" + user.password}, "", false});
  }
  d.user_rotation_marks[user.name] = std::nullopt;
  d.events.push_back({kube::EventType::kNormal, "UserPasswordRotated",
                      "user " + user.name + ": the previous password no longer works"});
}

}  // namespace

std::vector<std::string> splitAclRules(const std::string& rules) {
  std::vector<std::string> out;
  std::string word;
  int depth = 0;
  for (char c : rules) {
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    if (std::isspace(static_cast<unsigned char>(c)) && depth == 0) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
      continue;
    }
    word += c;
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

void decideUsers(const Snapshot& s, Decision& d) {
  if (!s.live.has_value()) return;
  for (const auto& user : s.users) {
    if (user.password.empty()) continue;  // its Secret is unreadable: left as it is
    const size_t before = d.user_updates.size();
    const UserNodes nodes = decideUserOnNodes(s, user, d);
    // Changed nodes are read again soon: a rotation's next step waits on what they report.
    if (d.user_updates.size() > before) requeueWithin(d, kRecheckAfterChange);
    decideUserRotation(s, user, nodes, d);
  }
  for (const auto& [address, present] : s.live->acl_users) {
    if (!nodeReachable(s, address)) continue;
    for (const auto& name : present) {
      const bool listed = std::any_of(s.users.begin(), s.users.end(),
                                      [&](const UserRead& u) { return u.name == name; });
      const bool ours = s.users_applied.count(address + "/" + name) > 0;
      if (!listed && ours) d.user_updates.push_back({address, name, {}, "", true});
    }
  }
}

}  // namespace slotkeeper::reconciler
