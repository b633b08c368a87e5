// JSON <-> C++ for RedisCluster objects. This is the boundary where nlohmann::json's
// exceptions stop: every decoder returns a Result whose error names the offending field.
#pragma once

#include <nlohmann/json.hpp>

#include "api/types.h"
#include "common/status.h"

namespace slotkeeper::api {

// Decodes a whole object as read from the API server. The CRD's defaults are applied first
// (defaults.h), so the spec is complete even if the object bypassed the API server's defaulting.
// Type errors ("spec.masters: expected an integer, got string \"three\"") are InvalidArgument.
// Ranges and allowed values are not checked here: that is validation.h's job, so that the
// operator can still read, and report on, an object whose spec is invalid.
Result<RedisCluster> decodeRedisCluster(const nlohmann::json& object);

// A bare spec (defaults applied first) and a bare status.
Result<RedisClusterSpec> decodeSpec(const nlohmann::json& spec);
Result<RedisClusterStatus> decodeStatus(const nlohmann::json& status);

nlohmann::json encodeSpec(const RedisClusterSpec& spec);

// Every field is written, zeros and empty lists included, and `operation` as null when there is
// none: a JSON merge patch of this object then replaces the whole status (a field left out of a
// merge patch would keep its old value), and the same status always encodes the same way.
// Entries of `nodes` (a list, always replaced whole) leave out empty strings, and the
// replication fields (lagSeconds, lagBytes, syncInProgress) unless role is "replica".
nlohmann::json encodeStatus(const RedisClusterStatus& status);

// apiVersion, kind, metadata (name, namespace, uid, generation, resourceVersion, labels),
// spec and status. Empty metadata fields are left out.
nlohmann::json encodeRedisCluster(const RedisCluster& cluster);

}  // namespace slotkeeper::api
