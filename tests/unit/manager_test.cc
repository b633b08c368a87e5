#include "operator/manager.h"

#include <gtest/gtest.h>

namespace slotkeeper::op {
namespace {

using nlohmann::json;

json cluster(int64_t generation, int masters, const std::string& status_reason) {
  return {{"kind", "RedisCluster"},
          {"metadata", {{"name", "a"}, {"generation", generation}, {"resourceVersion", "7"}}},
          {"spec", {{"masters", masters}}},
          {"status", {{"reason", status_reason}}}};
}

TEST(ManagerWakes, TheOperatorsOwnStatusWriteWakesNothingASpecChangeGoesFirst) {
  const json before = cluster(1, 3, "a");
  json status_only = cluster(1, 3, "b");
  status_only["metadata"]["resourceVersion"] = "8";
  EXPECT_FALSE(wakesReconcile(before, status_only));
  EXPECT_FALSE(specChanged(before, status_only));

  const json scaled = cluster(2, 4, "a");
  EXPECT_TRUE(wakesReconcile(before, scaled));
  EXPECT_TRUE(specChanged(before, scaled));

  json relabelled = before;
  relabelled["metadata"]["labels"] = {{"team", "x"}};
  EXPECT_FALSE(specChanged(before, relabelled)) << "labels do not change the generation";
}

}  // namespace
}  // namespace slotkeeper::op
