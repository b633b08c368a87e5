// Reads of a RedisCluster's live redis nodes and status that several e2e tests assert on.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "e2e/support/operator_env.h"

namespace slotkeeper::e2e {

// Sets an environment variable for the processes started while it lives, and clears it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value);
  ~ScopedEnv();

 private:
  const char* name_;
};

// The cluster's pods that call themselves master, by name, and their IPs.
std::map<std::string, std::string> masterPodIps(OperatorEnv& env, const std::string& cluster);
std::set<std::string> masterPods(OperatorEnv& env, const std::string& cluster);
std::vector<std::string> masterIps(OperatorEnv& env, const std::string& cluster);
// Keys held by the masters (DBSIZE summed): a lost or duplicated key changes it.
int64_t countKeys(OperatorEnv& env, const std::string& cluster);
// Keys held by the masters whose names match a glob `pattern` (SCAN of each master).
int64_t countKeys(OperatorEnv& env, const std::string& cluster, const std::string& pattern);
// MIGRATING/IMPORTING markers over every pod's own view.
int openSlots(OperatorEnv& env, const std::string& cluster);
// Writes the go-redis load generator's 20,000 keys (spread over every slot) and returns how
// many keys the masters hold.
int64_t loadKeys(OperatorEnv& env, const std::string& cluster);
// status.operation (null when none), and its slotsMoved (-1 when none).
nlohmann::json operation(OperatorEnv& env, const std::string& cluster);
int64_t slotsMoved(OperatorEnv& env, const std::string& cluster);

}  // namespace slotkeeper::e2e
