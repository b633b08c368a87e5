// The CRD's validation rules again, in C++: defence in depth for objects that reached the
// operator without the API server's checks (an older CRD, a hand-written object in a test).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "api/types.h"
#include "common/status.h"

namespace slotkeeper::api {

// Keys spec.redisConfig may set, and keys the operator sets itself and refuses to take from it.
std::span<const std::string_view> allowedRedisConfigKeys();
std::span<const std::string_view> operatorOwnedRedisConfigKeys();

// Every problem of the spec, as one InvalidArgument whose message lists them ("; "-separated),
// each naming its field: "spec.masters: must be between 3 and 100, got 2".
Status validateSpec(const RedisClusterSpec& spec);

// validateSpec plus the object's name (see kMaxNameLength).
Status validateRedisCluster(const RedisCluster& cluster);

// The CRD's transition rules: storage cannot be added, removed or changed after creation.
Status validateSpecUpdate(const RedisClusterSpec& old_spec, const RedisClusterSpec& new_spec);

// Whether `text` is a Kubernetes quantity ("1Gi", "500m", "2", "1e3"), and its value > 0.
bool isPositiveQuantity(std::string_view text);

}  // namespace slotkeeper::api
