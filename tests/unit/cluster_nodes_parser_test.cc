// parseClusterNodes against CLUSTER NODES output as Redis 7 prints it, and against malformed
// lines, each of which must come back as an error naming the line rather than a crash.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "redis/cluster_nodes.h"

namespace slotkeeper::redis {
namespace {

const std::string kMaster1 = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca";
const std::string kMaster2 = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1";
const std::string kMaster3 = "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f";

// Three masters and three replicas, seen from master 1, as redis-cli --cluster create leaves it.
const std::string kSixNodes =
    "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,redis-3 slave " + kMaster1 +
    " 0 1426238317239 4 connected\n" +  //
    kMaster2 + " 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922\n" +
    kMaster3 + " 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383\n" +
    "6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave " + kMaster2 +
    " 0 1426238316232 5 connected\n" +  //
    "824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@31006 slave " + kMaster3 +
    " 0 1426238317741 6 connected\n" +  //
    kMaster1 + " 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460\n";

const ClusterNodeEntry* findNode(const std::vector<ClusterNodeEntry>& nodes,
                                 const std::string& id) {
  for (const auto& node : nodes) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

TEST(ClusterNodesParser, ReadsMastersReplicasAndMyselfFromAHealthyCluster) {
  auto nodes = parseClusterNodes(kSixNodes);
  ASSERT_TRUE(nodes.isOk()) << nodes.status().toString();
  ASSERT_EQ(nodes->size(), 6u);

  const ClusterNodeEntry& replica = (*nodes)[0];
  EXPECT_EQ(replica.id, "07c37dfeb235213a872192d90877d0cd55635b91");
  EXPECT_EQ(replica.ip, "127.0.0.1");
  EXPECT_EQ(replica.port, 30004);
  EXPECT_EQ(replica.cport, 31004);
  EXPECT_EQ(replica.hostname, "redis-3");
  EXPECT_TRUE(replica.replica);
  EXPECT_FALSE(replica.master);
  EXPECT_FALSE(replica.myself);
  EXPECT_EQ(replica.master_id, kMaster1);
  EXPECT_EQ(replica.ping_sent, 0);
  EXPECT_EQ(replica.pong_recv, 1426238317239);
  EXPECT_EQ(replica.config_epoch, 4);
  EXPECT_TRUE(replica.connected);
  EXPECT_TRUE(replica.slots.empty());
  EXPECT_EQ(replica.address(), "127.0.0.1:30004");

  const ClusterNodeEntry* myself = findNode(*nodes, kMaster1);
  ASSERT_NE(myself, nullptr);
  EXPECT_TRUE(myself->myself);
  EXPECT_TRUE(myself->master);
  EXPECT_EQ(myself->master_id, "");
  EXPECT_EQ(myself->hostname, "");
  EXPECT_EQ(myself->slots, (std::vector<SlotRange>{{0, 5460}}));
  EXPECT_TRUE(myself->open_slots.empty());

  const ClusterNodeEntry* master3 = findNode(*nodes, kMaster3);
  ASSERT_NE(master3, nullptr);
  EXPECT_EQ(master3->slots, (std::vector<SlotRange>{{10923, 16383}}));
  EXPECT_EQ(master3->config_epoch, 3);
}

TEST(ClusterNodesParser, ReadsSingleSlotsRangesAndOpenSlotsOfAMigration) {
  // The source of a live move: it still owns 5461 while migrating it, and imports slot 100.
  const std::string text = kMaster1 +
                           " 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-99 101-5461 "
                           "16383 [5461->-" +
                           kMaster2 + "] [100-<-" + kMaster3 + "]\n";
  auto nodes = parseClusterNodes(text);
  ASSERT_TRUE(nodes.isOk()) << nodes.status().toString();
  ASSERT_EQ(nodes->size(), 1u);
  const ClusterNodeEntry& node = (*nodes)[0];
  EXPECT_EQ(node.slots, (std::vector<SlotRange>{{0, 99}, {101, 5461}, {16383, 16383}}));
  ASSERT_EQ(node.open_slots.size(), 2u);
  EXPECT_EQ(node.open_slots[0], (OpenSlot{5461, OpenSlot::Kind::kMigrating, kMaster2}));
  EXPECT_EQ(node.open_slots[1], (OpenSlot{100, OpenSlot::Kind::kImporting, kMaster3}));
}

TEST(ClusterNodesParser, ReadsFailureAndHandshakeStates) {
  const std::string text =
      kMaster2 + " 127.0.0.1:30002@31002 master,fail? - 1426238316232 1426238316000 2 connected " +
      "5461-10922\n" + kMaster3 +
      " 127.0.0.1:30003@31003 master,fail - 1426238316232 1426238316000 3 disconnected\n" +
      "c4fb3b5fa6a5f1c0d4ed45b8b8d2bcd3c9e1a2f0 127.0.0.1:30007@31007 handshake - 1426238319000 0 "
      "0 disconnected\n" +
      "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12 :0@0 master,fail,noaddr - 1426238316232 "
      "1426238316232 7 disconnected\n" +
      "0011223344556677889900112233445566778899 127.0.0.1:30008@31008 slave,nofailover " +
      kMaster2 + " 0 1426238317000 2 connected\n";
  auto nodes = parseClusterNodes(text);
  ASSERT_TRUE(nodes.isOk()) << nodes.status().toString();
  ASSERT_EQ(nodes->size(), 5u);

  EXPECT_TRUE((*nodes)[0].pfail);
  EXPECT_FALSE((*nodes)[0].fail);
  EXPECT_TRUE((*nodes)[0].connected);
  EXPECT_EQ((*nodes)[0].ping_sent, 1426238316232);

  EXPECT_TRUE((*nodes)[1].fail);
  EXPECT_FALSE((*nodes)[1].pfail);
  EXPECT_FALSE((*nodes)[1].connected);

  EXPECT_TRUE((*nodes)[2].handshake);
  EXPECT_FALSE((*nodes)[2].master);

  const ClusterNodeEntry& noaddr = (*nodes)[3];
  EXPECT_TRUE(noaddr.noaddr);
  EXPECT_TRUE(noaddr.fail);
  EXPECT_EQ(noaddr.ip, "");
  EXPECT_EQ(noaddr.port, 0);
  EXPECT_EQ(noaddr.cport, 0);

  EXPECT_TRUE((*nodes)[4].nofailover);
  EXPECT_TRUE((*nodes)[4].replica);
  EXPECT_EQ((*nodes)[4].master_id, kMaster2);
}

TEST(ClusterNodesParser, ReadsEveryAddressForm) {
  const std::string text =
      "aaaa000000000000000000000000000000000001 ::1:7000@17000 master - 0 0 1 connected 0-10\n"
      "aaaa000000000000000000000000000000000002 [fe80::2]:7001@17001 master - 0 0 2 connected\n"
      "aaaa000000000000000000000000000000000003 10.0.0.3:6379@16379,redis-0.redis master - 0 0 3 "
      "connected\n"
      "aaaa000000000000000000000000000000000004 10.0.0.4:6379@16379,,shard-id=abc master - 0 0 4 "
      "connected\n"
      "aaaa000000000000000000000000000000000005 10.0.0.5:6379@16379,node5,shard-id=abc master - 0 "
      "0 5 connected\n"
      "aaaa000000000000000000000000000000000006 10.0.0.6:6379 master - 0 0 6 connected\n";
  auto nodes = parseClusterNodes(text);
  ASSERT_TRUE(nodes.isOk()) << nodes.status().toString();
  ASSERT_EQ(nodes->size(), 6u);
  EXPECT_EQ((*nodes)[0].ip, "::1");
  EXPECT_EQ((*nodes)[0].port, 7000);
  EXPECT_EQ((*nodes)[0].cport, 17000);
  EXPECT_EQ((*nodes)[1].ip, "fe80::2");
  EXPECT_EQ((*nodes)[1].port, 7001);
  EXPECT_EQ((*nodes)[2].hostname, "redis-0.redis");
  EXPECT_EQ((*nodes)[2].ip, "10.0.0.3");
  EXPECT_EQ((*nodes)[3].hostname, "");  // Redis 7.2 aux fields with an empty hostname
  EXPECT_EQ((*nodes)[4].hostname, "node5");
  EXPECT_EQ((*nodes)[5].port, 6379);
  EXPECT_EQ((*nodes)[5].cport, 16379);  // pre-4.0 form: bus port is port + 10000
}

TEST(ClusterNodesParser, ToleratesEmptyLinesCarriageReturnsAndEmptyReplies) {
  auto empty = parseClusterNodes("");
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE(empty->empty());

  const std::string text =
      "\n" + kMaster1 + " 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-16383\r\n\n";
  auto nodes = parseClusterNodes(text);
  ASSERT_TRUE(nodes.isOk()) << nodes.status().toString();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].slots, (std::vector<SlotRange>{{0, 16383}}));
  EXPECT_TRUE((*nodes)[0].connected);
}

struct MalformedCase {
  const char* name;
  std::string text;
  std::string expected_in_message;
};

class ClusterNodesMalformed : public ::testing::TestWithParam<MalformedCase> {};

const std::string kGoodPrefix = kMaster1 + " 127.0.0.1:30001@31001 myself,master - 0 0 1 ";

std::vector<MalformedCase> malformedCases() {
  return {
      {"a line with only seven fields is rejected",
       kMaster1 + " 127.0.0.1:30001@31001 master - 0 0 1\n", "expected at least 8 fields"},
      {"a missing node id is rejected",
       "127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460\n", "bad node id"},
      {"a non numeric ping sent is rejected",
       kMaster1 + " 127.0.0.1:30001@31001 master - soon 0 1 connected\n", "ping-sent 'soon'"},
      {"a non numeric pong received is rejected",
       kMaster1 + " 127.0.0.1:30001@31001 master - 0 12x 1 connected\n", "pong-recv '12x'"},
      {"a negative config epoch is rejected",
       kMaster1 + " 127.0.0.1:30001@31001 master - 0 0 -1 connected\n", "config-epoch '-1'"},
      {"an unknown link state is rejected",
       kMaster1 + " 127.0.0.1:30001@31001 master - 0 0 1 linked\n", "link state 'linked'"},
      {"a slot above 16383 is rejected", kGoodPrefix + "connected 16384\n", "bad slot '16384'"},
      {"a slot range ending above 16383 is rejected", kGoodPrefix + "connected 0-16384\n",
       "bad slot '0-16384'"},
      {"a reversed slot range is rejected", kGoodPrefix + "connected 100-50\n",
       "reversed slot range '100-50'"},
      {"a slot range without an end is rejected", kGoodPrefix + "connected 5-\n", "bad slot '5-'"},
      {"a non numeric slot is rejected", kGoodPrefix + "connected five\n", "bad slot 'five'"},
      {"an address without a port is rejected", kMaster1 + " 127.0.0.1 master - 0 0 1 connected\n",
       "has no port"},
      {"a non numeric port is rejected",
       kMaster1 + " 127.0.0.1:http@31001 master - 0 0 1 connected\n", "bad port"},
      {"a port above 65535 is rejected",
       kMaster1 + " 127.0.0.1:70000@31001 master - 0 0 1 connected\n", "bad port"},
      {"a non numeric bus port is rejected",
       kMaster1 + " 127.0.0.1:7000@bus master - 0 0 1 connected\n", "bad bus port"},
      {"a master id that is not an id is rejected",
       kMaster1 + " 127.0.0.1:30001@31001 slave 127.0.0.1:30002 0 0 1 connected\n",
       "bad master id"},
      {"an open slot without a closing bracket is rejected",
       kGoodPrefix + "connected [5461->-" + kMaster2 + "\n", "bad open slot"},
      {"an open slot with an unknown arrow is rejected",
       kGoodPrefix + "connected [5461-?-" + kMaster2 + "]\n", "bad open slot"},
      {"an open slot beyond 16383 is rejected",
       kGoodPrefix + "connected [16384->-" + kMaster2 + "]\n", "bad slot in open slot"},
      {"an open slot without a peer is rejected", kGoodPrefix + "connected [5461->-]\n",
       "bad peer id"},
      {"a lone bracket is rejected", kGoodPrefix + "connected [\n", "bad open slot"},
  };
}

TEST_P(ClusterNodesMalformed, IsAnInternalErrorNamingTheLine) {
  const MalformedCase& c = GetParam();
  auto nodes = parseClusterNodes(c.text);
  ASSERT_FALSE(nodes.isOk()) << c.name;
  EXPECT_EQ(nodes.status().code(), StatusCode::kInternal);
  EXPECT_NE(nodes.status().message().find("CLUSTER NODES line 1"), std::string::npos)
      << nodes.status().message();
  EXPECT_NE(nodes.status().message().find(c.expected_in_message), std::string::npos)
      << nodes.status().message();
}

INSTANTIATE_TEST_SUITE_P(Table, ClusterNodesMalformed, ::testing::ValuesIn(malformedCases()),
                         [](const ::testing::TestParamInfo<MalformedCase>& info) {
                           std::string name;
                           for (const char* p = info.param.name; *p != '\0'; ++p) {
                             name += *p == ' ' ? '_' : *p;
                           }
                           return name;
                         });

TEST(ClusterNodesParser, ErrorNamesTheLineNumberOfTheBadLineAndQuotesIt) {
  const std::string text = kSixNodes + "\n" + kMaster1 + " 127.0.0.1:1@2 master - 0 0 x connected";
  auto nodes = parseClusterNodes(text);
  ASSERT_FALSE(nodes.isOk());
  // Six good lines, one empty line, then the bad one.
  EXPECT_NE(nodes.status().message().find("line 8"), std::string::npos) << nodes.status().message();
  EXPECT_NE(nodes.status().message().find("127.0.0.1:1@2 master"), std::string::npos)
      << nodes.status().message();
}

// Truncations and byte flips of a real reply must come back as a value (parsed or an error),
// never a crash or an exception; the ASan/UBSan build turns any overrun here into a failure.
TEST(ClusterNodesParser, SurvivesEveryTruncationAndRandomByteFlips) {
  const std::string text = kSixNodes + kMaster1 +
                           " ::1:7000@17000,host myself,master - 0 0 1 connected 0-5 [6->-" +
                           kMaster2 + "] [7-<-" + kMaster3 + "]\n";
  int parsed = 0;
  for (size_t length = 0; length <= text.size(); ++length) {
    parsed += parseClusterNodes(std::string_view(text).substr(0, length)).isOk() ? 1 : 0;
  }
  EXPECT_GT(parsed, 0);

  std::mt19937 random(12345);
  const std::string alphabet = " -:@,[]<>\n\r0123456789abcdef";
  for (int round = 0; round < 2000; ++round) {
    std::string mutated = text;
    for (int flips = 0; flips < 3; ++flips) {
      mutated[random() % mutated.size()] = alphabet[random() % alphabet.size()];
    }
    auto result = parseClusterNodes(mutated);
    if (!result.isOk()) {
      EXPECT_FALSE(result.status().message().empty());
    }
  }
}

}  // namespace
}  // namespace slotkeeper::redis
