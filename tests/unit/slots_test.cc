#include "topology/slots.h"

#include <gtest/gtest.h>

namespace slotkeeper {
namespace {

TEST(SlotSet, RangesMergeAdjacentSlotsAndSplitAtGaps) {
  SlotSet set = SlotSet::fromRanges({{0, 9}, {10, 20}, {30, 30}});
  EXPECT_EQ(set.count(), 22);
  ASSERT_EQ(set.ranges().size(), 2u);
  EXPECT_EQ(set.ranges()[0], (SlotRange{0, 20}));
  EXPECT_EQ(set.toString(), "0-20,30");
}

TEST(SlotSet, ParseSlotListRoundTripsAndRejectsBadInput) {
  auto parsed = parseSlotList("0-5460,5462,16383");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().toString();
  EXPECT_EQ(parsed->toString(), "0-5460,5462,16383");
  EXPECT_FALSE(parseSlotList("16384").isOk());
  EXPECT_FALSE(parseSlotList("10-2").isOk());
  EXPECT_FALSE(parseSlotList("a-b").isOk());
}

TEST(Status, ResultCarriesValueOrErrorAndRetryClassFollowsCode) {
  Result<int> good = 5;
  Result<int> bad = conflict("resourceVersion changed");
  EXPECT_TRUE(good.isOk());
  EXPECT_EQ(*good, 5);
  EXPECT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::kConflict);
  EXPECT_EQ(retryClassFor(StatusCode::kConflict), RetryClass::kImmediate);
  EXPECT_EQ(retryClassFor(StatusCode::kUnavailable), RetryClass::kBackoff);
  EXPECT_EQ(retryClassFor(StatusCode::kFailedPrecondition), RetryClass::kWaitForChange);
}

}  // namespace
}  // namespace slotkeeper
