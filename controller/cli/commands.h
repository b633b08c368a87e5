// The slotkeeper-cli commands, each returning the process exit code.
#pragma once

#include "cli/args.h"
#include "redis/node_client.h"

namespace slotkeeper::cli {

int runApply(const CliArgs& args, redis::NodeConnector& connector);
int runPlan(const CliArgs& args, redis::NodeConnector& connector);
int runCheck(const CliArgs& args, redis::NodeConnector& connector);
int runSlots(const CliArgs& args, redis::NodeConnector& connector);

}  // namespace slotkeeper::cli
