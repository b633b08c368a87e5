// The CRD's defaults, applied by the operator to objects that did not pass through the API
// server's defaulting (an older CRD installed, objects built by tests or tools).
#pragma once

#include <nlohmann/json.hpp>

namespace slotkeeper::api {

// Fills absent fields of a RedisCluster object (the whole object: apiVersion, kind, metadata,
// spec) exactly as the API server's structural defaulting would: spec (created when absent),
// spec.masters, replicasPerMaster, image, podAntiAffinity, migration and its fields, and
// passwordSecret.key when passwordSecret is given. Present values, right or wrong, are left
// alone for the decoder and validation to judge. Never throws; a non-object is left as is.
void applyDefaults(nlohmann::json& object);

// The same for a bare spec object.
void applySpecDefaults(nlohmann::json& spec);

}  // namespace slotkeeper::api
