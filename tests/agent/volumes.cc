// Pod volume preparation.
#include "volumes.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "kube/base64.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const json& specOf(const json& pod) {
  static const json kEmpty = json::object();
  auto it = pod.find("spec");
  return it != pod.end() && it->is_object() ? *it : kEmpty;
}

Status makeDirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return unavailable("cannot create " + dir + ": " + ec.message());
  return Status::ok();
}

// A volume's file list: relative path -> (bytes, whether it is text we may rewrite).
struct FileEntry {
  std::string content;
  bool rewritable = false;
  int mode = -1;  // -1: the volume's default mode
};
using FileSet = std::map<std::string, FileEntry>;

// Certificates and keys are data: a base64 line may start with a mount path's characters.
bool looksLikePem(const std::string& text) { return text.find("-----BEGIN") != std::string::npos; }

// ConfigMap/Secret keys -> files, honouring `items` (key -> path, mode) when given.
Status collectKeys(const json& object, const json& source, bool secret, FileSet* files) {
  std::map<std::string, std::pair<std::string, bool>> values;  // key -> (bytes, text?)
  for (const char* field : {"data", "binaryData"}) {
    if (!object.contains(field) || !object[field].is_object()) continue;
    const bool encoded = secret || std::string(field) == "binaryData";
    for (const auto& [key, value] : object[field].items()) {
      std::string bytes = value.get<std::string>();
      if (encoded && !kube::base64Decode(value.get<std::string>(), &bytes)) {
        return invalidArgument("key " + key + " is not valid base64");
      }
      values[key] = {bytes, !encoded};
    }
  }
  const bool optional = source.value("optional", false);
  if (source.contains("items") && source["items"].is_array()) {
    for (const json& item : source["items"]) {
      const std::string key = item.value("key", "");
      auto it = values.find(key);
      if (it == values.end()) {
        if (optional) continue;
        return failedPrecondition("key " + key + " not found");
      }
      FileEntry entry{it->second.first, it->second.second, item.value("mode", -1)};
      (*files)[item.value("path", key)] = entry;
    }
    return Status::ok();
  }
  for (const auto& [key, value] : values) (*files)[key] = FileEntry{value.first, value.second};
  return Status::ok();
}

Status collectObject(const json& source, bool secret, const std::string& ns, PodApi& api,
                     FileSet* files) {
  const std::string name = source.value(secret ? "secretName" : "name", source.value("name", ""));
  auto object = secret ? api.getSecret(ns, name) : api.getConfigMap(ns, name);
  if (!object.isOk()) {
    if (source.value("optional", false) && object.status().code() == StatusCode::kNotFound) {
      return Status::ok();
    }
    return failedPrecondition(std::string(secret ? "secret" : "configmap") + " \"" + name +
                              "\": " + object.status().message());
  }
  Status collected = collectKeys(*object, source, secret, files);
  return collected.withContext(std::string(secret ? "secret " : "configmap ") + name);
}

Status collectDownwardApi(const json& source, const json& pod, const PodFacts& facts,
                          FileSet* files) {
  if (!source.contains("items") || !source["items"].is_array()) return Status::ok();
  for (const json& item : source["items"]) {
    Result<std::string> value = std::string();
    if (item.contains("fieldRef")) {
      value = fieldRefValue(pod, item["fieldRef"].value("fieldPath", ""), facts);
    } else if (item.contains("resourceFieldRef")) {
      // Pod-level downward files name their container; the first one is a fine default.
      const json containers = specOf(pod).value("containers", json::array());
      json container = containers.empty() ? json::object() : containers[0];
      const std::string wanted = item["resourceFieldRef"].value("containerName", "");
      for (const json& c : containers) {
        if (c.value("name", "") == wanted) container = c;
      }
      value = resourceFieldValue(container, item["resourceFieldRef"], facts);
    }
    if (!value.isOk()) return value.status();
    (*files)[item.value("path", "")] = FileEntry{*value, false, item.value("mode", -1)};
  }
  return Status::ok();
}

bool fileHolds(const std::string& path, const std::string& content) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string existing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return existing == content;
}

Status writeFiles(const std::string& dir, const FileSet& files, int default_mode,
                  const PathRewriter& paths) {
  for (const auto& [relative, entry] : files) {
    if (relative.empty() || relative.starts_with("/") || relative.find("..") != std::string::npos) {
      return invalidArgument("bad volume file path \"" + relative + "\"");
    }
    const std::string path = dir + "/" + relative;
    RETURN_IF_ERROR(makeDirs(fs::path(path).parent_path().string()));
    const bool rewrite = entry.rewritable && !looksLikePem(entry.content);
    const std::string content = rewrite ? paths.rewrite(entry.content) : entry.content;
    if (fileHolds(path, content)) continue;  // unchanged: a refresh leaves it alone
    RETURN_IF_ERROR(
        writeFileAtomically(path, content, entry.mode >= 0 ? entry.mode : default_mode));
  }
  return Status::ok();
}

std::string namespaceOf(const json& pod) {
  return pod.value("metadata", json::object()).value("namespace", "");
}

// Mount path -> host path for a list of volumeMounts (subPath honoured).
std::vector<PathMapping> mappingsFor(const json& mounts,
                                     const std::map<std::string, std::string>& host_dirs) {
  std::vector<PathMapping> out;
  if (!mounts.is_array()) return out;
  for (const json& mount : mounts) {
    auto dir = host_dirs.find(mount.value("name", ""));
    if (dir == host_dirs.end()) continue;
    const std::string sub = mount.value("subPath", "");
    out.push_back(
        {mount.value("mountPath", ""), sub.empty() ? dir->second : dir->second + "/" + sub});
  }
  return out;
}

// Every volumeMount of every container (init containers included), pod-wide: the content
// of a ConfigMap file may name any of them.
json allMounts(const json& pod) {
  json out = json::array();
  for (const char* list : {"initContainers", "containers"}) {
    for (const json& c : specOf(pod).value(list, json::array())) {
      for (const json& m : c.value("volumeMounts", json::array())) out.push_back(m);
    }
  }
  return out;
}

}  // namespace

Status writeFileAtomically(const std::string& path, const std::string& content, int mode) {
  const std::string tmp = path + ".sk-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return unavailable("cannot write " + tmp);
    out << content;
    if (!out) return unavailable("cannot write " + tmp);
  }
  chmod(tmp.c_str(), static_cast<mode_t>(mode));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return unavailable("cannot rename " + tmp + ": " + ec.message());
  return Status::ok();
}

PodVolumes::PodVolumes(std::string pod_dir, std::string state_dir)
    : pod_dir_(std::move(pod_dir)), state_dir_(std::move(state_dir)) {}

Result<std::string> PodVolumes::hostDirFor(const json& volume, const std::string& ns, PodApi& api) {
  const std::string name = volume.value("name", "");
  if (volume.contains("persistentVolumeClaim")) {
    const std::string claim = volume["persistentVolumeClaim"].value("claimName", "");
    ASSIGN_OR_RETURN(json pvc, api.getPersistentVolumeClaim(ns, claim));
    const std::string pv_name = pvc.value("spec", json::object()).value("volumeName", "");
    const std::string phase = pvc.value("status", json::object()).value("phase", "");
    if (pv_name.empty() || phase != "Bound") {
      return failedPrecondition("persistentvolumeclaim \"" + claim + "\" is not bound yet");
    }
    ASSIGN_OR_RETURN(json pv, api.getPersistentVolume(pv_name));
    const json& spec = pv.value("spec", json::object());
    std::string path = spec.value("hostPath", json::object()).value("path", "");
    if (path.empty()) path = spec.value("local", json::object()).value("path", "");
    if (path.empty()) {
      return failedPrecondition("persistentvolume " + pv_name + " has no hostPath/local path");
    }
    return path;
  }
  if (volume.contains("hostPath")) {
    return state_dir_ + "/hostpath" + volume["hostPath"].value("path", "/");
  }
  for (const char* supported : {"emptyDir", "configMap", "secret", "projected", "downwardAPI"}) {
    if (volume.contains(supported)) return pod_dir_ + "/volumes/" + name;
  }
  return invalidArgument("volume \"" + name + "\" has a type the node agent does not support");
}

Status PodVolumes::prepare(const json& pod, const PodFacts& facts, PodApi& api) {
  const std::string ns = namespaceOf(pod);
  const json volumes = specOf(pod).value("volumes", json::array());
  // First every directory (PVC lookups may fail), then contents, which may name any mount.
  std::map<std::string, std::string> dirs;
  for (const json& volume : volumes) {
    ASSIGN_OR_RETURN(std::string dir, hostDirFor(volume, ns, api));
    RETURN_IF_ERROR(makeDirs(dir));
    dirs[volume.value("name", "")] = dir;
  }
  host_dirs_ = dirs;
  const PathRewriter paths(mappingsFor(allMounts(pod), host_dirs_));
  tokens_.clear();
  for (const json& volume : volumes) {
    Status filled = fill(volume, pod, facts, paths, api, host_dirs_[volume.value("name", "")]);
    if (!filled.isOk()) return filled.withContext("volume " + volume.value("name", ""));
  }
  return Status::ok();
}

Status PodVolumes::fill(const json& volume, const json& pod, const PodFacts& facts,
                        const PathRewriter& paths, PodApi& api, const std::string& dir) {
  const std::string ns = namespaceOf(pod);
  FileSet files;
  int mode = 0644;
  if (volume.contains("configMap") || volume.contains("secret")) {
    const bool secret = volume.contains("secret");
    const json& source = volume[secret ? "secret" : "configMap"];
    mode = source.value("defaultMode", 0644);
    RETURN_IF_ERROR(collectObject(source, secret, ns, api, &files));
  } else if (volume.contains("downwardAPI")) {
    mode = volume["downwardAPI"].value("defaultMode", 0644);
    RETURN_IF_ERROR(collectDownwardApi(volume["downwardAPI"], pod, facts, &files));
  } else if (volume.contains("projected")) {
    return fillProjected(volume["projected"], pod, facts, paths, api, dir);
  } else {
    return Status::ok();  // emptyDir, PVC, hostPath: a directory is all there is
  }
  return writeFiles(dir, files, mode, paths);
}

Status PodVolumes::fillProjected(const json& projected, const json& pod, const PodFacts& facts,
                                 const PathRewriter& paths, PodApi& api, const std::string& dir) {
  const std::string ns = namespaceOf(pod);
  const int mode = projected.value("defaultMode", 0644);
  FileSet files;
  for (const json& source : projected.value("sources", json::array())) {
    if (source.contains("configMap")) {
      RETURN_IF_ERROR(collectObject(source["configMap"], false, ns, api, &files));
    } else if (source.contains("secret")) {
      RETURN_IF_ERROR(collectObject(source["secret"], true, ns, api, &files));
    } else if (source.contains("downwardAPI")) {
      RETURN_IF_ERROR(collectDownwardApi(source["downwardAPI"], pod, facts, &files));
    } else if (source.contains("serviceAccountToken")) {
      const json& sat = source["serviceAccountToken"];
      ProjectedToken token;
      token.file = dir + "/" + sat.value("path", "token");
      token.audience = sat.value("audience", "");
      token.expiration_seconds = sat.value("expirationSeconds", int64_t{3600});
      token.mode = mode;
      RETURN_IF_ERROR(writeToken(pod, api, &token));
      tokens_.push_back(token);
    }
  }
  return writeFiles(dir, files, mode, paths);
}

Status PodVolumes::writeToken(const json& pod, PodApi& api, ProjectedToken* token) {
  const json& meta = pod.value("metadata", json::object());
  std::string sa = specOf(pod).value("serviceAccountName", "");
  if (sa.empty()) sa = "default";
  const auto requested = std::chrono::system_clock::now();
  ASSIGN_OR_RETURN(
      TokenGrant grant,
      api.requestToken(meta.value("namespace", ""), sa, token->audience, token->expiration_seconds,
                       meta.value("name", ""), meta.value("uid", "")));
  RETURN_IF_ERROR(writeFileAtomically(token->file, grant.token, token->mode));
  token->refresh_at = requested + (grant.expires_at - requested) * 8 / 10;
  return Status::ok();
}

Status PodVolumes::refreshTokens(const json& pod, PodApi& api,
                                 std::chrono::system_clock::time_point now) {
  for (ProjectedToken& token : tokens_) {
    if (now < token.refresh_at) continue;
    RETURN_IF_ERROR(writeToken(pod, api, &token));
  }
  return Status::ok();
}

Status PodVolumes::refreshSources(const json& pod, PodApi& api,
                                  std::chrono::steady_clock::time_point now,
                                  std::chrono::seconds period) {
  if (now < next_source_refresh_) return Status::ok();
  next_source_refresh_ = now + period;
  const PathRewriter paths(mappingsFor(allMounts(pod), host_dirs_));
  for (const json& volume : specOf(pod).value("volumes", json::array())) {
    if (!volume.contains("configMap") && !volume.contains("secret")) continue;
    auto dir = host_dirs_.find(volume.value("name", ""));
    if (dir == host_dirs_.end()) continue;
    Status filled = fill(volume, pod, PodFacts{}, paths, api, dir->second);
    if (!filled.isOk()) return filled.withContext("volume " + volume.value("name", ""));
  }
  return Status::ok();
}

PathRewriter PodVolumes::rewriterFor(const json& container) const {
  return PathRewriter(mappingsFor(container.value("volumeMounts", json::array()), host_dirs_));
}

std::string PodVolumes::serviceAccountDir(const json& container) const {
  return rewriterFor(container).hostPathFor(kServiceAccountMountPath);
}

void PodVolumes::removeContents() {
  std::error_code ec;
  fs::remove_all(pod_dir_ + "/volumes", ec);
}

}  // namespace slotkeeper::agent
