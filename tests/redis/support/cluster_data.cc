#include "redis/support/cluster_data.h"

#include "engine/observer.h"
#include "redis/key_slot.h"

namespace slotkeeper::test {
namespace {

constexpr size_t kPipelineChunk = 1000;

// key -> owner address, using the slot map of one node.
Result<std::map<std::string, std::vector<std::string>>> keysByOwner(redis::NodeConnector& connector,
                                                                    const std::string& seed,
                                                                    const Dataset& data) {
  ASSIGN_OR_RETURN(auto client, connector.connect(seed));
  ASSIGN_OR_RETURN(auto entries, client->clusterNodes());
  std::map<std::string, std::string> address_of;
  for (const auto& e : entries) address_of[e.id] = e.address();
  auto owners = engine::slotOwnersFrom(entries);
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& key : data.keys) {
    const std::string& owner = owners[static_cast<size_t>(redis::keyHashSlot(key))];
    if (owner.empty()) return failedPrecondition("slot of key " + key + " has no owner");
    out[address_of[owner]].push_back(key);
  }
  return out;
}

Status checkReplies(const std::vector<redis::Reply>& replies, const std::string& address) {
  for (const auto& r : replies) {
    if (r.isError()) return failedPrecondition(address + ": " + r.str);
  }
  return Status::ok();
}

}  // namespace

Dataset makeDataset(int count, int big_values) {
  Dataset data;
  data.keys.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    std::string key = i % 10 == 0 ? "{tag" + std::to_string(i % 1000) + "}:k" + std::to_string(i)
                                  : "key:" + std::to_string(i);
    if (i % 7 == 0) data.ttl_keys.insert(key);
    if (i < big_values) data.big_keys.insert(key);
    data.keys.push_back(std::move(key));
  }
  return data;
}

std::string expectedValue(const Dataset& data, const std::string& key) {
  if (data.big_keys.count(key)) {
    return std::string(1 << 20, static_cast<char>('a' + key.size() % 26)) + key;
  }
  return "value-of-" + key;
}

Status loadDataset(redis::NodeConnector& connector, const std::string& seed_address,
                   const Dataset& data) {
  ASSIGN_OR_RETURN(auto by_owner, keysByOwner(connector, seed_address, data));
  for (const auto& [address, keys] : by_owner) {
    ASSIGN_OR_RETURN(auto client, connector.connect(address));
    std::vector<redis::Command> batch;
    for (const auto& key : keys) {
      if (data.ttl_keys.count(key)) {
        batch.push_back({"SET", key, expectedValue(data, key), "EX", "3600"});
      } else {
        batch.push_back({"SET", key, expectedValue(data, key)});
      }
      if (batch.size() == kPipelineChunk) {
        ASSIGN_OR_RETURN(auto replies, client->pipeline(batch));
        RETURN_IF_ERROR(checkReplies(replies, address));
        batch.clear();
      }
    }
    if (!batch.empty()) {
      ASSIGN_OR_RETURN(auto replies, client->pipeline(batch));
      RETURN_IF_ERROR(checkReplies(replies, address));
    }
  }
  return Status::ok();
}

Result<VerifyReport> verifyDataset(redis::NodeConnector& connector, const std::string& seed_address,
                                   const Dataset& data) {
  VerifyReport report;
  ASSIGN_OR_RETURN(auto by_owner, keysByOwner(connector, seed_address, data));
  for (const auto& [address, keys] : by_owner) {
    ASSIGN_OR_RETURN(auto client, connector.connect(address));
    ASSIGN_OR_RETURN(int64_t size, client->dbSize());
    report.total_keys_on_masters += size;
    for (size_t start = 0; start < keys.size(); start += kPipelineChunk) {
      std::vector<redis::Command> batch;
      size_t end = std::min(keys.size(), start + kPipelineChunk);
      for (size_t i = start; i < end; ++i) {
        batch.push_back({"GET", keys[i]});
        batch.push_back({"PTTL", keys[i]});
      }
      ASSIGN_OR_RETURN(auto replies, client->pipeline(batch));
      for (size_t i = start; i < end; ++i) {
        const auto& value = replies[2 * (i - start)];
        const auto& ttl = replies[2 * (i - start) + 1];
        ++report.checked;
        bool bad = false;
        if (value.type != redis::Reply::Type::kString) {
          ++report.missing;
          bad = true;
        } else if (value.str != expectedValue(data, keys[i])) {
          ++report.wrong_value;
          bad = true;
        } else if (data.ttl_keys.count(keys[i]) && ttl.integer <= 0) {
          ++report.lost_ttl;
          bad = true;
        }
        if (bad && report.examples.size() < 5) report.examples.push_back(keys[i] + "@" + address);
      }
    }
  }
  return report;
}

Result<std::map<std::string, int>> slotCountsByMaster(redis::NodeConnector& connector,
                                                      const std::string& address) {
  ASSIGN_OR_RETURN(auto client, connector.connect(address));
  ASSIGN_OR_RETURN(auto entries, client->clusterNodes());
  std::map<std::string, int> counts;
  for (const auto& e : entries) {
    if (!e.master) continue;
    int n = 0;
    for (const auto& r : e.slots) n += r.size();
    counts[e.id] = n;
  }
  return counts;
}

}  // namespace slotkeeper::test
