#include "cli/slot_table.h"

#include <gtest/gtest.h>

namespace slotkeeper::cli {
namespace {

topology::ObservedNode master(const std::string& address, const std::string& id, int first,
                              int last) {
  topology::ObservedNode n;
  n.address = address;
  n.id = id;
  n.reachable = true;
  n.slots = SlotSet::fromRanges({{first, last}});
  return n;
}

TEST(SlotTable, ShowsEachMasterShareBarRangesAndItsReplicaLink) {
  topology::ObservedCluster cluster;
  cluster.nodes.push_back(master("127.0.0.2:7000", "bbbbbbbbbbbb", 8192, 16383));
  cluster.nodes.push_back(master("127.0.0.1:7000", "aaaaaaaaaaaa", 0, 8191));
  topology::ObservedNode replica;
  replica.address = "127.0.0.3:7000";
  replica.id = "cccccccccccc";
  replica.reachable = true;
  replica.is_master = false;
  replica.master_id = "aaaaaaaaaaaa";
  cluster.nodes.push_back(replica);

  std::map<std::string, redis::ReplicationInfo> replication;
  replication["127.0.0.3:7000"].master_link_status = "up";
  auto& master_info = replication["127.0.0.1:7000"];
  master_info.master_repl_offset = 1500;
  master_info.replicas.push_back({"127.0.0.3", 7000, "online", 1000, 1});

  std::string table = renderSlotTable(cluster, replication);
  // Masters are listed in slot order, so 127.0.0.1 (slots 0-8191) comes first.
  EXPECT_LT(table.find("127.0.0.1:7000"), table.find("127.0.0.2:7000"));
  EXPECT_NE(table.find("aaaaaaaa   8192  50.00%  ################................  0-8191"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("replica 127.0.0.3:7000 (cccccccc)  link up  lag 1s  behind 500B"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("slots assigned 16384/16384, open slots 0, masters 2, replicas 1"),
            std::string::npos)
      << table;
}

}  // namespace
}  // namespace slotkeeper::cli
