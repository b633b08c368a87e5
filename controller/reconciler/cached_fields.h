// What the operator's caches keep of the pods and StatefulSets they watch. Every reconcile pass
// copies a cluster's pods and StatefulSets out of the cache and reads a handful of fields; the
// rest (container specs, probes, the pod template's spec) is never read, yet was kept, copied
// and compared on every pass. These transforms run on each object as it arrives (see
// kube::ReflectorOptions::transform) and keep exactly what the reconciler reads: podInfoFrom
// for pods; mergeStatefulSets, measureDrift and the TLS stage for StatefulSets. A reader of a
// field not kept here must add it here. Pure.
#pragma once

#include <nlohmann/json.hpp>

namespace slotkeeper::reconciler {

// Keeps metadata (without managedFields), spec.nodeName, the Secret volumes (name and Secret
// name) and the status fields podInfoFrom reads.
void keepPodFieldsTheReconcilerReads(nlohmann::json& pod);

// Keeps metadata (without managedFields), spec.replicas, the pod template's metadata and the
// status.
void keepStatefulSetFieldsTheReconcilerReads(nlohmann::json& statefulset);

}  // namespace slotkeeper::reconciler
