// Command-line parsing for slotkeeper-cli, kept pure so that every error message is testable.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "engine/executor.h"
#include "topology/model.h"

namespace slotkeeper::cli {

struct CliArgs {
  std::string command;  // apply | plan | check | slots | help | version
  int masters = -1;
  int replicas = -1;
  std::vector<topology::DesiredNode> nodes;
  std::string password;
  int batch_keys = 1000;
  int slots_per_round_trip = engine::MoveOptions{}.slots_per_pipeline;
  int parallel_moves = engine::ExecutorOptions{}.max_parallel_moves;
  int watch_seconds = 0;  // slots --watch N: redraw every N seconds
  int timeout_seconds = 60;
  std::string log_level = "info";
  bool json_logs = false;
};

// argv without the program name. The password may also come from SLOTKEEPER_PASSWORD.
Result<CliArgs> parseArgs(const std::vector<std::string>& args, const std::string& env_password);

// "host:port[@failure-domain],..." → desired nodes; rejects malformed entries.
Result<std::vector<topology::DesiredNode>> parseNodeList(const std::string& text);

std::string usage();

}  // namespace slotkeeper::cli
