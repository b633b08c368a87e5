#include "engine/agreement.h"

#include <gtest/gtest.h>

namespace slotkeeper::engine {
namespace {

redis::ClusterNodeEntry entry(const std::string& id, bool myself, std::vector<SlotRange> slots) {
  redis::ClusterNodeEntry e;
  e.id = id;
  e.ip = "127.0.0.1";
  e.port = 7000;
  e.myself = myself;
  e.master = true;
  e.slots = std::move(slots);
  return e;
}

MemberView view(const std::string& me, std::vector<SlotRange> a_slots,
                std::vector<SlotRange> b_slots) {
  return {me + ":7000",
          "ok",
          {entry("a", me == "a", std::move(a_slots)), entry("b", me == "b", std::move(b_slots))}};
}

TEST(Agreement, IdenticalSlotMapsAndOkStateAgree) {
  EXPECT_EQ(findDisagreement(
                {view("a", {{0, 8191}}, {{8192, 16383}}), view("b", {{0, 8191}}, {{8192, 16383}})}),
            "");
}

TEST(Agreement, ADifferentOwnerForOneSlotIsNamed) {
  std::string why = findDisagreement(
      {view("a", {{0, 8191}}, {{8192, 16383}}), view("b", {{0, 8190}}, {{8191, 16383}})});
  EXPECT_NE(why.find("slot 8191"), std::string::npos) << why;
}

TEST(Agreement, ClusterStateFailDisagreesOnlyOnceEverySlotIsAssigned) {
  auto a = view("a", {{0, 8191}}, {{8192, 16383}});
  a.cluster_state = "fail";
  EXPECT_NE(findDisagreement({a}).find("cluster_state:fail"), std::string::npos);
  // While forming, nothing is assigned yet and "fail" is expected.
  auto forming = view("a", {}, {});
  forming.cluster_state = "fail";
  EXPECT_EQ(findDisagreement({forming}), "");
}

TEST(Agreement, AMemberThatDoesNotKnowAnotherDisagrees) {
  MemberView lonely{"c:7000", "ok", {entry("c", true, {})}};
  std::string why = findDisagreement({view("a", {}, {}), lonely});
  EXPECT_NE(why.find("does not know"), std::string::npos) << why;
}

TEST(Agreement, AnOpenSlotDisagrees) {
  auto a = view("a", {{0, 8191}}, {{8192, 16383}});
  a.nodes[0].open_slots.push_back({5, redis::OpenSlot::Kind::kMigrating, "b"});
  EXPECT_NE(findDisagreement({a}).find("open slot 5"), std::string::npos);
}

}  // namespace
}  // namespace slotkeeper::engine
