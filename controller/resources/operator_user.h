// The operator's own ACL user on every node of a cluster with a password: the operator connects
// as it, with only the commands its engine sends, instead of as the default user. Its password
// is generated once and kept in a Secret the cluster owns.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/types.h"

namespace slotkeeper::resources {

inline constexpr std::string_view kOperatorUser = "slotkeeper-operator";
inline constexpr std::string_view kOperatorUserPasswordKey = "password";

// Every key (MIGRATE, DUMP, DEL of a key both sides of a move hold), no channel, and the
// commands the observer, the engine, password rotation, certificate reloads and spec.users use.
// Not FLUSHALL, FLUSHDB, SHUTDOWN, DEBUG, KEYS, or any data command beyond DUMP and DEL.
inline constexpr std::string_view kOperatorUserRules =
    "~* resetchannels -@all +cluster +migrate +dump +del +asking +info +ping +dbsize +auth "
    "+config|get +config|set +acl|getuser +acl|setuser +acl|users +acl|deluser +client|setname";

// <name>-operator-user.
std::string operatorUserSecretName(const api::RedisCluster& cluster);

// The Secret holding the operator user's password, owned by the cluster.
nlohmann::json makeOperatorUserSecret(const api::RedisCluster& cluster,
                                      const std::string& password);

}  // namespace slotkeeper::resources
