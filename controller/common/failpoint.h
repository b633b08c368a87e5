// Crash-injection points for tests that prove a killed run can be resumed. When the environment
// variable SLOTKEEPER_FAILPOINT is "name" or "name:N", the N-th (default first) call of
// failpoint("name") kills the process with SIGKILL — the same death as `kill -9`, with no
// cleanup. Unset (always, outside those tests) it costs one cached lookup.
#pragma once

#include <string_view>

namespace slotkeeper {

void failpoint(std::string_view name);

}  // namespace slotkeeper
