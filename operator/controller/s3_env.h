// What the worker and launcher pods need to reach spec.storage.s3, under the names kubecnn-trainer
// reads (the AWS tools' own): endpoint and region as values, the credentials as references into the
// user's Secret (the operator never reads it, so no value passes through it or any object it
// writes), the CA bundle as a read-only mount; and which names mpirun forwards to the ranks, which
// sshd starts without the container's environment.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "operator/api/defaults.h"

namespace kubecnn::controller {

inline constexpr const char* kEnvAccessKeyId = "AWS_ACCESS_KEY_ID";
inline constexpr const char* kEnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY";
inline constexpr const char* kEnvSessionToken = "AWS_SESSION_TOKEN";
inline constexpr const char* kEnvRegion = "AWS_REGION";
inline constexpr const char* kEnvEndpoint = "AWS_ENDPOINT_URL_S3";
inline constexpr const char* kEnvCaBundle = "AWS_CA_BUNDLE";
// The launcher script adds `-x NAME` to mpirun for each name listed here that is set in its environment.
inline constexpr const char* kEnvForwardIfSet = "KUBECNN_FORWARD_IF_SET";
inline constexpr const char* kS3CaDir = "/etc/kubecnn/s3-ca";
inline constexpr const char* kS3CaFile = "/etc/kubecnn/s3-ca/ca.crt";

// The containers' env entries (core/v1 EnvVar): AWS_ENDPOINT_URL_S3, AWS_REGION and AWS_CA_BUNDLE as
// values when configured; AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional: true)
// AWS_SESSION_TOKEN from the credentials Secret by secretKeyRef. Empty without spec.storage.s3.
nlohmann::json S3Env(const api::DefaultedSpec& spec);

// Adds storage.s3.caBundle's ConfigMap key as a volume of `pod_spec` and its mount at kS3CaFile
// to `container`; nothing without a CA bundle.
void AddS3CaBundle(const api::DefaultedSpec& spec, nlohmann::json& pod_spec, nlohmann::json& container);

// What mpirun forwards with `-x NAME` from the argv: every name S3Env always sets.
std::vector<std::string> S3ForwardedEnv(const api::DefaultedSpec& spec);

// Names S3Env may leave unset (a Secret without AWS_SESSION_TOKEN): mpirun would warn on `-x` of
// an unset one, so the launcher script forwards each only when it is set (kEnvForwardIfSet).
std::vector<std::string> S3OptionalEnv(const api::DefaultedSpec& spec);

}  // namespace kubecnn::controller
