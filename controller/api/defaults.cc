// Mirrors the `default:` entries of crds/redis.slotkeeper.io_redisclusters.yaml.
#include "api/defaults.h"

#include <string>

#include "api/types.h"

namespace slotkeeper::api {
namespace {

// Structural defaulting replaces absent fields and explicit nulls (nulls of non-nullable
// fields are pruned before defaulting); nothing else.
void setIfAbsent(nlohmann::json& object, const char* key, const nlohmann::json& value) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) object[key] = value;
}

}  // namespace

void applySpecDefaults(nlohmann::json& spec) {
  if (!spec.is_object()) return;
  setIfAbsent(spec, "masters", kDefaultMasters);
  setIfAbsent(spec, "replicasPerMaster", kDefaultReplicasPerMaster);
  setIfAbsent(spec, "image", std::string(kDefaultImage));
  setIfAbsent(spec, "podAntiAffinity",
              std::string(podAntiAffinityName(PodAntiAffinity::kRequired)));
  setIfAbsent(spec, "migration", nlohmann::json::object());
  nlohmann::json& migration = spec["migration"];
  if (migration.is_object()) {
    setIfAbsent(migration, "batchKeys", kDefaultBatchKeys);
    setIfAbsent(migration, "timeoutSeconds", kDefaultMigrationTimeoutSeconds);
    setIfAbsent(migration, "slotsPerRoundTrip", kDefaultSlotsPerRoundTrip);
    setIfAbsent(migration, "parallelMoves", kDefaultParallelMoves);
  }
  setIfAbsent(spec, "failureDomain", std::string(failureDomainName(FailureDomain::kNode)));
  setIfAbsent(spec, "updateStrategy", nlohmann::json::object());
  nlohmann::json& update = spec["updateStrategy"];
  if (update.is_object()) {
    setIfAbsent(update, "paused", false);
    setIfAbsent(update, "maxUnavailableShards", 1);
  }
  auto secret = spec.find("passwordSecret");
  if (secret != spec.end() && secret->is_object()) {
    setIfAbsent(*secret, "key", std::string(kDefaultPasswordKey));
    setIfAbsent(*secret, "rotationGraceSeconds", kDefaultRotationGraceSeconds);
  }
}

void applyDefaults(nlohmann::json& object) {
  if (!object.is_object()) return;
  setIfAbsent(object, "spec", nlohmann::json::object());
  applySpecDefaults(object["spec"]);
}

}  // namespace slotkeeper::api
