// Probe parsing, threshold tracking and execution.
#include "probes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "container_command.h"

namespace slotkeeper::agent {
namespace {

using nlohmann::json;

const char* probeField(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return "startupProbe";
    case ProbeKind::kReadiness:
      return "readinessProbe";
    case ProbeKind::kLiveness:
      return "livenessProbe";
  }
  return "";
}

// A port is a number or the name of one of the container's ports.
Result<int> resolvePort(const json& port, const json& container) {
  if (port.is_number_integer()) return port.get<int>();
  if (port.is_string()) {
    const std::string name = port.get<std::string>();
    for (const json& p : container.value("ports", json::array())) {
      if (p.value("name", "") == name) return p.value("containerPort", 0);
    }
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) return std::stoi(name);
    return invalidArgument("probe names unknown port \"" + name + "\"");
  }
  return invalidArgument("probe has no port");
}

std::string effectiveHost(const std::string& host, const std::string& pod_ip) {
  // The pod's own loopback address stands in for localhost inside its "network namespace".
  if (host.empty() || host == "localhost" || host == "127.0.0.1") return pod_ip;
  return host;
}

bool httpGetSucceeds(const ProbeSpec& spec, const std::string& host, std::string* detail) {
  const std::string scheme = spec.scheme == "HTTPS" ? "https" : "http";
  httplib::Client client(scheme + "://" + host + ":" + std::to_string(spec.port));
  client.set_connection_timeout(spec.timeout);
  client.set_read_timeout(spec.timeout);
  client.enable_server_certificate_verification(false);
  httplib::Headers headers;
  for (const auto& [k, v] : spec.headers) headers.emplace(k, v);
  auto response = client.Get(spec.path, headers);
  if (!response) {
    *detail = "GET " + spec.path + ": " + httplib::to_string(response.error());
    return false;
  }
  if (response->status >= 200 && response->status < 400) return true;
  *detail = "GET " + spec.path + " returned HTTP " + std::to_string(response->status);
  return false;
}

}  // namespace

std::string_view probeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return "startup";
    case ProbeKind::kReadiness:
      return "readiness";
    case ProbeKind::kLiveness:
      return "liveness";
  }
  return "";
}

Result<std::optional<ProbeSpec>> parseProbe(ProbeKind kind, const json& container) {
  const char* field = probeField(kind);
  if (!container.contains(field) || !container[field].is_object()) {
    return std::optional<ProbeSpec>();
  }
  const json& p = container[field];
  ProbeSpec spec;
  spec.kind = kind;
  spec.initial_delay = std::chrono::seconds(p.value("initialDelaySeconds", 0));
  spec.period = std::chrono::seconds(std::max(1, p.value("periodSeconds", 10)));
  spec.timeout = std::chrono::seconds(std::max(1, p.value("timeoutSeconds", 1)));
  spec.success_threshold = std::max(1, p.value("successThreshold", 1));
  spec.failure_threshold = std::max(1, p.value("failureThreshold", 3));
  if (p.contains("terminationGracePeriodSeconds") &&
      p["terminationGracePeriodSeconds"].is_number_integer()) {
    spec.termination_grace_seconds = p["terminationGracePeriodSeconds"].get<int64_t>();
  }
  if (p.contains("exec")) {
    spec.action = ProbeSpec::Action::kExec;
    spec.command = p["exec"].value("command", std::vector<std::string>{});
  } else if (p.contains("tcpSocket")) {
    spec.action = ProbeSpec::Action::kTcpSocket;
    spec.host = p["tcpSocket"].value("host", "");
    ASSIGN_OR_RETURN(spec.port, resolvePort(p["tcpSocket"].value("port", json()), container));
  } else if (p.contains("httpGet")) {
    const json& h = p["httpGet"];
    spec.action = ProbeSpec::Action::kHttpGet;
    spec.host = h.value("host", "");
    spec.path = h.value("path", "/");
    spec.scheme = h.value("scheme", "HTTP");
    ASSIGN_OR_RETURN(spec.port, resolvePort(h.value("port", json()), container));
    for (const json& header : h.value("httpHeaders", json::array())) {
      spec.headers.emplace_back(header.value("name", ""), header.value("value", ""));
    }
  }
  return std::optional<ProbeSpec>(spec);
}

ProbeTracker::ProbeTracker(ProbeSpec spec, Clock::TimePoint container_started)
    : spec_(std::move(spec)),
      next_(container_started + spec_.initial_delay),
      result_(spec_.kind == ProbeKind::kLiveness) {}

void ProbeTracker::record(bool success, Clock::TimePoint now) {
  if (success) {
    ++successes_;
    failures_ = 0;
    if (successes_ >= spec_.success_threshold) result_ = true;
  } else {
    ++failures_;
    successes_ = 0;
    if (failures_ >= spec_.failure_threshold) result_ = false;
  }
  next_ = now + spec_.period;
}

bool tcpConnects(const std::string& ip, int port, std::chrono::milliseconds timeout,
                 std::string* detail) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    *detail = "bad address " + ip;
    return false;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *detail = std::string("socket: ") + strerror(errno);
    return false;
  }
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    if (poll(&pfd, 1, static_cast<int>(timeout.count())) == 1) {
      int error = 0;
      socklen_t len = sizeof(error);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      ok = error == 0;
      if (!ok) errno = error;
    } else {
      errno = ETIMEDOUT;
    }
  }
  if (!ok) {
    *detail = "connect " + ip + ":" + std::to_string(port) + ": " + strerror(errno);
  }
  close(fd);
  return ok;
}

bool runProbe(const ProbeSpec& spec, const std::string& pod_ip, const ExecTarget& exec,
              std::string* detail) {
  switch (spec.action) {
    case ProbeSpec::Action::kTcpSocket:
      return tcpConnects(effectiveHost(spec.host, pod_ip), spec.port, spec.timeout, detail);
    case ProbeSpec::Action::kHttpGet:
      return httpGetSucceeds(spec, effectiveHost(spec.host, pod_ip), detail);
    case ProbeSpec::Action::kUnsupported:
      *detail = "probe type not supported by the node agent";
      return false;
    case ProbeSpec::Action::kExec:
      break;
  }
  if (spec.command.empty()) {
    *detail = "exec probe has no command";
    return false;
  }
  std::string path_list = kContainerPath;
  for (const std::string& e : exec.env) {
    if (e.starts_with("PATH=")) path_list = e.substr(5);
  }
  SpawnRequest request;
  request.executable = findExecutable(spec.command[0], path_list);
  if (request.executable.empty()) {
    *detail = "executable not found: " + spec.command[0];
    return false;
  }
  request.argv = spec.command;
  request.env = exec.env;
  request.working_dir = exec.working_dir;
  request.stdout_path = exec.output_file;
  request.stderr_path = exec.output_file;
  request.truncate_output = true;
  std::string output;
  auto exit = runToCompletion(request, spec.timeout, exec.output_file.empty() ? nullptr : &output);
  if (!exit.isOk()) {
    *detail = exit.status().message();
    return false;
  }
  if (exit->exit_code == 0) return true;
  *detail = "exit code " + std::to_string(exit->exit_code) + (output.empty() ? "" : ": " + output);
  return false;
}

}  // namespace slotkeeper::agent
