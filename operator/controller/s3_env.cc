// Environment, CA mount and mpirun forwarding for spec.storage.s3.
#include "operator/controller/s3_env.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;

json SecretEnv(const std::string& name, const std::string& secret, bool optional) {
  json ref = {{"name", secret}, {"key", name}};
  if (optional) ref["optional"] = true;
  return {{"name", name}, {"valueFrom", {{"secretKeyRef", ref}}}};
}

}  // namespace

json S3Env(const api::DefaultedSpec& spec) {
  json env = json::array();
  if (!spec.s3) return env;
  const api::DefaultedS3Storage& s3 = *spec.s3;
  if (s3.endpoint) env.push_back({{"name", kEnvEndpoint}, {"value", *s3.endpoint}});
  if (s3.region) env.push_back({{"name", kEnvRegion}, {"value", *s3.region}});
  if (s3.ca_bundle) env.push_back({{"name", kEnvCaBundle}, {"value", kS3CaFile}});
  env.push_back(SecretEnv(kEnvAccessKeyId, s3.credentials_secret, false));
  env.push_back(SecretEnv(kEnvSecretAccessKey, s3.credentials_secret, false));
  env.push_back(SecretEnv(kEnvSessionToken, s3.credentials_secret, true));
  return env;
}

void AddS3CaBundle(const api::DefaultedSpec& spec, json& pod_spec, json& container) {
  if (!spec.s3 || !spec.s3->ca_bundle) return;
  const api::DefaultedCaBundle& ca = *spec.s3->ca_bundle;
  pod_spec["volumes"].push_back(
      {{"name", "s3-ca"},
       {"configMap", {{"name", ca.config_map}, {"items", {{{"key", ca.key}, {"path", "ca.crt"}}}}}}});
  container["volumeMounts"].push_back({{"name", "s3-ca"}, {"mountPath", kS3CaDir}, {"readOnly", true}});
}

std::vector<std::string> S3ForwardedEnv(const api::DefaultedSpec& spec) {
  std::vector<std::string> names;
  if (!spec.s3) return names;
  if (spec.s3->endpoint) names.push_back(kEnvEndpoint);
  if (spec.s3->region) names.push_back(kEnvRegion);
  if (spec.s3->ca_bundle) names.push_back(kEnvCaBundle);
  names.push_back(kEnvAccessKeyId);
  names.push_back(kEnvSecretAccessKey);
  return names;
}

std::vector<std::string> S3OptionalEnv(const api::DefaultedSpec& spec) {
  if (!spec.s3) return {};
  return {kEnvSessionToken};
}

}  // namespace kubecnn::controller
