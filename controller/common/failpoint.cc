#include "common/failpoint.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "common/log.h"

namespace slotkeeper {
namespace {

struct FailpointConfig {
  std::string name;
  int hit_number = 1;
  int delay_ms = 0;  // > 0: sleep on every hit instead of killing
};

const FailpointConfig* configFromEnv() {
  static const FailpointConfig* config = []() -> const FailpointConfig* {
    const char* raw = std::getenv("SLOTKEEPER_FAILPOINT");
    if (raw == nullptr || *raw == '\0') return nullptr;
    auto* c = new FailpointConfig();
    std::string text(raw);
    constexpr std::string_view kDelay = "=delay:";
    if (auto at = text.find(kDelay); at != std::string::npos) {
      c->name = text.substr(0, at);
      c->delay_ms = std::max(1, std::atoi(text.c_str() + at + kDelay.size()));
      return c;
    }
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
  if (config->delay_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(config->delay_ms));
    return;
  }
  if (++g_hits < config->hit_number) return;
  log::warn("failpoint reached: killing the process", {{"failpoint", std::string(name)}});
  std::raise(SIGKILL);
}

}  // namespace slotkeeper
