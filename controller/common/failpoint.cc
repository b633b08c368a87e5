#include "common/failpoint.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>

#include "common/log.h"

namespace slotkeeper {
namespace {

struct FailpointConfig {
  std::string name;
  int hit_number = 1;
};

const FailpointConfig* configFromEnv() {
  static const FailpointConfig* config = []() -> const FailpointConfig* {
    const char* raw = std::getenv("SLOTKEEPER_FAILPOINT");
    if (raw == nullptr || *raw == '\0') return nullptr;
    auto* c = new FailpointConfig();
    std::string text(raw);
    auto colon = text.find(':');
    c->name = text.substr(0, colon);
    if (colon != std::string::npos) c->hit_number = std::atoi(text.c_str() + colon + 1);
    return c;
  }();
  return config;
}

std::atomic<int> g_hits{0};

}  // namespace

void failpoint(std::string_view name) {
  const FailpointConfig* config = configFromEnv();
  if (config == nullptr || config->name != name) return;
  if (++g_hits < config->hit_number) return;
  log::warn("failpoint reached: killing the process", {{"failpoint", std::string(name)}});
  std::raise(SIGKILL);
}

}  // namespace slotkeeper
