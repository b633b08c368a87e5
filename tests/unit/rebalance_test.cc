// Tests for the slot-distribution math: even targets, and transfers that move exactly the surplus
// in as few, as contiguous, pieces as possible. Ends with a seeded property test over many random
// distributions.
#include "topology/rebalance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "topology/plan.h"

namespace slotkeeper::topology {
namespace {

SlotSet slotsOf(const std::string& list) { return parseSlotList(list).value(); }

// Applies transfers to the accounts, checking each one only hands out slots its source holds.
void applyTransfers(std::vector<SlotAccount>& accounts, SlotSet& uncovered,
                    const std::vector<SlotTransfer>& transfers) {
  for (const auto& t : transfers) {
    SlotSet& from = t.from == kUncovered ? uncovered : accounts[size_t(t.from)].slots;
    ASSERT_TRUE((t.slots - from).empty()) << "transfer hands out slots its source lacks";
    from = from - t.slots;
    accounts[size_t(t.to)].slots = accounts[size_t(t.to)].slots | t.slots;
  }
}

int movedSlots(const std::vector<SlotTransfer>& transfers) {
  int moved = 0;
  for (const auto& t : transfers) {
    if (t.from != kUncovered) moved += t.slots.count();
  }
  return moved;
}

TEST(EvenSlotCounts, SpreadsTheRemainderOverTheFirstMasters) {
  EXPECT_EQ(evenSlotCounts(3), (std::vector<int>{5462, 5461, 5461}));
  EXPECT_EQ(evenSlotCounts(4), (std::vector<int>{4096, 4096, 4096, 4096}));
  EXPECT_EQ(evenSlotCounts(5), (std::vector<int>{3277, 3277, 3277, 3277, 3276}));
  EXPECT_TRUE(evenSlotCounts(0).empty());
}

TEST(EvenTargets, GivesTheLargerSharesToTheLargerHolders) {
  // Empty masters: the first ones by index get the remainder, like evenSlotCounts.
  EXPECT_EQ(evenTargets({0, 0, 0}), (std::vector<int>{5462, 5461, 5461}));
  // The one already holding 5462 keeps it, wherever it sits.
  EXPECT_EQ(evenTargets({5461, 5461, 5462}), (std::vector<int>{5461, 5461, 5462}));
  // Four even masters going to three: the tie goes to the lower index.
  EXPECT_EQ(evenTargets({4096, 4096, 4096}), (std::vector<int>{5462, 5461, 5461}));
  // Above the larger share, the biggest holder gets it.
  EXPECT_EQ(evenTargets({100, 9000, 7284}), (std::vector<int>{5461, 5462, 5461}));
  // A master exactly at the larger share keeps it rather than giving one slot.
  EXPECT_EQ(evenTargets({5462, 10922, 0}), (std::vector<int>{5462, 5461, 5461}));
}

TEST(PlanSlotTransfers, AssignsAnEmptyClusterInContiguousRangesInOrder) {
  std::vector<SlotAccount> accounts = {{{}, 5462}, {{}, 5461}, {{}, 5461}};
  auto transfers = planSlotTransfers(accounts, SlotSet::all());
  ASSERT_TRUE(transfers.isOk()) << transfers.status().toString();
  ASSERT_EQ(transfers->size(), 3u);
  EXPECT_EQ((*transfers)[0].from, kUncovered);
  EXPECT_EQ((*transfers)[0].slots.toString(), "0-5461");
  EXPECT_EQ((*transfers)[1].slots.toString(), "5462-10922");
  EXPECT_EQ((*transfers)[2].slots.toString(), "10923-16383");
  EXPECT_EQ(movedSlots(*transfers), 0);
}

TEST(PlanSlotTransfers, AddingAFourthMasterTakesOneRangeFromAnEndOfEachSource) {
  std::vector<SlotAccount> accounts = {{slotsOf("0-5461"), 4096},
                                       {slotsOf("5462-10922"), 4096},
                                       {slotsOf("10923-16383"), 4096},
                                       {{}, 4096}};
  auto transfers = planSlotTransfers(accounts, {});
  ASSERT_TRUE(transfers.isOk()) << transfers.status().toString();
  ASSERT_EQ(transfers->size(), 3u);
  EXPECT_EQ(movedSlots(*transfers), 4096);
  for (const auto& t : *transfers) {
    EXPECT_EQ(t.to, 3);
    EXPECT_EQ(t.slots.ranges().size(), 1u) << "source " << t.from << " gives one range";
    const SlotRange given = t.slots.ranges()[0];
    const SlotRange held = accounts[size_t(t.from)].slots.ranges()[0];
    EXPECT_TRUE(given.first == held.first || given.last == held.last) << "taken from an end";
  }
  // The first two gifts border each other, so the new master ends with two ranges, not three.
  SlotSet received;
  for (const auto& t : *transfers) received = received | t.slots;
  EXPECT_EQ(received.toString(), "4096-6826,10923-12287");
}

TEST(PlanSlotTransfers, DrainingAMasterExtendsTheNeighbourItBorders) {
  std::vector<SlotAccount> accounts = {{slotsOf("0-4095"), 5462},
                                       {slotsOf("4096-8191"), 5461},
                                       {slotsOf("8192-12287"), 5461},
                                       {slotsOf("12288-16383"), 0}};
  auto transfers = planSlotTransfers(accounts, {});
  ASSERT_TRUE(transfers.isOk()) << transfers.status().toString();
  EXPECT_EQ(movedSlots(*transfers), 4096);
  SlotSet uncovered;
  applyTransfers(accounts, uncovered, *transfers);
  EXPECT_TRUE(accounts[3].slots.empty());
  EXPECT_EQ(accounts[2].slots.toString(), "8192-13652");
}

TEST(PlanSlotTransfers, UnevenClusterMovesOnlyTheSurplusAlongTheBorder) {
  // A master holding 539 slots too many, next to one holding 539 too few: one border shift.
  std::vector<SlotAccount> accounts = {
      {slotsOf("0-6000"), 5462}, {slotsOf("6001-10922"), 5461}, {slotsOf("10923-16383"), 5461}};
  auto transfers = planSlotTransfers(accounts, {});
  ASSERT_TRUE(transfers.isOk()) << transfers.status().toString();
  ASSERT_EQ(transfers->size(), 1u);
  EXPECT_EQ((*transfers)[0].from, 0);
  EXPECT_EQ((*transfers)[0].to, 1);
  EXPECT_EQ((*transfers)[0].slots.toString(), "5462-6000");
}

TEST(PlanSlotTransfers, AccountsAtTheirTargetsNeedNothingHoweverFragmented) {
  std::vector<SlotAccount> accounts = {{slotsOf("0-100,5000-10360"), 5462},
                                       {slotsOf("101-4999,10361-10922"), 5461},
                                       {slotsOf("10923-16383"), 5461}};
  auto transfers = planSlotTransfers(accounts, {});
  ASSERT_TRUE(transfers.isOk()) << transfers.status().toString();
  EXPECT_TRUE(transfers->empty());
}

TEST(PlanSlotTransfers, RejectsInconsistentInputAsABug) {
  // Overlapping holders.
  auto overlap = planSlotTransfers({{slotsOf("0-16383"), 8192}, {slotsOf("0"), 8192}}, {});
  EXPECT_EQ(overlap.status().code(), StatusCode::kInternal);
  // Slots neither held nor uncovered.
  auto missing = planSlotTransfers({{slotsOf("0-100"), 16384}}, {});
  EXPECT_EQ(missing.status().code(), StatusCode::kInternal);
  // Targets that do not add up.
  auto targets = planSlotTransfers({{SlotSet::all(), 100}}, {});
  EXPECT_EQ(targets.status().code(), StatusCode::kInternal);
}

// A random distribution: `holders` accounts, the slot space cut into random ranges, each range
// given to a random holder or left uncovered; the first `masters` holders stay (even targets),
// the rest are drained.
struct RandomCase {
  std::vector<SlotAccount> accounts;
  SlotSet uncovered;
};

RandomCase randomCase(std::mt19937& rng) {
  const int holders = std::uniform_int_distribution<int>(3, 12)(rng);
  const int masters = std::uniform_int_distribution<int>(1, holders)(rng);
  const int pieces = std::uniform_int_distribution<int>(1, 80)(rng);
  const bool with_uncovered = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
  std::set<int> cuts;
  while (static_cast<int>(cuts.size()) < pieces - 1) {
    cuts.insert(std::uniform_int_distribution<int>(1, kSlotCount - 1)(rng));
  }
  cuts.insert(kSlotCount);
  RandomCase out;
  out.accounts.resize(static_cast<size_t>(holders));
  int first = 0;
  for (int end : cuts) {
    int owner = std::uniform_int_distribution<int>(with_uncovered ? -1 : 0, holders - 1)(rng);
    SlotSet& into = owner < 0 ? out.uncovered : out.accounts[size_t(owner)].slots;
    into.addRange({first, end - 1});
    first = end;
  }
  std::vector<int> counts;
  for (int i = 0; i < masters; ++i) counts.push_back(out.accounts[size_t(i)].slots.count());
  const std::vector<int> targets = evenTargets(counts);
  for (int i = 0; i < masters; ++i) out.accounts[size_t(i)].target = targets[size_t(i)];
  return out;
}

TEST(PlanSlotTransfers, RandomDistributionsReachTheEvenSplitMovingOnlyTheSurplus) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 400; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    RandomCase c = randomCase(rng);
    int surplus = 0;
    for (const auto& a : c.accounts) surplus += std::max(0, a.slots.count() - a.target);
    const int uncovered_count = c.uncovered.count();

    auto transfers = planSlotTransfers(c.accounts, c.uncovered);
    ASSERT_TRUE(transfers.isOk()) << transfers.status().toString();

    std::set<std::pair<int, int>> pairs;
    std::set<int> givers;
    std::set<int> receivers;
    SlotSet touched;
    int assigned = 0;
    for (const auto& t : *transfers) {
      EXPECT_TRUE(pairs.insert({t.from, t.to}).second) << "one transfer per pair";
      EXPECT_TRUE((touched & t.slots).empty()) << "no slot is handed out twice";
      touched = touched | t.slots;
      if (t.from == kUncovered) {
        assigned += t.slots.count();
      } else {
        givers.insert(t.from);
      }
      receivers.insert(t.to);
    }
    for (int g : givers) EXPECT_EQ(receivers.count(g), 0u) << "a receiver never gives";
    EXPECT_EQ(movedSlots(*transfers), surplus);
    EXPECT_EQ(assigned, uncovered_count);

    std::vector<SlotAccount> after = c.accounts;
    SlotSet uncovered = c.uncovered;
    applyTransfers(after, uncovered, *transfers);
    EXPECT_TRUE(uncovered.empty());
    for (const auto& a : after) EXPECT_EQ(a.slots.count(), a.target);
  }
}

TEST(PlanSlotTransfers, FragmentedSlotsStillBalance) {
  // Every slot on a random holder: thousands of one-slot ranges, one holder drained.
  std::mt19937 rng(7);
  std::vector<SlotAccount> accounts(4);
  for (int slot = 0; slot < kSlotCount; ++slot) {
    accounts[size_t(std::uniform_int_distribution<int>(0, 3)(rng))].slots.add(slot);
  }
  const std::vector<int> targets = evenTargets(
      {accounts[0].slots.count(), accounts[1].slots.count(), accounts[2].slots.count()});
  for (size_t i = 0; i < 3; ++i) accounts[i].target = targets[i];
  auto transfers = planSlotTransfers(accounts, {});
  ASSERT_TRUE(transfers.isOk()) << transfers.status().toString();
  SlotSet uncovered;
  applyTransfers(accounts, uncovered, *transfers);
  for (const auto& a : accounts) EXPECT_EQ(a.slots.count(), a.target);
}

}  // namespace
}  // namespace slotkeeper::topology
