#include "redis/key_slot.h"

#include <gtest/gtest.h>

namespace slotkeeper::redis {
namespace {

TEST(KeySlot, Crc16MatchesTheClusterSpecCheckValue) {
  // The Redis Cluster specification gives 0x31C3 for "123456789".
  EXPECT_EQ(crc16Xmodem("123456789"), 0x31C3);
}

TEST(KeySlot, KnownKeysLandInTheirKnownSlots) {
  EXPECT_EQ(keyHashSlot("foo"), 12182);
  EXPECT_EQ(keyHashSlot("bar"), 5061);
  EXPECT_EQ(keyHashSlot(""), 0);
}

TEST(KeySlot, HashTagsHashOnlyTheTag) {
  EXPECT_EQ(keyHashSlot("{user1000}.following"), keyHashSlot("user1000"));
  EXPECT_EQ(keyHashSlot("{user1000}.followers"), keyHashSlot("{user1000}.following"));
  // An empty tag "{}" does not count: the whole key is hashed.
  EXPECT_EQ(keyHashSlot("foo{}{bar}"), keyHashSlot("foo{}{bar}"));
  EXPECT_NE(keyHashSlot("foo{}{bar}"), keyHashSlot("bar"));
  // Only the first '{' starts a tag.
  EXPECT_EQ(keyHashSlot("foo{{bar}}zap"), keyHashSlot("{bar"));
}

}  // namespace
}  // namespace slotkeeper::redis
