#include "engine/read_once_connector.h"

#include <algorithm>
#include <cctype>

namespace slotkeeper::engine {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

bool isObservationRead(const redis::Command& cmd) {
  if (cmd.empty()) return false;
  const std::string first = upper(cmd[0]);
  if (first == "INFO" || first == "DBSIZE" || first == "PING") return true;
  if (cmd.size() >= 2 && (first == "ACL" || first == "CONFIG")) {
    const std::string sub = upper(cmd[1]);
    return (first == "ACL" && (sub == "GETUSER" || sub == "USERS")) ||
           (first == "CONFIG" && sub == "GET");
  }
  if (first != "CLUSTER" || cmd.size() < 2) return false;
  const std::string sub = upper(cmd[1]);
  return sub == "NODES" || sub == "INFO" || sub == "MYID" || sub == "COUNTKEYSINSLOT";
}

std::string keyOf(const redis::Command& cmd) {
  std::string key;
  for (const auto& word : cmd) key += upper(word) + '\n';
  return key;
}

}  // namespace

class ReadOnceConnector::Client final : public redis::NodeClient {
 public:
  Client(std::string address, Node& node) : address_(std::move(address)), node_(node) {}
  const std::string& address() const override { return address_; }

  Result<std::vector<redis::Reply>> pipeline(const std::vector<redis::Command>& commands) override {
    std::vector<redis::Command> missing;
    for (const auto& cmd : commands) {
      if (!isObservationRead(cmd)) {
        return failedPrecondition(address_ + ": an observation sends no " +
                                  (cmd.empty() ? std::string("empty command") : cmd[0]));
      }
      if (!node_.answers.count(keyOf(cmd))) missing.push_back(cmd);
    }
    if (!missing.empty()) {
      ASSIGN_OR_RETURN(auto replies, node_.client->pipeline(missing));
      for (size_t i = 0; i < missing.size() && i < replies.size(); ++i) {
        node_.answers[keyOf(missing[i])] = std::move(replies[i]);
      }
    }
    std::vector<redis::Reply> out;
    out.reserve(commands.size());
    for (const auto& cmd : commands) out.push_back(node_.answers.at(keyOf(cmd)));
    return out;
  }

  std::string servedCertificateSha256() const override {
    return node_.client->servedCertificateSha256();
  }

 private:
  std::string address_;
  Node& node_;
};

Result<std::unique_ptr<redis::NodeClient>> ReadOnceConnector::connect(const std::string& address) {
  auto [it, inserted] = nodes_.try_emplace(address);
  Node& node = it->second;
  if (inserted) {
    auto client = real_.connect(address);
    if (client.isOk()) {
      node.client = std::move(client).value();
      ++connections_opened_;
    } else {
      node.connect_status = client.status();
    }
  }
  if (!node.connect_status.isOk()) return node.connect_status;
  return std::unique_ptr<redis::NodeClient>(std::make_unique<Client>(address, node));
}

}  // namespace slotkeeper::engine
