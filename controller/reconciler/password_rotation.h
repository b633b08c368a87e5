// Rolling a changed password into running nodes without an outage and without restarts. Redis 7
// lets the default user hold several passwords, so a rotation is three steps over every node:
// add the new password next to the old one; switch replication (masterauth) to it; after the
// grace period (clients switching), reset the user to the new password alone. Each step is
// decided from what every node reports (ACL GETUSER default, CONFIG GET masterauth), so a
// rotation resumes wherever it stood, whoever runs it. Pure.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace slotkeeper::reconciler {

// One node's password state.
struct NodePasswords {
  std::vector<std::string> hashes;  // SHA-256 (hex) of each password the default user accepts
  std::string masterauth;
};

// Lower-case hex SHA-256, as ACL GETUSER lists passwords.
std::string sha256Hex(std::string_view text);

struct PasswordRotation {
  enum class Step { kNone, kAddNew, kSwitchReplication, kWaitGrace, kRemoveOld };
  Step step = Step::kNone;
  std::vector<std::string> addresses;  // the nodes the step changes
  std::string password;                // the new password (never logged or written to status)
  nlohmann::json status;               // status.passwordRotation after this pass
  std::chrono::milliseconds wait{0};   // kWaitGrace: how long until the old password goes
  bool finished = false;               // this pass saw the last step done
  std::string message;                 // for people
};

// `nodes` by address (reachable members only), `password` the Secret's, `previous` the
// status.passwordRotation written before, `grace` how long the old password outlives the moment
// every node accepted the new one.
PasswordRotation planPasswordRotation(const std::map<std::string, NodePasswords>& nodes,
                                      const std::string& password, const nlohmann::json& previous,
                                      std::chrono::seconds grace,
                                      std::chrono::system_clock::time_point now);

}  // namespace slotkeeper::reconciler
