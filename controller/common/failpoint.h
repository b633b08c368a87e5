// Fault-injection points for tests. When the environment variable SLOTKEEPER_FAILPOINT is
// "name" or "name:N", the N-th (default first) call of failpoint("name") kills the process with
// SIGKILL — the same death as `kill -9`, with no cleanup — so tests prove a killed run can be
// resumed. "name=delay:MS" instead makes every call sleep MS milliseconds, so tests can hold a
// migration open long enough to act during it. Unset (always, outside those tests) it costs
// one cached lookup. Thread-safe.
#pragma once

#include <string_view>

namespace slotkeeper {

void failpoint(std::string_view name);

}  // namespace slotkeeper
