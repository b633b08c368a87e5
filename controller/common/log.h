// Structured logging: one JSON object per line on stderr, with level, time, message and fields.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace slotkeeper::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void setLevel(Level level);
Level level();
// Parses "debug" / "info" / "warn" / "error"; returns false on anything else.
bool parseLevel(std::string_view text, Level* out);
// When false (the CLI's default), lines are printed as "LEVEL msg key=value" for people.
void setJsonOutput(bool json);

void write(Level level, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object());

inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kError, m, f);
}

// Renders one log line; exposed for tests.
std::string formatJsonLine(Level level, std::string_view time, std::string_view msg,
                           const nlohmann::json& fields);

}  // namespace slotkeeper::log
