#include "reconciler/password_rotation.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include "api/conditions.h"
#include "kube/timefmt.h"

namespace slotkeeper::reconciler {
namespace {

using nlohmann::json;
using Step = PasswordRotation::Step;

std::vector<std::string> nodesWhere(const std::map<std::string, NodePasswords>& nodes,
                                    const auto& predicate) {
  std::vector<std::string> out;
  for (const auto& [address, node] : nodes) {
    if (predicate(node)) out.push_back(address);
  }
  return out;
}

std::string count(const std::vector<std::string>& addresses) {
  return std::to_string(addresses.size()) + " node(s)";
}

}  // namespace

std::string sha256Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof(byte), "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

PasswordRotation planPasswordRotation(const std::map<std::string, NodePasswords>& nodes,
                                      const std::string& password, const json& previous,
                                      std::chrono::seconds grace,
                                      std::chrono::system_clock::time_point now) {
  PasswordRotation r;
  r.password = password;
  r.status = previous;
  if (nodes.empty() || password.empty()) return r;
  const std::string hash = sha256Hex(password);
  auto accepts_new = [&](const NodePasswords& n) {
    return std::count(n.hashes.begin(), n.hashes.end(), hash) > 0;
  };
  const bool rotating = previous.is_object() && previous.contains("state");
  r.addresses = nodesWhere(nodes, [&](const NodePasswords& n) { return !accepts_new(n); });
  if (!r.addresses.empty()) {
    r.step = Step::kAddNew;
    r.message = "adding the new password on " + count(r.addresses);
    r.status = {{"state", "AddingNewPassword"}};
    return r;
  }
  r.addresses = nodesWhere(nodes, [&](const NodePasswords& n) { return n.masterauth != password; });
  if (!r.addresses.empty()) {
    r.step = Step::kSwitchReplication;
    r.message = "switching replication (masterauth) to the new password on " + count(r.addresses);
    r.status = {{"state", "SwitchingReplication"}};
    return r;
  }
  r.addresses = nodesWhere(nodes, [&](const NodePasswords& n) { return n.hashes.size() != 1; });
  if (r.addresses.empty()) {
    if (rotating) {
      r.finished = true;
      r.status = {{"oldPasswordRemovedAt", api::formatConditionTime(now)}};
    }
    return r;
  }
  // Every node accepts the new password; the old one stays for the grace period.
  auto accepted = kube::parseTime(rotating ? previous.value("newPasswordAcceptedAt", std::string())
                                           : std::string());
  const auto accepted_at = accepted.isOk() ? *accepted : now;
  const auto removes_at = accepted_at + grace;
  r.status = {{"state", "GracePeriod"},
              {"newPasswordAcceptedAt", api::formatConditionTime(accepted_at)},
              {"oldPasswordRemovesAt", api::formatConditionTime(removes_at)}};
  if (now < removes_at) {
    r.step = Step::kWaitGrace;
    r.wait = std::chrono::duration_cast<std::chrono::milliseconds>(removes_at - now);
    r.message = "every node accepts the new password; the old one is removed at " +
                api::formatConditionTime(removes_at);
    return r;
  }
  r.step = Step::kRemoveOld;
  r.status["state"] = "RemovingOldPassword";
  r.message = "removing the old password from " + count(r.addresses);
  return r;
}

}  // namespace slotkeeper::reconciler
