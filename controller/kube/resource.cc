#include "kube/resource.h"

#include <cstdio>

namespace slotkeeper::kube {

ResourceRef ResourceRef::in(std::string namespace_name) const {
  ResourceRef copy = *this;
  copy.ns = std::move(namespace_name);
  return copy;
}

ResourceRef ResourceRef::named(std::string object_name) const {
  ResourceRef copy = *this;
  copy.name = std::move(object_name);
  return copy;
}

ResourceRef ResourceRef::sub(std::string subresource_name) const {
  ResourceRef copy = *this;
  copy.subresource = std::move(subresource_name);
  return copy;
}

ResourceRef ResourceRef::collection() const {
  ResourceRef copy = *this;
  copy.name.clear();
  copy.subresource.clear();
  return copy;
}

std::string ResourceRef::apiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceRef::path() const {
  // Appended piece by piece rather than with `"/" + ...` temporaries, which GCC 12 at -O3
  // flags with a false -Wrestrict (the inlined string insert).
  std::string out = group.empty() ? "/api" : "/apis/" + group;
  out.append("/").append(version);
  // Namespaces are themselves cluster-scoped; a namespace object is addressed by name only.
  if (!ns.empty() && !(group.empty() && plural == "namespaces")) {
    out.append("/namespaces/").append(urlEncode(ns));
  }
  out.append("/").append(plural);
  if (name.empty()) return out;
  out.append("/").append(urlEncode(name));
  if (!subresource.empty()) out.append("/").append(subresource);
  return out;
}

std::string urlEncode(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
      continue;
    }
    char buf[4];
    std::snprintf(buf, sizeof(buf), "%%%02X", c);
    out += buf;
  }
  return out;
}

namespace {

void appendParam(std::string* query, std::string_view key, std::string_view value) {
  query->append(query->empty() ? "?" : "&");
  query->append(key);
  query->append("=");
  query->append(urlEncode(value));
}

}  // namespace

std::string listQuery(const ListOptions& options, bool watch) {
  std::string q;
  if (watch) appendParam(&q, "watch", "1");
  if (!options.label_selector.empty()) appendParam(&q, "labelSelector", options.label_selector);
  if (!options.field_selector.empty()) appendParam(&q, "fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) {
    appendParam(&q, "resourceVersion", options.resource_version);
  }
  if (!options.resource_version_match.empty()) {
    appendParam(&q, "resourceVersionMatch", options.resource_version_match);
  }
  if (options.limit > 0) appendParam(&q, "limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) appendParam(&q, "continue", options.continue_token);
  if (options.timeout_seconds > 0) {
    appendParam(&q, "timeoutSeconds", std::to_string(options.timeout_seconds));
  }
  if (options.allow_watch_bookmarks) appendParam(&q, "allowWatchBookmarks", "true");
  return q;
}

std::string writeQuery(const WriteOptions& options) {
  std::string q;
  if (!options.field_manager.empty()) appendParam(&q, "fieldManager", options.field_manager);
  if (options.force) appendParam(&q, "force", "true");
  if (options.dry_run) appendParam(&q, "dryRun", "All");
  return q;
}

}  // namespace slotkeeper::kube
