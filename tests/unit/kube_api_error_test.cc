#include <gtest/gtest.h>

#include "kube/api_error.h"
#include "kube/resource.h"
#include "kube/timefmt.h"

namespace slotkeeper::kube {
namespace {

std::string statusBody(int code, const std::string& reason, const std::string& message,
                       const std::string& details = "{}") {
  return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" +
         message + R"(","reason":")" + reason + R"(","details":)" + details + R"(,"code":)" +
         std::to_string(code) + "}";
}

TEST(ApiError, ConflictAndAlreadyExistsAreDistinguishedByReason) {
  Status conflict = statusFromResponse(409, statusBody(409, "Conflict",
                                                       "Operation cannot be fulfilled on "
                                                       "leases.coordination.k8s.io \\\"x\\\": "
                                                       "the object has been modified"));
  EXPECT_EQ(conflict.code(), StatusCode::kConflict);
  EXPECT_NE(conflict.message().find("HTTP 409"), std::string::npos);
  EXPECT_NE(conflict.message().find("has been modified"), std::string::npos);

  Status exists =
      statusFromResponse(409, statusBody(409, "AlreadyExists", "pods \\\"p\\\" already exists"));
  EXPECT_EQ(exists.code(), StatusCode::kAlreadyExists);
}

TEST(ApiError, CommonCodesMapToSlotkeeperCodes) {
  EXPECT_EQ(statusFromResponse(404, statusBody(404, "NotFound", "nope")).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(statusFromResponse(410, statusBody(410, "Expired", "too old")).code(),
            StatusCode::kGone);
  EXPECT_EQ(statusFromResponse(400, statusBody(400, "BadRequest", "bad")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(statusFromResponse(401, statusBody(401, "Unauthorized", "who")).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(statusFromResponse(403, statusBody(403, "Forbidden", "no")).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(statusFromResponse(429, statusBody(429, "TooManyRequests", "slow")).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(statusFromResponse(500, statusBody(500, "InternalError", "oops")).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(statusFromResponse(503, "service unavailable").code(), StatusCode::kUnavailable);
  EXPECT_EQ(statusFromResponse(504, statusBody(504, "Timeout", "slow")).code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(statusFromResponse(415, statusBody(415, "UnsupportedMediaType", "x")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(statusFromApiError(ApiError{}).code(),
            StatusCode::kUnavailable);  // transport
}

TEST(ApiError, UnprocessableEntityCarriesFieldCauses) {
  const std::string details =
      R"({"name":"rc","group":"redis.slotkeeper.io","kind":"RedisCluster",
    "causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 1: spec.masters in body should be greater than or equal to 3","field":"spec.masters"},
              {"reason":"FieldValueRequired","message":"Required value","field":"spec.image"}]})";
  const std::string body =
      statusBody(422, "Invalid", "RedisCluster.redis.slotkeeper.io \\\"rc\\\" is invalid", details);
  ApiError error = parseApiError(422, body);
  EXPECT_EQ(error.http_status, 422);
  EXPECT_EQ(error.reason, "Invalid");
  ASSERT_EQ(error.causes.size(), 2u);
  EXPECT_EQ(error.causes[0].field, "spec.masters");
  EXPECT_EQ(error.causes[0].reason, "FieldValueInvalid");
  EXPECT_EQ(error.causes[1].field, "spec.image");

  Status status = statusFromApiError(error);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("field spec.masters: Invalid value: 1"), std::string::npos);
  EXPECT_NE(status.message().find("field spec.image: Required value"), std::string::npos);
}

TEST(ApiError, RetryAfterSecondsIsKept) {
  ApiError error =
      parseApiError(429, statusBody(429, "TooManyRequests", "later", R"({"retryAfterSeconds":3})"));
  EXPECT_EQ(error.retry_after_seconds, 3);
}

TEST(ApiError, NonJsonBodiesBecomeTheMessageWithADefaultReason) {
  ApiError error = parseApiError(502, "<html>bad gateway</html>");
  EXPECT_EQ(error.reason, "Unknown");
  EXPECT_EQ(error.message, "<html>bad gateway</html>");
  ApiError not_found = parseApiError(404, "404 page not found");
  EXPECT_EQ(not_found.reason, "NotFound");
  EXPECT_EQ(statusCodeForApiError(not_found), StatusCode::kNotFound);
  // JSON, but not a Status object.
  EXPECT_EQ(parseApiError(500, R"({"kind":"Pod"})").reason, "InternalError");
}

TEST(ApiError, StatusCodeInTheBodyWinsForWatchErrorEvents) {
  // Watch ERROR events arrive inside a 200 stream; the embedded code decides.
  ApiError error = parseApiError(0, statusBody(410, "Expired", "too old resource version"));
  EXPECT_EQ(error.http_status, 410);
  EXPECT_EQ(statusCodeForApiError(error), StatusCode::kGone);
}

TEST(ApiError, LastApiErrorIsPerThread) {
  setLastApiError(parseApiError(404, statusBody(404, "NotFound", "x")));
  EXPECT_EQ(lastApiError().http_status, 404);
  clearLastApiError();
  EXPECT_EQ(lastApiError().http_status, 0);
}

TEST(ResourceRef, CorePathsUseApiV1) {
  EXPECT_EQ(kPods.path(), "/api/v1/pods");
  EXPECT_EQ(kPods.in("ns").path(), "/api/v1/namespaces/ns/pods");
  EXPECT_EQ(kPods.in("ns").named("p").path(), "/api/v1/namespaces/ns/pods/p");
  EXPECT_EQ(kPods.in("ns").named("p").sub("status").path(), "/api/v1/namespaces/ns/pods/p/status");
  EXPECT_EQ(kNodes.named("n1").path(), "/api/v1/nodes/n1");
  // A namespace object is cluster-scoped even if `ns` is filled in by a generic
  // caller.
  EXPECT_EQ(kNamespaces.in("x").named("x").path(), "/api/v1/namespaces/x");
}

TEST(ResourceRef, GroupedAndCustomResourcePathsUseApis) {
  EXPECT_EQ(kStatefulSets.in("r").named("s").sub("scale").path(),
            "/apis/apps/v1/namespaces/r/statefulsets/s/scale");
  EXPECT_EQ(kLeases.in("kube-system").named("l").path(),
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l");
  EXPECT_EQ(kPodDisruptionBudgets.in("a").path(),
            "/apis/policy/v1/namespaces/a/poddisruptionbudgets");
  EXPECT_EQ(kRedisClusters.in("a").named("rc").sub("status").path(),
            "/apis/redis.slotkeeper.io/v1alpha1/namespaces/a/redisclusters/rc/"
            "status");
  EXPECT_EQ(kCustomResourceDefinitions.named("x.y.z").path(),
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y.z");
  EXPECT_EQ(kRedisClusters.apiVersion(), "redis.slotkeeper.io/v1alpha1");
  EXPECT_EQ(kPods.apiVersion(), "v1");
  EXPECT_EQ(kPods.in("a").named("b").sub("c").collection(), kPods.in("a"));
}

TEST(ResourceRef, QueryStringsAreEncoded) {
  ListOptions options;
  options.label_selector = "app=redis,tier in (a,b)";
  options.field_selector = "metadata.name=x";
  options.resource_version = "123";
  options.limit = 50;
  options.continue_token = "abc+/=";
  EXPECT_EQ(listQuery(options, false),
            "?labelSelector=app%3Dredis%2Ctier%20in%20%28a%2Cb%29"
            "&fieldSelector=metadata.name%3Dx&resourceVersion=123&limit=50"
            "&continue=abc%2B%2F%3D");
  ListOptions watch;
  watch.resource_version = "7";
  watch.timeout_seconds = 30;
  watch.allow_watch_bookmarks = true;
  EXPECT_EQ(listQuery(watch, true),
            "?watch=1&resourceVersion=7&timeoutSeconds=30&allowWatchBookmarks=true");
  EXPECT_EQ(listQuery(ListOptions{}, false), "");
  WriteOptions write;
  write.field_manager = "slotkeeper";
  write.force = true;
  EXPECT_EQ(writeQuery(write), "?fieldManager=slotkeeper&force=true");
}

TEST(TimeFormat, FormatsAndParsesRfc3339) {
  using namespace std::chrono;
  const system_clock::time_point t =
      system_clock::time_point{seconds(1700000000)} + microseconds(123456);
  EXPECT_EQ(formatTime(t), "2023-11-14T22:13:20Z");
  EXPECT_EQ(formatMicroTime(t), "2023-11-14T22:13:20.123456Z");
  auto back = parseTime("2023-11-14T22:13:20.123456Z");
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(*back, t);
  auto offset = parseTime("2023-11-14T23:13:20+01:00");
  ASSERT_TRUE(offset.isOk());
  EXPECT_EQ(*offset, system_clock::time_point{seconds(1700000000)});
  EXPECT_FALSE(parseTime("2023-11-14 22:13:20").isOk());
  EXPECT_FALSE(parseTime("2023-13-14T22:13:20Z").isOk());
  EXPECT_FALSE(parseTime("2023-11-14T22:13:20").isOk());
  EXPECT_FALSE(parseTime("").isOk());
}

}  // namespace
}  // namespace slotkeeper::kube
