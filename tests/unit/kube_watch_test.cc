#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kube/client.h"
#include "kube/store.h"
#include "kube/watch.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;

TEST(WatchEvent, ParsesEveryEventType) {
  const std::vector<std::pair<std::string, WatchEventType>> cases = {
      {"ADDED", WatchEventType::kAdded},     {"MODIFIED", WatchEventType::kModified},
      {"DELETED", WatchEventType::kDeleted}, {"BOOKMARK", WatchEventType::kBookmark},
      {"ERROR", WatchEventType::kError},
  };
  for (const auto& [name, type] : cases) {
    auto event = parseWatchEvent(R"({"type":")" + name +
                                 R"(","object":{"metadata":{"name":"a","resourceVersion":"9"}}})");
    ASSERT_TRUE(event.isOk()) << name << ": " << event.status().toString();
    EXPECT_EQ(event->type, type);
    EXPECT_EQ(watchEventTypeName(event->type), name);
    EXPECT_EQ(objectResourceVersion(event->object), "9");
  }
}

TEST(WatchEvent, MalformedLinesAreInternalErrorsNotExceptions) {
  EXPECT_EQ(parseWatchEvent("not json").status().code(), StatusCode::kInternal);
  EXPECT_FALSE(parseWatchEvent("[1,2]").isOk());
  EXPECT_FALSE(parseWatchEvent(R"({"object":{}})").isOk());
  EXPECT_FALSE(parseWatchEvent(R"({"type":"ADDED"})").isOk());
  EXPECT_FALSE(parseWatchEvent(R"({"type":"RENAMED","object":{}})").isOk());
  EXPECT_FALSE(parseWatchEvent(R"({"type":7,"object":{}})").isOk());
}

TEST(WatchEvent, ErrorEventWith410IsGone) {
  auto event = parseWatchEvent(
      R"x({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)x"
      R"x("message":"too old resource version: 1 (4321)","reason":"Expired","code":410}})x");
  ASSERT_TRUE(event.isOk());
  Status status = statusFromErrorEvent(*event);
  EXPECT_EQ(status.code(), StatusCode::kGone);
  EXPECT_NE(status.message().find("too old resource version"), std::string::npos);
}

TEST(WatchEvent, ErrorEventWithoutCodeIsUnavailable) {
  auto event = parseWatchEvent(R"({"type":"ERROR","object":{"kind":"Status","message":"?"}})");
  ASSERT_TRUE(event.isOk());
  EXPECT_EQ(statusFromErrorEvent(*event).code(), StatusCode::kUnavailable);
}

std::vector<std::string> feedAll(LineSplitter& splitter, const std::vector<std::string>& chunks) {
  std::vector<std::string> lines;
  for (const std::string& chunk : chunks) {
    splitter.feed(chunk, [&](std::string_view line) {
      lines.emplace_back(line);
      return true;
    });
  }
  return lines;
}

TEST(LineSplitter, ReassemblesLinesAcrossChunkBoundaries) {
  LineSplitter splitter;
  auto lines = feedAll(splitter, {"{\"a\":", "1}\n{\"b\"", ":2}\n\n{\"c\":3}\r\n{\"d\""});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"a\":1}");
  EXPECT_EQ(lines[1], "{\"b\":2}");
  EXPECT_EQ(lines[2], "{\"c\":3}");
  EXPECT_EQ(splitter.pendingBytes(), 4u);  // {"d"
  lines = feedAll(splitter, {":4}\n"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "{\"d\":4}");
  EXPECT_EQ(splitter.pendingBytes(), 0u);
}

TEST(LineSplitter, StopsWhenTheHandlerSaysSo) {
  LineSplitter splitter;
  int seen = 0;
  const bool more = splitter.feed("a\nb\nc\n", [&](std::string_view) { return ++seen < 2; });
  EXPECT_FALSE(more);
  EXPECT_EQ(seen, 2);
}

json object(const std::string& ns, const std::string& name, const std::string& rv,
            json labels = json::object()) {
  json metadata = {{"name", name}, {"resourceVersion", rv}, {"labels", labels}};
  if (!ns.empty()) metadata["namespace"] = ns;
  return json{{"metadata", metadata}};
}

TEST(ObjectKey, NamespaceSlashNameOrNameAlone) {
  EXPECT_EQ(objectKey(object("ns", "a", "1")), "ns/a");
  EXPECT_EQ(objectKey(object("", "node-1", "1")), "node-1");
  EXPECT_EQ(objectKey(json::array()), "");  // never throws
  std::string ns, name;
  splitObjectKey("ns/a", &ns, &name);
  EXPECT_EQ(ns, "ns");
  EXPECT_EQ(name, "a");
  splitObjectKey("node-1", &ns, &name);
  EXPECT_EQ(ns, "");
  EXPECT_EQ(name, "node-1");
}

TEST(Store, UpsertRemoveAndLookups) {
  Store store;
  EXPECT_FALSE(store.upsert(object("a", "x", "1")).has_value());
  EXPECT_FALSE(store.upsert(object("a", "y", "2", {{"app", "redis"}})).has_value());
  EXPECT_FALSE(store.upsert(object("b", "x", "3", {{"app", "redis"}, {"t", "1"}})).has_value());
  auto previous = store.upsert(object("a", "x", "4"));
  ASSERT_TRUE(previous.has_value());
  EXPECT_EQ(objectResourceVersion(*previous), "1");
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(objectResourceVersion(*store.get("a", "x")), "4");
  EXPECT_EQ(store.listNamespace("a").size(), 2u);
  EXPECT_EQ(store.listNamespace("ab").size(), 0u);
  EXPECT_EQ(store.listByLabels({{"app", "redis"}}).size(), 2u);
  EXPECT_EQ(store.listByLabels({{"app", "redis"}, {"t", "1"}}).size(), 1u);
  EXPECT_EQ(store.listByLabels({{"app", "redi"}}).size(), 0u);
  EXPECT_EQ(store.listByLabels({}).size(), 3u) << "no selector: every object, labels or not";
  EXPECT_EQ(store.listNamespaceByLabels("a", {{"app", "redis"}}).size(), 1u);
  EXPECT_EQ(store.listNamespaceByLabels("b", {{"app", "redis"}}).size(), 1u);
  EXPECT_EQ(store.listNamespaceByLabels("a", {}).size(), 2u);
  EXPECT_EQ(store.listNamespaceByLabels("ab", {{"app", "redis"}}).size(), 0u);
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"a/x", "a/y", "b/x"}));
  EXPECT_TRUE(store.remove("a/y").has_value());
  EXPECT_FALSE(store.remove("a/y").has_value());
  EXPECT_FALSE(store.get("a/y").has_value());
}

TEST(Store, LabelSelectionSkipsObjectsWithoutLabelsOrWithNonStringValues) {
  Store store;
  store.upsert(json{{"metadata", {{"namespace", "a"}, {"name", "bare"}}}});
  store.upsert(json{{"metadata", {{"namespace", "a"}, {"name", "odd"}, {"labels", {{"app", 1}}}}}});
  store.upsert(object("a", "good", "1", {{"app", "1"}}));
  auto found = store.listByLabels({{"app", "1"}});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["metadata"]["name"], "good");
}

TEST(Store, ReplaceAllReturnsThePreviousContents) {
  Store store;
  store.upsert(object("a", "x", "1"));
  std::map<std::string, json> fresh = {{"a/z", object("a", "z", "5")}};
  auto previous = store.replaceAll(fresh);
  EXPECT_EQ(previous.size(), 1u);
  EXPECT_TRUE(previous.count("a/x"));
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"a/z"}));
}

}  // namespace
}  // namespace slotkeeper::kube
