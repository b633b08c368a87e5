// slotkeeper-cli: the topology engine from the command line (apply, plan, check, slots).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/log.h"
#include "redis/hiredis_client.h"

using namespace slotkeeper;

int main(int argc, char** argv) {
  std::vector<std::string> raw(argv + 1, argv + argc);
  const char* env_password = std::getenv("SLOTKEEPER_PASSWORD");
  auto args = cli::parseArgs(raw, env_password ? env_password : "");
  if (!args.isOk()) {
    std::fprintf(stderr, "error: %s\n", args.status().message().c_str());
    return 2;
  }
  if (args->command == "help") {
    std::printf("%s", cli::usage().c_str());
    return 0;
  }
  if (args->command == "version") {
    std::printf("slotkeeper-cli %s\n", SLOTKEEPER_VERSION);
    return 0;
  }
  log::Level level;
  if (!log::parseLevel(args->log_level, &level)) {
    std::fprintf(stderr, "error: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  log::setLevel(level);
  log::setJsonOutput(args->json_logs);

  redis::ConnectOptions connect;
  connect.password = args->password;
  // A pipelined batch of MIGRATEs can take a while to answer; the socket timeout must not
  // cut it short.
  connect.command_timeout = std::chrono::seconds(120);
  redis::HiredisConnector connector(connect);

  if (args->command == "apply") return cli::runApply(*args, connector);
  if (args->command == "plan") return cli::runPlan(*args, connector);
  if (args->command == "check") return cli::runCheck(*args, connector);
  return cli::runSlots(*args, connector);
}
