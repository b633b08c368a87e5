#include <gtest/gtest.h>

#include "kube/events.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;

json redisCluster() {
  return json{
      {"apiVersion", "redis.slotkeeper.io/v1alpha1"},
      {"kind", "RedisCluster"},
      {"metadata",
       {{"name", "cache"}, {"namespace", "prod"}, {"uid", "1234-abcd"}, {"resourceVersion", "77"}}},
      {"spec", {{"masters", 3}}}};
}

TEST(ObjectReference, CopiesIdentityFieldsOnly) {
  json ref = objectReferenceFor(redisCluster());
  EXPECT_EQ(ref, (json{{"apiVersion", "redis.slotkeeper.io/v1alpha1"},
                       {"kind", "RedisCluster"},
                       {"namespace", "prod"},
                       {"name", "cache"},
                       {"uid", "1234-abcd"},
                       {"resourceVersion", "77"}}));
  EXPECT_EQ(objectReferenceFor(json{{"kind", "Node"}, {"metadata", {{"name", "n1"}}}}),
            (json{{"kind", "Node"}, {"name", "n1"}}));
}

TEST(MakeEvent, BuildsACoreV1EventInTheObjectsNamespace) {
  const auto now = std::chrono::system_clock::time_point{std::chrono::seconds(1700000000)};
  json event = makeEvent(redisCluster(), EventType::kWarning, "UnprotectedMaster",
                         "master 10.0.0.1 has no replica", "slotkeeper", "op-0", "cache.abc", now);
  EXPECT_EQ(event["apiVersion"], "v1");
  EXPECT_EQ(event["kind"], "Event");
  EXPECT_EQ(event["metadata"]["name"], "cache.abc");
  EXPECT_EQ(event["metadata"]["namespace"], "prod");
  EXPECT_EQ(event["involvedObject"]["uid"], "1234-abcd");
  EXPECT_EQ(event["reason"], "UnprotectedMaster");
  EXPECT_EQ(event["message"], "master 10.0.0.1 has no replica");
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["source"], (json{{"component", "slotkeeper"}, {"host", "op-0"}}));
  EXPECT_EQ(event["count"], 1);
  EXPECT_EQ(event["firstTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(event["lastTimestamp"], "2023-11-14T22:13:20Z");
}

TEST(MakeEvent, ClusterScopedObjectsGoToDefaultAndLongMessagesAreCut) {
  json node = {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}}}};
  json event = makeEvent(node, EventType::kNormal, "Registered", std::string(5000, 'x'), "agent",
                         "", "n1.1", std::chrono::system_clock::now());
  EXPECT_EQ(event["metadata"]["namespace"], "default");
  EXPECT_EQ(event["type"], "Normal");
  EXPECT_EQ(event["message"].get<std::string>().size(), 1024u);
  EXPECT_FALSE(event["source"].contains("host"));
}

TEST(EventDedupKey, SameEventSameKeyDifferentDetailsDifferentKeys) {
  const json rc = redisCluster();
  const std::string key = eventDedupKey(rc, EventType::kNormal, "Scaled", "3 -> 4");
  EXPECT_EQ(key, eventDedupKey(rc, EventType::kNormal, "Scaled", "3 -> 4"));
  EXPECT_NE(key, eventDedupKey(rc, EventType::kWarning, "Scaled", "3 -> 4"));
  EXPECT_NE(key, eventDedupKey(rc, EventType::kNormal, "Scaled", "4 -> 5"));
  EXPECT_NE(key, eventDedupKey(rc, EventType::kNormal, "Resized", "3 -> 4"));
  json recreated = rc;
  recreated["metadata"]["uid"] = "other-uid";
  EXPECT_NE(key, eventDedupKey(recreated, EventType::kNormal, "Scaled", "3 -> 4"));
}

}  // namespace
}  // namespace slotkeeper::kube
