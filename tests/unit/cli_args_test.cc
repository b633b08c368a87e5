#include <gtest/gtest.h>

#include "cli/args.h"

namespace slotkeeper::cli {
namespace {

TEST(CliArgs, ApplyTakesShapeNodesAndFailureDomains) {
  auto args = parseArgs({"apply", "--masters", "3", "--replicas", "1", "--nodes",
                         "127.0.0.1:7000@zone-a,127.0.0.2:7000@zone-b,127.0.0.3:7000"},
                        "");
  ASSERT_TRUE(args.isOk()) << args.status().toString();
  EXPECT_EQ(args->command, "apply");
  EXPECT_EQ(args->masters, 3);
  EXPECT_EQ(args->replicas, 1);
  ASSERT_EQ(args->nodes.size(), 3u);
  EXPECT_EQ(args->nodes[0].address, "127.0.0.1:7000");
  EXPECT_EQ(args->nodes[0].failure_domain, "zone-a");
  EXPECT_EQ(args->nodes[2].failure_domain, "");
}

TEST(CliArgs, PasswordComesFromTheEnvironmentUnlessGivenAsAFlag) {
  auto from_env = parseArgs({"slots", "--nodes", "127.0.0.1:7000"}, "s3cret");
  ASSERT_TRUE(from_env.isOk());
  EXPECT_EQ(from_env->password, "s3cret");
  auto from_flag = parseArgs({"slots", "--nodes", "127.0.0.1:7000", "--password", "x"}, "s3cret");
  ASSERT_TRUE(from_flag.isOk());
  EXPECT_EQ(from_flag->password, "x");
}

TEST(CliArgs, MigrationPaceFlagsDefaultToTheEnginesAndAreBounded) {
  auto defaults = parseArgs({"slots", "--nodes", "127.0.0.1:7000"}, "");
  ASSERT_TRUE(defaults.isOk());
  EXPECT_EQ(defaults->slots_per_round_trip, engine::MoveOptions{}.slots_per_pipeline);
  EXPECT_EQ(defaults->parallel_moves, engine::ExecutorOptions{}.max_parallel_moves);
  auto set = parseArgs({"slots", "--nodes", "127.0.0.1:7000", "--slots-per-round-trip", "2",
                        "--parallel-moves", "1"},
                       "");
  ASSERT_TRUE(set.isOk()) << set.status().toString();
  EXPECT_EQ(set->slots_per_round_trip, 2);
  EXPECT_EQ(set->parallel_moves, 1);
}

struct BadArgs {
  const char* name;
  std::vector<std::string> argv;
  const char* message;
};

TEST(CliArgs, BadInputIsRefusedWithAMessageNamingTheProblem) {
  const std::vector<BadArgs> cases = {
      {"no command", {}, "no command given"},
      {"unknown command", {"destroy"}, "unknown command 'destroy'"},
      {"apply without masters",
       {"apply", "--replicas", "1", "--nodes", "127.0.0.1:1"},
       "needs --masters"},
      {"masters not a number", {"plan", "--masters", "three"}, "needs a whole number"},
      {"too many replicas", {"plan", "--replicas", "9"}, "between 0 and 5"},
      {"node without port", {"check", "--nodes", "127.0.0.1"}, "127.0.0.1"},
      {"duplicate node", {"check", "--nodes", "127.0.0.1:1,127.0.0.1:1"}, "twice"},
      {"flag without value", {"check", "--nodes"}, "--nodes needs a value"},
      {"unknown flag", {"check", "--nodes", "127.0.0.1:1", "--force", "1"}, "unknown flag"},
      {"no slot per round trip", {"slots", "--slots-per-round-trip", "0"}, "between 1 and 1024"},
      {"too many parallel moves", {"slots", "--parallel-moves", "17"}, "between 1 and 16"},
  };
  for (const auto& c : cases) {
    auto args = parseArgs(c.argv, "");
    ASSERT_FALSE(args.isOk()) << c.name;
    EXPECT_EQ(args.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(args.status().message().find(c.message), std::string::npos)
        << c.name << ": " << args.status().message();
  }
}

}  // namespace
}  // namespace slotkeeper::cli
