// The one read of a reconcile pass: the RedisCluster, what it owns (from the informer caches),
// its pods, its password Secret, and one observation of the live Redis nodes. Everything a
// decision needs, read once at the start of the pass and never re-read while deciding.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/types.h"
#include "common/clock.h"
#include "reconciler/membership.h"
#include "reconciler/ports.h"
#include "reconciler/status_builder.h"
#include "reconciler/tls_change.h"
#include "topology/model.h"

namespace slotkeeper::reconciler {

// The password Secret as read this pass.
struct SecretRead {
  enum class Kind { kNotNeeded, kRead, kUnavailable };
  Kind kind = Kind::kNotNeeded;
  std::string password;  // kRead: the Secret's; kUnavailable: the last one that worked, if any
  std::string problem;   // kUnavailable: why, naming the Secret
};

// The spec.tls Secret as read this pass.
struct TlsRead {
  enum class Kind { kNotNeeded, kRead, kUnavailable };
  Kind kind = Kind::kNotNeeded;
  // How to reach the nodes: kRead from the Secret; kUnavailable the last material that worked,
  // if any (enabled is false when there is none).
  redis::TlsOptions options;
  std::string certificate_sha256;  // kRead: of the Secret's tls.crt, to compare with the nodes'
  std::string problem;             // kUnavailable: why, naming the Secret
};

// One spec.users entry with its password, as read this pass.
struct UserRead {
  std::string name;
  std::string rules;
  std::string password;           // empty when the Secret could not be read
  std::string problem;            // why not, naming the Secret
  std::string rules_hash;         // what a node given these rules by this process remembers
  std::string password_sha256;    // as ACL GETUSER lists it
  std::chrono::seconds grace{0};  // how long a replaced password keeps working
};

// The operator's own ACL user (clusters with a password only).
struct OperatorUserRead {
  std::string password;  // from its Secret; empty while unknown
  // The Secret does not exist yet: this freshly generated password is to be stored in it.
  std::string proposed_password;
  std::string problem;  // the Secret exists but cannot be used
};

struct Snapshot {
  nlohmann::json object;  // the RedisCluster as cached, for Events and owner references
  api::RedisCluster cluster;
  std::map<int, nlohmann::json> statefulsets;  // by shard index
  std::vector<PodInfo> pods;
  SecretRead secret;
  TlsRead tls;
  TlsChange tls_change;  // the pods' TLS stages; sets the port of each pod in `pods`
  OperatorUserRead operator_user;
  // spec.users, then the operator's own user once its password is known.
  std::vector<UserRead> users;
  // The user hash each node took from this process, by "ip:port/user", and Redis' refusal of a
  // user's rules by user name, from earlier passes.
  std::map<std::string, std::string> users_applied;
  std::map<std::string, std::string> user_errors;
  // Since when every node has had a user's new password next to an old one, by user.
  std::map<std::string, std::chrono::system_clock::time_point> user_rotations;
  // The password that worked before the Secret changed, tried when the Secret's is refused.
  std::string fallback_password;
  // The live cluster as seen from every addressable pod (absent: no pod has an address yet).
  std::optional<LiveObservation> live;
  // The planner's view: the members reachable from the desired nodes. Present only when every
  // desired pod is ready and the password is usable, i.e. when a topology change may be planned.
  std::optional<topology::ObservedCluster> planner_view;
  // Hashes of the objects this process applied last, by API path: an object whose desired
  // manifest hashes the same is not applied again (ConfigMaps, Services and budgets are not
  // cached, so this is how a pass at rest knows they are current).
  std::map<std::string, std::string> applied_hashes;
  // The live-settings hash each node took with CONFIG SET from this process, by "ip:port".
  std::map<std::string, std::string> live_settings_applied;
  // Pods this process deleted (by uid) that the cache may still show as running.
  std::set<std::string> deleted_pod_uids;
  std::chrono::system_clock::time_point now;
  int redis_connections = 0;  // opened to take the observation
};

// Everything a snapshot needs that outlives one pass.
struct SnapshotMemory {
  std::map<std::string, std::string> applied_hashes;
  std::map<std::string, std::string> live_settings_applied;  // by node "ip:port"
  std::set<std::string> deleted_pod_uids;
  std::map<std::string, std::string> node_zones;  // Node name -> zone label, read once
  std::string last_good_password;   // kept so a deleted Secret does not blind the operator
  redis::TlsOptions last_good_tls;  // likewise for the TLS Secret
  std::map<std::string, std::string> users_applied;                             // by "ip:port/user"
  std::map<std::string, std::string> user_errors;                               // by user
  std::map<std::string, std::chrono::system_clock::time_point> user_rotations;  // by user
  // StatefulSets this process applied or deleted that the informer cache may not show yet.
  // A pass right after a shrink must not read the old size from the cache and grow it back,
  // so until the cache catches up, the snapshot shows what was written (the pattern client-go
  // controllers call expectations).
  std::map<std::string, nlohmann::json> applied_statefulsets;  // by API path
  std::set<std::string> deleted_statefulsets;                  // API paths
  // The status this process wrote last, and the resourceVersion of the object it was read
  // from. A cache still at that version has not seen the write; its status is the older one.
  std::string status_base_version;
  std::optional<api::RedisClusterStatus> written_status;
};

struct SnapshotOptions {
  redis::ConnectOptions connect;  // password filled from the Secret
};

// Reads the snapshot of `ns/name`; nullopt when the RedisCluster does not exist or is being
// deleted. Errors are Kubernetes read failures; Redis problems are observations, not errors.
// `memory` forgets the StatefulSet writes the cache now shows.
Result<std::optional<Snapshot>> takeSnapshot(KubePort& kube, RedisPort& redis,
                                             const std::string& ns, const std::string& name,
                                             SnapshotMemory& memory, const SnapshotOptions& options,
                                             Clock& clock);

// The cached StatefulSets by shard, corrected by `memory` for writes the cache does not show yet;
// forgets the writes it does show. Pure apart from `memory`.
std::map<int, nlohmann::json> mergeStatefulSets(const std::vector<nlohmann::json>& cached,
                                                SnapshotMemory& memory);

// The connect options of the snapshot's nodes: the Secret's password, and the one that worked
// before while a rotation has not reached every node.
redis::ConnectOptions connectOptionsFor(const Snapshot& snapshot, const SnapshotOptions& options);

// The connect options of a cluster's nodes for `password` and `tls`.
redis::ConnectOptions connectOptionsFor(const api::RedisCluster& cluster,
                                        const SnapshotOptions& options, const std::string& password,
                                        const redis::TlsOptions& tls);

// The names a pod's certificate may give it instead of its IP: its DNS names under the
// cluster's headless Service, with and without the cluster domain.
std::vector<std::string> podDnsNames(const api::RedisCluster& cluster, const std::string& pod);

}  // namespace slotkeeper::reconciler
