// Pure translation of a container spec into a local command line: $(VAR) expansion, mount
// path rewriting, the image -> binary map, the loopback flags redis-server needs, and the
// redis-cli retargeting for exec probes.
//
// Mount paths. Processes cannot mount, so every volumeMount.mountPath is rewritten to the
// host directory that backs it: in command, args, env values, exec probe commands, and in
// the content of configMap/secret/projected files (a redis.conf that says `dir /data` must
// point at the PVC directory). A mount path matches only as a whole path prefix: "/data"
// rewrites "/data", "/data/x" and "--dir=/data", never "/database" or "/x/data".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace slotkeeper::agent {

// Kubernetes' $(VAR) expansion (k8s.io/kubernetes/third_party/forked/golang/expansion):
// "$(NAME)" becomes the value when NAME is defined and stays literal otherwise; "$$" is an
// escaped "$".
std::string expandVars(std::string_view input, const std::map<std::string, std::string>& vars);

struct PathMapping {
  std::string mount_path;  // as in the pod spec, e.g. "/data"
  std::string host_path;   // the directory (or file, with subPath) standing in for it
};

class PathRewriter {
 public:
  PathRewriter() = default;
  explicit PathRewriter(std::vector<PathMapping> mappings);
  std::string rewrite(std::string_view text) const;
  // The host path for an absolute container path, or "" when no mount covers it.
  std::string hostPathFor(std::string_view container_path) const;
  const std::vector<PathMapping>& mappings() const { return mappings_; }

 private:
  std::vector<PathMapping> mappings_;  // longest mount path first
};

struct ImageMap {
  std::string redis_server = "/usr/bin/redis-server";
  std::map<std::string, std::string> binaries;  // --operator-image NAME=PATH
};

// "registry/x/redis:7.2@sha256:..." -> "registry/x/redis"
std::string imageRepository(std::string_view image);
// The --operator-image binary for `image`, or "" (exact name, same repository, or the
// repository's last path component equals a tagless NAME).
std::string binaryForImage(std::string_view image, const ImageMap& map);

struct LocalCommand {
  std::string executable;  // absolute path once resolved; may be a bare name before
  std::vector<std::string> argv;
  bool redis_server = false;  // gets the loopback flags appended
};

// Maps (image, command, args) to what runs locally. command/args must already be expanded
// and rewritten. kNotFound with "image X has no local binary" for images we cannot run.
Result<LocalCommand> mapContainerCommand(std::string_view image,
                                         const std::vector<std::string>& command,
                                         const std::vector<std::string>& args, const ImageMap& map);

// --bind <ip> --bind-source-addr <ip> --protected-mode no: redis listens only on the pod's
// own address, peers see that address as the source of its connections (cluster bus on
// loopback), and connections from 127.x addresses other than 127.0.0.1 are accepted.
std::vector<std::string> redisLoopbackArgs(const std::string& pod_ip);

// Exec probes and hooks run next to the container, not inside its network namespace: a
// `redis-cli ping` would reach 127.0.0.1:6379 (someone else's server, or nobody). So:
// "localhost" and "127.0.0.1" as whole words become the pod IP; a redis-cli argv without
// -h/-u gets "-h <ip>" inserted; in `sh -c` scripts without any "-h", every redis-cli word
// gets " -h <ip>" appended.
std::vector<std::string> retargetExecCommand(std::vector<std::string> argv,
                                             const std::string& pod_ip);

// The default PATH of container processes.
inline constexpr const char* kContainerPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace slotkeeper::agent
