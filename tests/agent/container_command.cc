// Container command translation (pure).
#include "container_command.h"

#include <algorithm>

namespace slotkeeper::agent {
namespace {

bool isPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/';
}

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::string baseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Replaces whole-word occurrences of `word` (delimited by non-word characters).
std::string replaceWord(std::string_view text, std::string_view word, std::string_view with) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(word, pos);
    if (hit == std::string_view::npos) break;
    const bool left_ok = hit == 0 || !isWordChar(text[hit - 1]);
    const size_t end = hit + word.size();
    const bool right_ok = end == text.size() || !isWordChar(text[end]);
    out.append(text.substr(pos, hit - pos));
    out.append(left_ok && right_ok ? with : word);
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

bool isShell(const std::string& program) {
  const std::string base = baseName(program);
  return base == "sh" || base == "bash" || base == "dash" || base == "ash";
}

}  // namespace

std::string expandVars(std::string_view input, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < input.size(); ++i) {
    if (input[i] != '$' || i + 1 >= input.size()) {
      out += input[i];
      continue;
    }
    const char next = input[i + 1];
    if (next == '$') {  // "$$" -> "$"
      out += '$';
      ++i;
      continue;
    }
    if (next == '(') {
      const size_t close = input.find(')', i + 2);
      if (close != std::string_view::npos) {
        const std::string name(input.substr(i + 2, close - i - 2));
        auto it = vars.find(name);
        out += it != vars.end() ? it->second : std::string(input.substr(i, close - i + 1));
        i = close;
        continue;
      }
    }
    out += '$';
  }
  return out;
}

PathRewriter::PathRewriter(std::vector<PathMapping> mappings) : mappings_(std::move(mappings)) {
  for (PathMapping& m : mappings_) {
    while (m.mount_path.size() > 1 && m.mount_path.back() == '/') m.mount_path.pop_back();
  }
  std::stable_sort(mappings_.begin(), mappings_.end(), [](const auto& a, const auto& b) {
    return a.mount_path.size() > b.mount_path.size();
  });
}

std::string PathRewriter::rewrite(std::string_view text) const {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    // A path starts at '/' not preceded by a path character.
    if (text[i] == '/' && (i == 0 || !isPathChar(text[i - 1]))) {
      for (const PathMapping& m : mappings_) {
        if (m.mount_path == "/" || text.substr(i, m.mount_path.size()) != m.mount_path) continue;
        const size_t end = i + m.mount_path.size();
        if (end < text.size() && text[end] != '/' && isPathChar(text[end])) continue;
        out += m.host_path;
        i = end;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

std::string PathRewriter::hostPathFor(std::string_view path) const {
  for (const PathMapping& m : mappings_) {
    if (path == m.mount_path) return m.host_path;
    if (path.starts_with(m.mount_path) && path[m.mount_path.size()] == '/') {
      return m.host_path + std::string(path.substr(m.mount_path.size()));
    }
  }
  return "";
}

std::string imageRepository(std::string_view image) {
  std::string_view repo = image.substr(0, image.find('@'));
  const size_t slash = repo.rfind('/');
  const size_t colon = repo.rfind(':');
  // A colon after the last slash is a tag; before it, a registry port.
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    repo = repo.substr(0, colon);
  }
  return std::string(repo);
}

std::string binaryForImage(std::string_view image, const ImageMap& map) {
  const std::string repo = imageRepository(image);
  for (const auto& [name, path] : map.binaries) {
    if (name == image || imageRepository(name) == repo) return path;
  }
  for (const auto& [name, path] : map.binaries) {
    if (name.find('/') == std::string::npos && name.find(':') == std::string::npos &&
        baseName(repo) == name) {
      return path;
    }
  }
  return "";
}

Result<LocalCommand> mapContainerCommand(std::string_view image,
                                         const std::vector<std::string>& command,
                                         const std::vector<std::string>& args,
                                         const ImageMap& map) {
  LocalCommand out;
  // Operator images first: an image called "redis-operator" is not a redis server.
  if (std::string binary = binaryForImage(image, map); !binary.empty()) {
    out.executable = binary;
    out.argv.push_back(binary);
    if (!command.empty()) out.argv.insert(out.argv.end(), command.begin() + 1, command.end());
    out.argv.insert(out.argv.end(), args.begin(), args.end());
    return out;
  }
  if (image.find("redis") == std::string_view::npos) {
    return notFound("image " + std::string(image) + " has no local binary");
  }
  std::vector<std::string> words = command;
  // The official image's entrypoint only forwards to its CMD; treat it as absent.
  if (!words.empty() && baseName(words[0]) == "docker-entrypoint.sh") words.erase(words.begin());
  words.insert(words.end(), args.begin(), args.end());
  if (words.empty() || baseName(words[0]) == "redis-server") {
    if (!words.empty()) words.erase(words.begin());
    out.executable = map.redis_server;
    out.redis_server = true;
    out.argv.push_back(map.redis_server);
    out.argv.insert(out.argv.end(), words.begin(), words.end());
    return out;
  }
  if (!words[0].empty() && words[0][0] == '-') {
    // Like docker-entrypoint.sh: bare options mean "redis-server <options>".
    out.executable = map.redis_server;
    out.redis_server = true;
    out.argv.push_back(map.redis_server);
    out.argv.insert(out.argv.end(), words.begin(), words.end());
    return out;
  }
  // Anything else in a redis image (sh, redis-cli, redis-benchmark) runs as written.
  out.executable = words[0];
  out.argv = words;
  return out;
}

std::vector<std::string> redisLoopbackArgs(const std::string& pod_ip) {
  return {"--bind", pod_ip, "--bind-source-addr", pod_ip, "--protected-mode", "no"};
}

std::vector<std::string> retargetExecCommand(std::vector<std::string> argv,
                                             const std::string& pod_ip) {
  if (argv.empty()) return argv;
  for (std::string& arg : argv) {
    arg = replaceWord(arg, "localhost", pod_ip);
    arg = replaceWord(arg, "127.0.0.1", pod_ip);
  }
  if (baseName(argv[0]) == "redis-cli") {
    const bool has_target = std::any_of(argv.begin() + 1, argv.end(), [](const std::string& a) {
      return a == "-h" || a == "-u" || a.starts_with("-h") || a.starts_with("redis://");
    });
    if (!has_target) argv.insert(argv.begin() + 1, {"-h", pod_ip});
    return argv;
  }
  if (isShell(argv[0])) {
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (argv[i] != "-c" && argv[i] != "-ec" && argv[i] != "-ce") continue;
      std::string& script = argv[i + 1];
      if (script.find("-h ") == std::string::npos) {
        script = replaceWord(script, "redis-cli", "redis-cli -h " + pod_ip);
      }
      break;
    }
  }
  return argv;
}

}  // namespace slotkeeper::agent
