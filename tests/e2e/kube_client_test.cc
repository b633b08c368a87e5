// End-to-end tests of controller/kube against a real kube-apiserver started by
// tests/k8s/up.sh (see support/control_plane.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "e2e/support/control_plane.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/leader_election.h"
#include "kube/reflector.h"
#include "kube/watch.h"

namespace slotkeeper::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const ResourceRef kWidgets = resourceOf("e2e.slotkeeper.io", "v1", "widgets");

// Polls `done` every 100ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, milliseconds timeout = seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return done();
}

std::string randomSuffix() {
  static std::mt19937 rng(std::random_device{}());
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 6; ++i) out += kChars[rng() % (sizeof(kChars) - 1)];
  return out;
}

json widgetCrd() {
  const json schema = {
      {"type", "object"},
      {"properties",
       {{"spec",
         {{"type", "object"},
          {"required", {"size"}},
          {"properties",
           {{"size", {{"type", "integer"}, {"minimum", 1}}},
            {"color", {{"type", "string"}, {"enum", {"red", "green", "blue"}}}}}}}},
        {"status",
         {{"type", "object"},
          {"properties", {{"size", {{"type", "integer"}}}, {"phase", {{"type", "string"}}}}}}}}}};
  return json{
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "widgets.e2e.slotkeeper.io"}}},
      {"spec",
       {{"group", "e2e.slotkeeper.io"},
        {"scope", "Namespaced"},
        {"names",
         {{"plural", "widgets"},
          {"singular", "widget"},
          {"kind", "Widget"},
          {"listKind", "WidgetList"}}},
        {"versions",
         {{{"name", "v1"},
           {"served", true},
           {"storage", true},
           {"subresources",
            {{"status", json::object()},
             {"scale",
              {{"specReplicasPath", ".spec.size"}, {"statusReplicasPath", ".status.size"}}}}},
           {"schema", {{"openAPIV3Schema", schema}}}}}}}}};
}

bool crdEstablished(const json& crd) {
  if (!crd.contains("status") || !crd["status"].contains("conditions")) return false;
  for (const json& condition : crd["status"]["conditions"]) {
    if (condition.value("type", "") == "Established" && condition.value("status", "") == "True") {
      return true;
    }
  }
  return false;
}

json widget(const std::string& ns, const std::string& name, int size,
            json labels = json::object()) {
  return json{{"apiVersion", "e2e.slotkeeper.io/v1"},
              {"kind", "Widget"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
              {"spec", {{"size", size}, {"color", "red"}}}};
}

// Each test gets a client, the Widget CRD (created once, shared), and its own namespace.
class KubeE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    SK_REQUIRE_CONTROL_PLANE();
    auto client = e2e::ControlPlane::instance().newClient();
    ASSERT_TRUE(client.isOk()) << client.status().toString();
    client_ = std::move(*client);
    ASSERT_NO_FATAL_FAILURE(ensureWidgetCrd());
    ns_ = "sk-e2e-" + randomSuffix();
    auto created = client_->create(
        kNamespaces,
        json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns_}}}});
    ASSERT_TRUE(created.isOk()) << created.status().toString();
  }

  void TearDown() override {
    if (client_ == nullptr || ns_.empty()) return;
    // Best effort: the namespace controller cleans up the contents.
    (void)client_->remove(kNamespaces.named(ns_));
  }

  void ensureWidgetCrd() {
    auto created = client_->create(kCustomResourceDefinitions, widgetCrd());
    if (!created.isOk()) {
      ASSERT_EQ(created.status().code(), StatusCode::kAlreadyExists) << created.status().toString();
    }
    ASSERT_TRUE(eventually([&] {
      auto crd = client_->get(kCustomResourceDefinitions.named("widgets.e2e.slotkeeper.io"));
      return crd.isOk() && crdEstablished(*crd);
    })) << "CRD never became Established";
    // Established means the API is served; discovery of the new group can lag a moment.
    ASSERT_TRUE(eventually([&] { return client_->list(kWidgets.in("default")).isOk(); }));
  }

  std::unique_ptr<KubeClient> client_;
  std::string ns_;
};

TEST_F(KubeE2E, CustomResourceCrudWithStatusAndScaleSubresources) {
  auto created = client_->create(kWidgets.in(ns_), widget(ns_, "w1", 2, {{"app", "e2e"}}));
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EXPECT_FALSE(objectUid(*created).empty());
  ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, "w2", 1)).isOk());

  auto fetched = client_->get(kWidgets.in(ns_).named("w1"));
  ASSERT_TRUE(fetched.isOk()) << fetched.status().toString();
  EXPECT_EQ((*fetched)["spec"]["size"], 2);

  ListOptions by_label;
  by_label.label_selector = "app=e2e";
  auto listed = client_->list(kWidgets.in(ns_), by_label);
  ASSERT_TRUE(listed.isOk()) << listed.status().toString();
  ASSERT_EQ((*listed)["items"].size(), 1u);
  EXPECT_EQ(objectName((*listed)["items"][0]), "w1");
  ListOptions by_field;
  by_field.field_selector = "metadata.name=w2";
  auto by_name = client_->list(kWidgets.in(ns_), by_field);
  ASSERT_TRUE(by_name.isOk()) << by_name.status().toString();
  ASSERT_EQ((*by_name)["items"].size(), 1u);

  // PUT the whole object.
  json changed = *fetched;
  changed["spec"]["size"] = 3;
  auto updated = client_->update(kWidgets.in(ns_), changed);
  ASSERT_TRUE(updated.isOk()) << updated.status().toString();
  EXPECT_EQ((*updated)["spec"]["size"], 3);
  EXPECT_NE(objectResourceVersion(*updated), objectResourceVersion(*fetched));

  // Merge patch.
  auto patched = client_->patch(kWidgets.in(ns_).named("w1"), PatchType::kMerge,
                                json{{"spec", {{"color", "blue"}}}});
  ASSERT_TRUE(patched.isOk()) << patched.status().toString();
  EXPECT_EQ((*patched)["spec"]["color"], "blue");
  EXPECT_EQ((*patched)["spec"]["size"], 3);

  // With a status subresource the main resource ignores status and /status ignores spec.
  json with_status = *patched;
  with_status["status"] = {{"phase", "Ready"}, {"size", 3}};
  auto main_write = client_->update(kWidgets.in(ns_), with_status);
  ASSERT_TRUE(main_write.isOk()) << main_write.status().toString();
  EXPECT_FALSE(main_write->contains("status"));
  with_status["metadata"]["resourceVersion"] = objectResourceVersion(*main_write);
  with_status["spec"]["size"] = 99;
  auto status_write = client_->updateStatus(kWidgets.in(ns_), with_status);
  ASSERT_TRUE(status_write.isOk()) << status_write.status().toString();
  EXPECT_EQ((*status_write)["status"]["phase"], "Ready");
  EXPECT_EQ((*status_write)["spec"]["size"], 3);

  // Scale subresource maps onto .spec.size.
  auto scale = client_->getScale(kWidgets.in(ns_).named("w1"));
  ASSERT_TRUE(scale.isOk()) << scale.status().toString();
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["spec"]["replicas"], 3);
  auto scaled = client_->setScale(kWidgets.in(ns_).named("w1"), 5);
  ASSERT_TRUE(scaled.isOk()) << scaled.status().toString();
  auto after_scale = client_->get(kWidgets.in(ns_).named("w1"));
  ASSERT_TRUE(after_scale.isOk());
  EXPECT_EQ((*after_scale)["spec"]["size"], 5);

  // Delete, with a precondition that does not hold first.
  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "not-the-uid";
  auto refused = client_->remove(kWidgets.in(ns_).named("w1"), wrong_uid);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kConflict) << refused.status().toString();
  DeleteOptions options;
  // Background, not Foreground: a fresh cluster's garbage collector may not know the new CRD
  // for ~30s, and the foreground finalizer would wait for it.
  options.propagation_policy = "Background";
  options.grace_period_seconds = 0;
  options.precondition_uid = objectUid(*created);
  ASSERT_TRUE(client_->remove(kWidgets.in(ns_).named("w1"), options).isOk());
  EXPECT_TRUE(eventually([&] {
    return client_->get(kWidgets.in(ns_).named("w1")).status().code() == StatusCode::kNotFound;
  }));
  auto gone = client_->get(kWidgets.in(ns_).named("w1"));
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(lastApiError().http_status, 404);
  EXPECT_EQ(lastApiError().reason, "NotFound");
}

TEST_F(KubeE2E, StaleResourceVersionIsConflictAndDuplicateCreateIsAlreadyExists) {
  auto created = client_->create(kWidgets.in(ns_), widget(ns_, "w", 1));
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  json first = *created;
  first["spec"]["size"] = 2;
  ASSERT_TRUE(client_->update(kWidgets.in(ns_), first).isOk());
  json stale = *created;  // still carries the original resourceVersion
  stale["spec"]["size"] = 3;
  auto conflict = client_->update(kWidgets.in(ns_), stale);
  ASSERT_FALSE(conflict.isOk());
  EXPECT_EQ(conflict.status().code(), StatusCode::kConflict) << conflict.status().toString();
  EXPECT_EQ(lastApiError().http_status, 409);
  EXPECT_EQ(lastApiError().reason, "Conflict");

  auto duplicate = client_->create(kWidgets.in(ns_), widget(ns_, "w", 1));
  ASSERT_FALSE(duplicate.isOk());
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists) << duplicate.status().toString();
  EXPECT_EQ(lastApiError().reason, "AlreadyExists");
}

TEST_F(KubeE2E, InvalidObjectIsInvalidArgumentWithFieldCauses) {
  json bad = widget(ns_, "bad", 0);
  bad["spec"]["color"] = "purple";
  auto refused = client_->create(kWidgets.in(ns_), bad);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("spec.size"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("spec.color"), std::string::npos)
      << refused.status().message();
  const ApiError& error = lastApiError();
  EXPECT_EQ(error.http_status, 422);
  EXPECT_EQ(error.reason, "Invalid");
  ASSERT_GE(error.causes.size(), 2u);
  bool saw_size = false;
  for (const StatusCause& cause : error.causes) saw_size |= cause.field == "spec.size";
  EXPECT_TRUE(saw_size);

  // A body that is not even JSON is a 400.
  auto garbage = client_->request("POST", kWidgets.in(ns_).path(), "{not json", "application/json");
  ASSERT_TRUE(garbage.isOk()) << garbage.status().toString();
  EXPECT_EQ(garbage->status, 400);
  EXPECT_EQ(statusFromResponse(garbage->status, garbage->body).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(KubeE2E, ServerSideApplyStrategicMergeAndPagedLists) {
  const json config_map = {
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata", {{"name", "conf"}, {"namespace", ns_}, {"labels", {{"set", "a"}}}}},
      {"data", {{"redis.conf", "maxmemory 1mb"}}}};
  auto applied = client_->apply(kConfigMaps.in(ns_), config_map, "slotkeeper-e2e");
  ASSERT_TRUE(applied.isOk()) << applied.status().toString();
  EXPECT_EQ((*applied)["data"]["redis.conf"], "maxmemory 1mb");
  bool managed = false;
  for (const json& entry : (*applied)["metadata"]["managedFields"]) {
    managed |=
        entry.value("manager", "") == "slotkeeper-e2e" && entry.value("operation", "") == "Apply";
  }
  EXPECT_TRUE(managed);
  // Re-apply is idempotent; a changed intent updates in place.
  json changed = config_map;
  changed["data"]["redis.conf"] = "maxmemory 2mb";
  auto reapplied = client_->apply(kConfigMaps.in(ns_), changed, "slotkeeper-e2e");
  ASSERT_TRUE(reapplied.isOk()) << reapplied.status().toString();
  EXPECT_EQ((*reapplied)["data"]["redis.conf"], "maxmemory 2mb");

  auto strategic = client_->patch(kConfigMaps.in(ns_).named("conf"), PatchType::kStrategicMerge,
                                  json{{"data", {{"extra", "1"}}}});
  ASSERT_TRUE(strategic.isOk()) << strategic.status().toString();
  EXPECT_EQ((*strategic)["data"].size(), 2u);
  auto json_patch = client_->patch(kConfigMaps.in(ns_).named("conf"), PatchType::kJson,
                                   json::array({{{"op", "remove"}, {"path", "/data/extra"}}}));
  ASSERT_TRUE(json_patch.isOk()) << json_patch.status().toString();
  EXPECT_EQ((*json_patch)["data"].size(), 1u);

  for (int i = 0; i < 7; ++i) {
    json cm = {
        {"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata", {{"name", "page-" + std::to_string(i)}, {"labels", {{"set", "paged"}}}}}};
    ASSERT_TRUE(client_->create(kConfigMaps.in(ns_), cm).isOk());
  }
  ListOptions page;
  page.label_selector = "set=paged";
  page.limit = 3;
  auto first_page = client_->list(kConfigMaps.in(ns_), page);
  ASSERT_TRUE(first_page.isOk());
  EXPECT_EQ((*first_page)["items"].size(), 3u);
  EXPECT_FALSE((*first_page)["metadata"].value("continue", "").empty());
  auto all = client_->listAll(kConfigMaps.in(ns_), page);
  ASSERT_TRUE(all.isOk()) << all.status().toString();
  EXPECT_EQ((*all)["items"].size(), 7u);
  EXPECT_FALSE(objectResourceVersion(*all).empty());
}

TEST_F(KubeE2E, EveryRequestAndWatchIsReportedWithItsStatus) {
  std::mutex mu;
  std::vector<std::string> seen;
  KubeClient::Options options;
  options.on_request = [&](std::string_view verb, int status) {
    std::lock_guard lock(mu);
    seen.push_back(std::string(verb) + " " + std::to_string(status));
  };
  auto client = e2e::ControlPlane::instance().newClient(options);
  ASSERT_TRUE(client.isOk()) << client.status().toString();
  ASSERT_TRUE((*client)->create(kWidgets.in(ns_), widget(ns_, "w", 1)).isOk());
  EXPECT_EQ((*client)->get(kWidgets.in(ns_).named("absent")).status().code(),
            StatusCode::kNotFound);
  WatchOptions watch_options;
  watch_options.resource_version = "1";  // expired: the stream opens and reports Gone
  watch_options.timeout = seconds(10);
  Watch watch(**client, kWidgets.in(ns_), watch_options);
  EXPECT_EQ(watch.run([](const WatchEvent&) { return true; }).code(), StatusCode::kGone);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"POST 201", "GET 404", "WATCH 200"}));
}

TEST_F(KubeE2E, WatchFromAnExpiredResourceVersionIsGone) {
  ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, "w", 1)).isOk());
  WatchOptions options;
  options.resource_version = "1";  // long before the API server's watch cache window
  options.timeout = seconds(10);
  Watch watch(*client_, kWidgets.in(ns_), options);
  int events = 0;
  Status result = watch.run([&](const WatchEvent&) {
    ++events;
    return true;
  });
  EXPECT_EQ(result.code(), StatusCode::kGone) << result.toString();
  EXPECT_EQ(events, 0);
}

TEST_F(KubeE2E, WatchDeliversEventsAndStopsWhenAsked) {
  auto listed = client_->list(kWidgets.in(ns_));
  ASSERT_TRUE(listed.isOk());
  WatchOptions options;
  options.resource_version = objectResourceVersion(*listed);
  options.timeout = seconds(60);
  Watch watch(*client_, kWidgets.in(ns_), options);
  std::vector<WatchEventType> seen;
  std::mutex mu;
  std::thread runner([&] {
    Status result = watch.run([&](const WatchEvent& event) {
      std::lock_guard lock(mu);
      seen.push_back(event.type);
      return true;
    });
    EXPECT_EQ(result.code(), StatusCode::kAborted) << result.toString();
  });
  ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, "w", 1)).isOk());
  ASSERT_TRUE(
      client_->patch(kWidgets.in(ns_).named("w"), PatchType::kMerge, json{{"spec", {{"size", 2}}}})
          .isOk());
  ASSERT_TRUE(client_->remove(kWidgets.in(ns_).named("w")).isOk());
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() >= 3;
  }));
  const auto stop_started = std::chrono::steady_clock::now();
  watch.stop();
  runner.join();
  // Stopping closes the connection instead of waiting for the 60s server timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, seconds(5));
  std::lock_guard lock(mu);
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen[0], WatchEventType::kAdded);
  EXPECT_EQ(seen[1], WatchEventType::kModified);
  EXPECT_EQ(seen[2], WatchEventType::kDeleted);
}

struct HandlerLog {
  std::mutex mu;
  std::map<std::string, int> adds, updates, deletes;
  ResourceEventHandlers handlers() {
    ResourceEventHandlers h;
    h.on_add = [this](const json& o) {
      std::lock_guard lock(mu);
      adds[objectKey(o)]++;
    };
    h.on_update = [this](const json&, const json& o) {
      std::lock_guard lock(mu);
      updates[objectKey(o)]++;
    };
    h.on_delete = [this](const json& o) {
      std::lock_guard lock(mu);
      deletes[objectKey(o)]++;
    };
    return h;
  }
  int count(std::map<std::string, int>& m, const std::string& key) {
    std::lock_guard lock(mu);
    return m[key];
  }
};

TEST_F(KubeE2E, ReflectorResumesWatchesThatTheServerCloses) {
  ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, "before", 1)).isOk());
  HandlerLog log;
  ReflectorOptions options;
  options.watch_timeout = seconds(2);  // the server ends every watch after 2s
  options.backoff_max = milliseconds(1000);
  Reflector reflector(*client_, kWidgets.in(ns_), options, log.handlers());
  reflector.start();
  ASSERT_TRUE(reflector.waitForSync(seconds(20)));
  EXPECT_EQ(log.count(log.adds, ns_ + "/before"), 1);

  // Writes spread over several watch lifetimes: each write is seen by a watch, and the next one
  // is made only after the server has closed that watch and the reflector has opened another.
  for (int i = 0; i < 3; ++i) {
    const std::string name = "w" + std::to_string(i);
    ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, name, 1)).isOk());
    ASSERT_TRUE(eventually([&] { return log.count(log.adds, ns_ + "/" + name) == 1; }))
        << "no add for " << name;
    const uint64_t watch_that_saw_it = reflector.watchCount();
    ASSERT_TRUE(eventually([&] { return reflector.watchCount() > watch_that_saw_it; }))
        << "the watch was not resumed after " << name;
  }
  ASSERT_TRUE(
      client_->patch(kWidgets.in(ns_).named("w0"), PatchType::kMerge, json{{"spec", {{"size", 4}}}})
          .isOk());
  ASSERT_TRUE(client_->remove(kWidgets.in(ns_).named("before")).isOk());
  EXPECT_TRUE(eventually([&] {
    auto w0 = reflector.store().get(ns_, "w0");
    // Handlers run right after the store changes; wait for the last one too.
    return reflector.store().size() == 3 && w0 && (*w0)["spec"]["size"] == 4 &&
           log.count(log.deletes, ns_ + "/before") == 1;
  })) << "store has "
      << reflector.store().size() << " objects";
  EXPECT_GE(reflector.watchCount(), 4u);
  EXPECT_EQ(reflector.listCount(), 1u);  // resumed by resourceVersion, never relisted
  EXPECT_EQ(reflector.goneCount(), 0u);
  EXPECT_EQ(log.count(log.adds, ns_ + "/w2"), 1);
  EXPECT_EQ(log.count(log.updates, ns_ + "/w0"), 1);
  EXPECT_EQ(log.count(log.deletes, ns_ + "/before"), 1);
  reflector.stop();
}

TEST_F(KubeE2E, ReflectorTransformDropsManagedFieldsFromListedAndWatchedObjects) {
  ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, "listed", 1)).isOk());
  auto direct = client_->get(kWidgets.in(ns_).named("listed"));
  ASSERT_TRUE(direct.isOk());
  ASSERT_TRUE((*direct)["metadata"].contains("managedFields"))
      << "the API server records managedFields; without them this test proves nothing";
  std::mutex mu;
  std::vector<json> handed;  // what the handlers were given
  ResourceEventHandlers handlers;
  handlers.on_add = [&](const json& o) {
    std::lock_guard lock(mu);
    handed.push_back(o);
  };
  handlers.on_update = [&](const json&, const json& o) {
    std::lock_guard lock(mu);
    handed.push_back(o);
  };
  ReflectorOptions options;
  options.transform = dropManagedFields;
  Reflector reflector(*client_, kWidgets.in(ns_), options, handlers);
  reflector.start();
  ASSERT_TRUE(reflector.waitForSync(seconds(20)));
  ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, "watched", 1)).isOk());
  ASSERT_TRUE(client_
                  ->patch(kWidgets.in(ns_).named("listed"), PatchType::kMerge,
                          json{{"spec", {{"size", 3}}}})
                  .isOk());
  ASSERT_TRUE(eventually([&] {
    auto listed = reflector.store().get(ns_, "listed");
    return reflector.store().get(ns_, "watched").has_value() && listed &&
           (*listed)["spec"]["size"] == 3;
  }));
  for (const char* name : {"listed", "watched"}) {
    auto stored = reflector.store().get(ns_, name);
    ASSERT_TRUE(stored.has_value()) << name;
    EXPECT_FALSE((*stored)["metadata"].contains("managedFields")) << name;
    EXPECT_EQ((*stored)["metadata"].value("name", ""), name) << "the rest is kept";
  }
  std::lock_guard lock(mu);
  EXPECT_GE(handed.size(), 3u) << "add of each, update of the patched one";
  for (const auto& o : handed) EXPECT_FALSE(o["metadata"].contains("managedFields"));
  reflector.stop();
}

TEST_F(KubeE2E, ReflectorRelistsAfterGoneWhenTheApiServerRestarts) {
  auto& plane = e2e::ControlPlane::instance();
  if (plane.runDir().empty()) GTEST_SKIP() << "needs a control plane this process can restart";
  ASSERT_TRUE(client_->create(kWidgets.in(ns_), widget(ns_, "a", 1)).isOk());
  HandlerLog log;
  ReflectorOptions options;
  options.watch_timeout = seconds(300);
  options.backoff_max = milliseconds(1000);
  Reflector reflector(*client_, kWidgets.in(ns_), options, log.handlers());
  reflector.start();
  ASSERT_TRUE(reflector.waitForSync(seconds(20)));
  const std::string rv_before = reflector.lastResourceVersion();

  // Writes elsewhere move etcd's revision past the reflector's resourceVersion; the restarted
  // API server's watch cache starts after them, so resuming from rv_before is "too old".
  ASSERT_TRUE(client_
                  ->create(kConfigMaps.in(ns_), json{{"apiVersion", "v1"},
                                                     {"kind", "ConfigMap"},
                                                     {"metadata", {{"name", "bump"}}}})
                  .isOk());
  Status restarted = plane.restart();
  ASSERT_TRUE(restarted.isOk()) << restarted.toString();

  EXPECT_TRUE(eventually([&] { return reflector.goneCount() >= 1; }, seconds(60)))
      << "watch never reported 410 Gone; rv_before=" << rv_before;
  EXPECT_TRUE(eventually([&] { return reflector.listCount() >= 2; }, seconds(30)));
  // After the relist the watch continues from the new list.
  ASSERT_TRUE(
      eventually([&] { return client_->create(kWidgets.in(ns_), widget(ns_, "b", 1)).isOk(); }));
  EXPECT_TRUE(eventually([&] { return reflector.store().get(ns_, "b").has_value(); }));
  EXPECT_EQ(reflector.store().size(), 2u);
  // The relist found "a" unchanged: no spurious add or update for it.
  EXPECT_EQ(log.count(log.adds, ns_ + "/a"), 1);
  EXPECT_EQ(log.count(log.updates, ns_ + "/a"), 0);
  reflector.stop();
}

TEST_F(KubeE2E, LeaderElectionHandsOverOnReleaseAndOnExpiry) {
  auto second_client = e2e::ControlPlane::instance().newClient();
  ASSERT_TRUE(second_client.isOk());
  RealClock clock;
  const auto make_config = [&](const std::string& identity, bool release) {
    LeaderElectionConfig config;
    config.lease_namespace = ns_;
    config.lease_name = "slotkeeper-leader";
    config.identity = identity;
    config.lease_duration = seconds(4);
    config.renew_deadline = seconds(3);
    config.retry_period = seconds(1);
    config.release_on_cancel = release;
    return config;
  };
  struct Flags {
    std::atomic<bool> started{false}, stopped{false}, work_stopped{false};
  };
  const auto callbacks = [](Flags& flags) {
    LeaderCallbacks cb;
    cb.on_started_leading = [&flags](std::stop_token stop) {
      flags.started = true;
      while (!stop.stop_requested()) std::this_thread::sleep_for(milliseconds(20));
      flags.work_stopped = true;
    };
    cb.on_stopped_leading = [&flags] { flags.stopped = true; };
    return cb;
  };

  Flags a_flags, b_flags, c_flags;
  LeaderElector a(*client_, make_config("candidate-a", /*release=*/true), callbacks(a_flags),
                  clock);
  LeaderElector b(**second_client, make_config("candidate-b", /*release=*/false),
                  callbacks(b_flags), clock);
  std::jthread a_thread([&](std::stop_token stop) { a.run(stop); });
  ASSERT_TRUE(eventually([&] { return a_flags.started.load(); }));
  EXPECT_TRUE(a.isLeader());
  std::jthread b_thread([&](std::stop_token stop) { b.run(stop); });
  // B waits for well over a lease duration while A keeps renewing.
  std::this_thread::sleep_for(seconds(6));
  EXPECT_FALSE(b_flags.started.load());
  EXPECT_EQ(b.observedLeader(), "candidate-a");

  // A stops and releases: B takes over without waiting out the lease.
  const auto released_at = std::chrono::steady_clock::now();
  a_thread.request_stop();
  a_thread.join();
  EXPECT_TRUE(a_flags.work_stopped.load());
  EXPECT_TRUE(a_flags.stopped.load());
  ASSERT_TRUE(eventually([&] { return b_flags.started.load(); }, seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - released_at, seconds(4));
  auto lease = client_->get(kLeases.in(ns_).named("slotkeeper-leader"));
  ASSERT_TRUE(lease.isOk());
  LeaseRecord record = leaseRecordFromLease(*lease);
  EXPECT_EQ(record.holder_identity, "candidate-b");
  EXPECT_EQ(record.lease_transitions, 1);

  // B stops without releasing (as if it crashed): C must wait for the lease to expire.
  LeaderElector c(*client_, make_config("candidate-c", true), callbacks(c_flags), clock);
  std::jthread c_thread([&](std::stop_token stop) { c.run(stop); });
  // C has read the Lease and found B holding it; B still renews, so C must not lead.
  ASSERT_TRUE(eventually([&] { return c.observedLeader() == "candidate-b"; }, seconds(10)))
      << "C observed '" << c.observedLeader() << "'";
  EXPECT_FALSE(c_flags.started.load());
  const auto abandoned_at = std::chrono::steady_clock::now();
  b_thread.request_stop();
  b_thread.join();
  ASSERT_TRUE(eventually([&] { return c_flags.started.load(); }, seconds(20)));
  EXPECT_GE(std::chrono::steady_clock::now() - abandoned_at, seconds(3));
  lease = client_->get(kLeases.in(ns_).named("slotkeeper-leader"));
  ASSERT_TRUE(lease.isOk());
  EXPECT_EQ(leaseRecordFromLease(*lease).holder_identity, "candidate-c");
  EXPECT_EQ(leaseRecordFromLease(*lease).lease_transitions, 2);
  c_thread.request_stop();
  c_thread.join();
  lease = client_->get(kLeases.in(ns_).named("slotkeeper-leader"));
  ASSERT_TRUE(lease.isOk());
  EXPECT_EQ(leaseRecordFromLease(*lease).holder_identity, "");  // released on stop
}

TEST_F(KubeE2E, EventsAreRecordedAndRepeatsAreCounted) {
  auto target = client_->create(kWidgets.in(ns_), widget(ns_, "w", 1));
  ASSERT_TRUE(target.isOk());
  RealClock clock;
  EventRecorder recorder(*client_, "slotkeeper-e2e", clock, "test-host");
  ASSERT_TRUE(recorder.warning(*target, "UnprotectedMaster", "master has no replica").isOk());
  ASSERT_TRUE(recorder.warning(*target, "UnprotectedMaster", "master has no replica").isOk());
  ASSERT_TRUE(recorder.warning(*target, "UnprotectedMaster", "master has no replica").isOk());
  Status normal = recorder.normal(*target, "Scaled", "size 1 -> 2");
  ASSERT_TRUE(normal.isOk()) << normal.toString();

  ListOptions options;
  options.field_selector = "involvedObject.name=w,involvedObject.kind=Widget";
  auto events = client_->list(kEvents.in(ns_), options);
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  ASSERT_EQ((*events)["items"].size(), 2u);
  std::map<std::string, json> by_reason;
  for (const json& event : (*events)["items"]) by_reason[event["reason"]] = event;
  const json& warning = by_reason["UnprotectedMaster"];
  EXPECT_EQ(warning["type"], "Warning");
  EXPECT_EQ(warning["count"], 3);
  EXPECT_EQ(warning["message"], "master has no replica");
  EXPECT_EQ(warning["source"]["component"], "slotkeeper-e2e");
  EXPECT_EQ(warning["involvedObject"]["uid"], objectUid(*target));
  EXPECT_EQ(by_reason["Scaled"]["count"], 1);
  EXPECT_EQ(by_reason["Scaled"]["type"], "Normal");
}

TEST_F(KubeE2E, CoreAndAppsResourcesAndTransportErrors) {
  const json deployment = {
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", "d"}, {"namespace", ns_}}},
      {"spec",
       {{"replicas", 1},
        {"selector", {{"matchLabels", {{"app", "d"}}}}},
        {"template",
         {{"metadata", {{"labels", {{"app", "d"}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "redis:7.2"}}}}}}}}}}};
  ASSERT_TRUE(client_->create(kDeployments.in(ns_), deployment).isOk());
  auto scaled = client_->setScale(kDeployments.in(ns_).named("d"), 3);
  ASSERT_TRUE(scaled.isOk()) << scaled.status().toString();
  auto fetched = client_->get(kDeployments.in(ns_).named("d"));
  ASSERT_TRUE(fetched.isOk());
  EXPECT_EQ((*fetched)["spec"]["replicas"], 3);
  // Strategic merge on a list keyed by name (containers): only the image changes.
  auto patched = client_->patch(
      kDeployments.in(ns_).named("d"), PatchType::kStrategicMerge,
      json{{"spec",
            {{"template",
              {{"spec", {{"containers", {{{"name", "c"}, {"image", "redis:7.4"}}}}}}}}}}});
  ASSERT_TRUE(patched.isOk()) << patched.status().toString();
  EXPECT_EQ((*patched)["spec"]["template"]["spec"]["containers"].size(), 1u);
  EXPECT_EQ((*patched)["spec"]["template"]["spec"]["containers"][0]["image"], "redis:7.4");

  // Nothing listens on this loopback port: a transport error is kUnavailable.
  auto config = e2e::ControlPlane::instance().config();
  ASSERT_TRUE(config.isOk());
  config->server = "https://127.0.0.1:1";
  auto dead = KubeClient::create(*config);
  ASSERT_TRUE(dead.isOk());
  auto unreachable = (*dead)->get(kNamespaces.named("default"));
  EXPECT_EQ(unreachable.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(lastApiError().http_status, 0);

  // No client certificate: anonymous requests are refused.
  config = e2e::ControlPlane::instance().config();
  config->client_cert_pem.clear();
  config->client_key_pem.clear();
  auto anonymous = KubeClient::create(*config);
  ASSERT_TRUE(anonymous.isOk());
  auto refused = (*anonymous)->get(kNamespaces.named("default"));
  ASSERT_FALSE(refused.isOk());
  const StatusCode code = refused.status().code();
  EXPECT_TRUE(code == StatusCode::kUnauthenticated || code == StatusCode::kPermissionDenied)
      << refused.status().toString();

  // A wrong CA fails TLS verification instead of talking to an unverified server.
  config = e2e::ControlPlane::instance().config();
  config->ca_pem = config->client_cert_pem;  // a certificate, but not the server's CA
  auto untrusted = KubeClient::create(*config);
  ASSERT_TRUE(untrusted.isOk());
  EXPECT_EQ((*untrusted)->get(kNamespaces.named("default")).status().code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace slotkeeper::kube
