// Kubeconfig parsing follows client-go's clientcmd: the current (or given) context names a cluster
// and a user; *-data fields are base64 PEM; file fields are relative to the kubeconfig's directory.
#include "operator/kube/kubeconfig.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "operator/kube/base64.h"
#include "operator/kube/yaml_json.h"

namespace kubecnn::kube {
namespace {

const nlohmann::json* FindNamed(const nlohmann::json& config, const char* list, const std::string& name) {
  if (!config.contains(list) || !config[list].is_array()) return nullptr;
  for (const nlohmann::json& entry : config[list]) {
    if (entry.is_object() && entry.value("name", "") == name) return &entry;
  }
  return nullptr;
}

std::string Resolve(const std::string& path, const std::string& kubeconfig_path) {
  if (path.empty() || path[0] == '/') return path;
  const size_t slash = kubeconfig_path.rfind('/');
  return slash == std::string::npos ? path : kubeconfig_path.substr(0, slash + 1) + path;
}

std::string Str(const nlohmann::json& object, const char* field) {
  return object.is_object() && object.contains(field) && object[field].is_string() ? object[field].get<std::string>()
                                                                                   : "";
}

// The PEM of `<field>-data` (base64) or of the file `<field>`.
std::string DataOrFile(const nlohmann::json& entry, const std::string& field, const std::string& kubeconfig_path,
                       const FileReader& read_file) {
  const std::string data = Str(entry, (field + "-data").c_str());
  if (!data.empty()) {
    const std::optional<std::string> decoded = Base64Decode(data);
    if (!decoded || decoded->empty()) {
      throw std::invalid_argument("kubeconfig " + kubeconfig_path + ": " + field +
                                  "-data is not valid base64 (it must be the base64 of a PEM block)");
    }
    return *decoded;
  }
  const std::string file = Str(entry, field.c_str());
  return file.empty() ? "" : read_file(Resolve(file, kubeconfig_path));
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + " (does it exist and is it readable by this user?)");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

RestConfig ParseKubeconfig(const std::string& yaml, const std::string& path, const std::string& context,
                           const FileReader& read_file) {
  nlohmann::json config;
  try {
    config = ParseYaml(yaml);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("kubeconfig " + path + ": " + e.what());
  }
  if (!config.is_object()) throw std::invalid_argument("kubeconfig " + path + ": not a YAML mapping");
  const std::string context_name = context.empty() ? Str(config, "current-context") : context;
  if (context_name.empty()) {
    throw std::invalid_argument(
        "kubeconfig " + path + ": no current-context is set (run `kubectl config use-context NAME` or pass a context)");
  }
  const nlohmann::json* ctx = FindNamed(config, "contexts", context_name);
  if (!ctx) throw std::invalid_argument("kubeconfig " + path + ": context \"" + context_name + "\" is not defined");
  const nlohmann::json context_body = ctx->value("context", nlohmann::json::object());
  const std::string cluster_name = Str(context_body, "cluster");
  const nlohmann::json* cluster = FindNamed(config, "clusters", cluster_name);
  if (!cluster) {
    throw std::invalid_argument("kubeconfig " + path + ": context \"" + context_name + "\" names cluster \"" +
                                cluster_name + "\", which is not defined under clusters");
  }
  const nlohmann::json cluster_body = cluster->value("cluster", nlohmann::json::object());
  RestConfig rc;
  rc.source = "kubeconfig " + path + ", context " + context_name;
  rc.server = Str(cluster_body, "server");
  if (rc.server.empty()) {
    throw std::invalid_argument("kubeconfig " + path + ": cluster \"" + cluster_name + "\" has no server URL");
  }
  while (!rc.server.empty() && rc.server.back() == '/') rc.server.pop_back();
  rc.insecure_skip_tls_verify = cluster_body.value("insecure-skip-tls-verify", false);
  rc.ca_pem = DataOrFile(cluster_body, "certificate-authority", path, read_file);
  if (!Str(context_body, "namespace").empty()) rc.default_namespace = Str(context_body, "namespace");

  const std::string user_name = Str(context_body, "user");
  if (!user_name.empty()) {
    const nlohmann::json* user = FindNamed(config, "users", user_name);
    if (!user) {
      throw std::invalid_argument("kubeconfig " + path + ": context \"" + context_name + "\" names user \"" +
                                  user_name + "\", which is not defined under users");
    }
    const nlohmann::json user_body = user->value("user", nlohmann::json::object());
    if (user_body.contains("exec") || user_body.contains("auth-provider")) {
      throw std::invalid_argument("kubeconfig " + path + ": user \"" + user_name +
                                  "\" uses an exec or auth-provider plugin, which kubecnn-operator does not run; "
                                  "give it a token, tokenFile or client certificate (or run it in-cluster)");
    }
    if (user_body.contains("username") || user_body.contains("password")) {
      throw std::invalid_argument("kubeconfig " + path + ": user \"" + user_name +
                                  "\" uses basic auth, which Kubernetes removed; use a token or client certificate");
    }
    rc.client_cert_pem = DataOrFile(user_body, "client-certificate", path, read_file);
    rc.client_key_pem = DataOrFile(user_body, "client-key", path, read_file);
    if (rc.client_cert_pem.empty() != rc.client_key_pem.empty()) {
      throw std::invalid_argument("kubeconfig " + path + ": user \"" + user_name +
                                  "\" has a client certificate without a key or a key without a certificate");
    }
    rc.bearer_token = Str(user_body, "token");
    if (!Str(user_body, "tokenFile").empty()) rc.token_file = Resolve(Str(user_body, "tokenFile"), path);
  }
  return rc;
}

RestConfig InClusterConfig(const std::string& service_host, const std::string& service_port,
                           const std::string& account_dir, const FileReader& read_file) {
  if (service_host.empty() || service_port.empty()) {
    throw std::runtime_error(
        "not running in a pod: KUBERNETES_SERVICE_HOST/PORT are unset (pass --kubeconfig or set "
        "KUBECONFIG to run outside the cluster)");
  }
  RestConfig rc;
  const bool ipv6 = service_host.find(':') != std::string::npos;
  rc.server = "https://" + (ipv6 ? "[" + service_host + "]" : service_host) + ":" + service_port;
  rc.token_file = account_dir + "/token";
  rc.ca_pem = read_file(account_dir + "/ca.crt");
  try {
    const std::string ns = Trim(read_file(account_dir + "/namespace"));
    if (!ns.empty()) rc.default_namespace = ns;
  } catch (const std::exception&) {
    // No namespace file: keep "default", as client-go does.
  }
  rc.source = "in-cluster service account (" + account_dir + ")";
  return rc;
}

ConfigChoice ChooseConfigSource(const std::string& flag, const std::string& env_kubeconfig, bool in_cluster,
                                const std::function<bool(const std::string&)>& exists) {
  if (!flag.empty()) return {ConfigSource::kFlag, flag};
  std::stringstream paths(env_kubeconfig);
  for (std::string p; std::getline(paths, p, ':');) {
    if (!p.empty() && exists(p)) return {ConfigSource::kEnvironment, p};
  }
  if (in_cluster) return {ConfigSource::kInCluster, ""};
  return {ConfigSource::kNone, ""};
}

RestConfig LoadRestConfig(const std::string& kubeconfig_flag, const std::string& context) {
  const char* env = std::getenv("KUBECONFIG");
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  const bool in_cluster = host && port && *host && *port;
  auto exists = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
  };
  const ConfigChoice choice = ChooseConfigSource(kubeconfig_flag, env ? env : "", in_cluster, exists);
  switch (choice.source) {
    case ConfigSource::kFlag:
    case ConfigSource::kEnvironment:
      return ParseKubeconfig(ReadWholeFile(choice.path), choice.path, context, ReadWholeFile);
    case ConfigSource::kInCluster:
      return InClusterConfig(host, port, "/var/run/secrets/kubernetes.io/serviceaccount", ReadWholeFile);
    case ConfigSource::kNone: break;
  }
  throw std::runtime_error(
      "no Kubernetes configuration: pass --kubeconfig=PATH, set KUBECONFIG, or run in a pod "
      "with a service account" +
      std::string(env && *env ? " (KUBECONFIG=" + std::string(env) + " names no existing file)" : ""));
}

TokenSource::TokenSource(std::string fixed_token, std::string token_file, std::chrono::seconds max_age)
    : fixed_(std::move(fixed_token)), file_(std::move(token_file)), max_age_(max_age) {}

std::string TokenSource::Token() {
  if (file_.empty()) return fixed_;
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st;
  if (::stat(file_.c_str(), &st) != 0) {
    if (!cached_.empty()) return cached_;  // briefly missing during an atomic swap: keep the last one
    throw std::runtime_error("bearer token file " + file_ +
                             " is missing (is the service-account token mounted? check automountServiceAccountToken)");
  }
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  const auto now = std::chrono::steady_clock::now();
  if (mtime != mtime_ns_ || st.st_size != size_ || now - read_at_ >= max_age_) {
    cached_ = Trim(ReadWholeFile(file_));
    mtime_ns_ = mtime;
    size_ = st.st_size;
    read_at_ = now;
  }
  return cached_;
}

void TokenSource::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  mtime_ns_ = -1;
}

}  // namespace kubecnn::kube
