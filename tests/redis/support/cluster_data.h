// Test data for cluster scenarios: a deterministic dataset (plain keys, hash-tagged keys, keys
// with TTLs, a few values of 1 MB), written to and read back from a live cluster by slot owner.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "redis/node_client.h"

namespace slotkeeper::test {

struct Dataset {
  std::vector<std::string> keys;
  std::set<std::string> ttl_keys;
  std::set<std::string> big_keys;
};

// `count` keys; every 10th carries a hash tag shared by 10 keys, every 7th has a TTL of an hour,
// and `big_values` keys hold 1 MB values.
Dataset makeDataset(int count, int big_values = 3);
std::string expectedValue(const Dataset& data, const std::string& key);

// Writes every key to the master that owns its slot according to `seed_address`.
Status loadDataset(redis::NodeConnector& connector, const std::string& seed_address,
                   const Dataset& data);

struct VerifyReport {
  int64_t checked = 0;
  int64_t missing = 0;
  int64_t wrong_value = 0;
  int64_t lost_ttl = 0;
  int64_t total_keys_on_masters = 0;  // DBSIZE summed over masters
  std::vector<std::string> examples;  // a few offending keys, for the failure message
  bool allPresent() const { return missing == 0 && wrong_value == 0 && lost_ttl == 0; }
};

// Reads every key back from the master that owns it now.
Result<VerifyReport> verifyDataset(redis::NodeConnector& connector, const std::string& seed_address,
                                   const Dataset& data);

// Slots per master id, from one node's CLUSTER NODES.
Result<std::map<std::string, int>> slotCountsByMaster(redis::NodeConnector& connector,
                                                      const std::string& address);

}  // namespace slotkeeper::test
