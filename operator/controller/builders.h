// Builders of a TrainingJob's children other than pods: the headless Service, the hostfile
// ConfigMap, the SSH Secret and the gang scheduler's PodGroup. Each takes every input as an
// argument and returns the object to create.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "operator/api/defaults.h"
#include "operator/controller/ssh_keys.h"
#include "operator/kube/resource.h"

namespace kubecnn::controller {

// Headless (clusterIP None), selecting the workers, publishNotReadyAddresses so each worker's
// hostname resolves as soon as it has an IP, before its readiness probe passes.
nlohmann::json HeadlessService(const api::JobMeta& job);

// OpenMPI's hostfile: one "<worker host> slots=<slotsPerWorker>" line per worker, in rank order.
std::string Hostfile(const api::DefaultedJob& job);
// The sshd configuration of the workers (non-root, port 2222, keys from the job's Secret).
std::string SshdConfig();
// ConfigMap with keys "hostfile" and "sshd_config".
nlohmann::json HostfileConfigMap(const api::DefaultedJob& job);

// kubernetes.io/ssh-auth Secret: ssh-privatekey, ssh-publickey and authorized_keys (base64 data).
nlohmann::json SshSecret(const api::JobMeta& job, const SshKeyPair& keys);

// The PodGroup API for the job's gang scheduler (Volcano or scheduler-plugins); only for those gangs.
const kube::Resource& PodGroupResource(api::Gang gang);
// minMember counts the workers only: the launcher is created after they run and is not a member,
// so the group can be satisfied without it (a group that counted the launcher would wait forever).
nlohmann::json PodGroup(const api::DefaultedJob& job);

// Metadata every child starts from: name, namespace, JobLabels, the controller reference.
nlohmann::json ChildMetadata(const api::JobMeta& job, const std::string& name);

}  // namespace kubecnn::controller
