#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace slotkeeper::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<bool> g_json{true};
std::mutex g_write_mu;

std::string_view levelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string utcNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

std::string formatHumanLine(Level level, std::string_view msg, const nlohmann::json& fields) {
  std::string line(levelName(level));
  line += " ";
  line += msg;
  for (const auto& [key, value] : fields.items()) {
    line += " " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return line;
}

}  // namespace

void setLevel(Level level) { g_level = level; }
Level level() { return g_level; }
void setJsonOutput(bool json) { g_json = json; }

bool parseLevel(std::string_view text, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == levelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

std::string formatJsonLine(Level level, std::string_view time, std::string_view msg,
                           const nlohmann::json& fields) {
  nlohmann::json line = {{"ts", time}, {"level", levelName(level)}, {"msg", msg}};
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line[key] = value;
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write(Level level, std::string_view msg, const nlohmann::json& fields) {
  if (level < g_level.load()) return;
  std::string line =
      g_json ? formatJsonLine(level, utcNow(), msg, fields) : formatHumanLine(level, msg, fields);
  std::lock_guard lock(g_write_mu);
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace slotkeeper::log
