// Kubeconfig parsing follows client-go's clientcmd: the current (or given) context names a cluster
// and a user; *-data fields are base64 PEM; file fields are relative to the kubeconfig's directory.
#include "operator/kube/kubeconfig.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "operator/kube/base64.h"
#include "operator/kube/yaml_json.h"

namespace kubecnn::kube {
namespace {

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

// A named entry of clusters, users or contexts (its `cluster`/`user`/`context` body) and the file
// that defined it.
struct NamedEntry {
  nlohmann::json body;
  std::string origin;
};

struct MergedKubeconfig {
  std::map<std::string, NamedEntry> clusters, users, contexts;
  std::string current_context;
  std::string where;  // the files, colon-separated, for messages
};

MergedKubeconfig Merge(const std::vector<KubeconfigFile>& files) {
  MergedKubeconfig merged;
  for (const KubeconfigFile& file : files) {
    merged.where += (merged.where.empty() ? "" : ":") + file.path;
    nlohmann::json config;
    try {
      config = ParseYaml(file.yaml);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("kubeconfig " + file.path + ": " + e.what());
    }
    if (config.is_null()) continue;  // an empty file, as kubectl allows
    if (!config.is_object()) throw std::invalid_argument("kubeconfig " + file.path + ": not a YAML mapping");
    if (merged.current_context.empty()) merged.current_context = Str(config, "current-context");
    const auto take = [&](const char* list, const char* body, std::map<std::string, NamedEntry>& into) {
      if (!config.contains(list) || !config[list].is_array()) return;
      for (const nlohmann::json& entry : config[list]) {
        const std::string name = Str(entry, "name");
        if (name.empty() || into.count(name)) continue;  // the first file to name it wins, whole
        into[name] = {entry.contains(body) ? entry[body] : nlohmann::json::object(), file.path};
      }
    };
    take("clusters", "cluster", merged.clusters);
    take("users", "user", merged.users);
    take("contexts", "context", merged.contexts);
  }
  return merged;
}

// A user's `exec` block, as client-go's ExecConfig.
ExecConfig ExecOf(const nlohmann::json& exec, const std::string& user_name, const std::string& file,
                  const RestConfig& cluster) {
  const std::string where = "kubeconfig " + file + ": user \"" + user_name + "\": exec";
  if (!exec.is_object()) throw std::invalid_argument(where + " is not a mapping");
  ExecConfig out;
  out.user = user_name;
  out.api_version = Str(exec, "apiVersion");
  if (out.api_version != "client.authentication.k8s.io/v1" &&
      out.api_version != "client.authentication.k8s.io/v1beta1") {
    throw std::invalid_argument(where + ".apiVersion \"" + out.api_version +
                                "\" is not supported; use client.authentication.k8s.io/v1 or /v1beta1 (v1alpha1 was "
                                "removed in Kubernetes 1.24)");
  }
  out.command = Str(exec, "command");
  if (out.command.empty()) throw std::invalid_argument(where + " has no command");
  // As client-go: a command with a '/' is relative to the kubeconfig's folder; a bare name is looked up on PATH.
  if (out.command.find('/') != std::string::npos) out.command = Resolve(out.command, file);
  if (exec.contains("args") && exec["args"].is_array()) {
    for (const nlohmann::json& arg : exec["args"]) {
      if (!arg.is_string()) throw std::invalid_argument(where + ".args holds a value that is not a string");
      out.args.push_back(arg.get<std::string>());
    }
  }
  if (exec.contains("env") && exec["env"].is_array()) {
    for (const nlohmann::json& var : exec["env"]) {
      if (Str(var, "name").empty()) throw std::invalid_argument(where + ".env has an entry without a name");
      out.env.push_back({Str(var, "name"), Str(var, "value")});
    }
  }
  out.install_hint = Str(exec, "installHint");
  if (Str(exec, "interactiveMode") == "Always") {
    throw std::invalid_argument(where +
                                ".interactiveMode is Always, but the plugin would get no terminal here; "
                                "set it to IfAvailable or Never and log in beforehand");
  }
  out.provide_cluster_info = exec.contains("provideClusterInfo") && exec["provideClusterInfo"].is_boolean() &&
                             exec["provideClusterInfo"].get<bool>();
  out.cluster_server = cluster.server;
  out.cluster_ca_pem = cluster.ca_pem;
  out.cluster_insecure_skip_tls_verify = cluster.insecure_skip_tls_verify;
  return out;
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
  return ParseKubeconfigs({{path, yaml}}, context, read_file);
}

RestConfig ParseKubeconfigs(const std::vector<KubeconfigFile>& files, const std::string& context,
                            const FileReader& read_file) {
  const MergedKubeconfig config = Merge(files);
  const std::string& where = config.where;
  const std::string context_name = context.empty() ? config.current_context : context;
  if (context_name.empty()) {
    throw std::invalid_argument(
        "kubeconfig " + where +
        ": no current-context is set (run `kubectl config use-context NAME` or pass a context)");
  }
  const auto ctx = config.contexts.find(context_name);
  if (ctx == config.contexts.end()) {
    throw std::invalid_argument("kubeconfig " + where + ": context \"" + context_name + "\" is not defined");
  }
  const nlohmann::json& context_body = ctx->second.body;
  const std::string cluster_name = Str(context_body, "cluster");
  const auto cluster = config.clusters.find(cluster_name);
  if (cluster == config.clusters.end()) {
    throw std::invalid_argument("kubeconfig " + where + ": context \"" + context_name + "\" names cluster \"" +
                                cluster_name + "\", which is not defined under clusters");
  }
  const nlohmann::json& cluster_body = cluster->second.body;
  const std::string& cluster_file = cluster->second.origin;
  RestConfig rc;
  rc.source = "kubeconfig " + where + ", context " + context_name;
  rc.server = Str(cluster_body, "server");
  if (rc.server.empty()) {
    throw std::invalid_argument("kubeconfig " + cluster_file + ": cluster \"" + cluster_name + "\" has no server URL");
  }
  while (!rc.server.empty() && rc.server.back() == '/') rc.server.pop_back();
  rc.insecure_skip_tls_verify = cluster_body.is_object() && cluster_body.value("insecure-skip-tls-verify", false);
  rc.ca_pem = DataOrFile(cluster_body, "certificate-authority", cluster_file, read_file);
  if (!Str(context_body, "namespace").empty()) rc.default_namespace = Str(context_body, "namespace");

  const std::string user_name = Str(context_body, "user");
  if (!user_name.empty()) {
    const auto user = config.users.find(user_name);
    if (user == config.users.end()) {
      throw std::invalid_argument("kubeconfig " + where + ": context \"" + context_name + "\" names user \"" +
                                  user_name + "\", which is not defined under users");
    }
    const nlohmann::json& user_body = user->second.body;
    const std::string& user_file = user->second.origin;
    if (user_body.contains("auth-provider")) {
      const std::string provider = Str(user_body["auth-provider"], "name");
      throw std::invalid_argument(
          "kubeconfig " + user_file + ": user \"" + user_name + "\" uses auth-provider \"" + provider +
          "\", which kubectl no longer runs (removed in Kubernetes 1.26); switch the user to the exec plugin that "
          "replaced it (gke-gcloud-auth-plugin on GKE, kubelogin on Azure or for OIDC)");
    }
    if (user_body.contains("username") || user_body.contains("password")) {
      throw std::invalid_argument("kubeconfig " + user_file + ": user \"" + user_name +
                                  "\" uses basic auth, which Kubernetes removed; use a token or client certificate");
    }
    rc.client_cert_pem = DataOrFile(user_body, "client-certificate", user_file, read_file);
    rc.client_key_pem = DataOrFile(user_body, "client-key", user_file, read_file);
    if (rc.client_cert_pem.empty() != rc.client_key_pem.empty()) {
      throw std::invalid_argument("kubeconfig " + user_file + ": user \"" + user_name +
                                  "\" has a client certificate without a key or a key without a certificate");
    }
    rc.bearer_token = Str(user_body, "token");
    if (!Str(user_body, "tokenFile").empty()) rc.token_file = Resolve(Str(user_body, "tokenFile"), user_file);
    if (user_body.contains("exec")) rc.exec = ExecOf(user_body["exec"], user_name, user_file, rc);
  }
  return rc;
}

RestConfig LoadKubeconfigFiles(const std::vector<std::string>& paths, const std::string& context) {
  std::vector<KubeconfigFile> files;
  for (const std::string& path : paths) files.push_back({path, ReadWholeFile(path)});
  return ParseKubeconfigs(files, context, ReadWholeFile);
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
                                const std::string& home, const std::function<bool(const std::string&)>& exists,
                                ConfigOrder order) {
  if (!flag.empty()) return {ConfigSource::kFlag, {flag}};
  ConfigChoice choice{ConfigSource::kEnvironment, {}};
  std::stringstream paths(env_kubeconfig);
  for (std::string p; std::getline(paths, p, ':');) {
    if (p.empty() || !exists(p)) continue;  // kubectl skips files that do not exist
    if (std::find(choice.paths.begin(), choice.paths.end(), p) == choice.paths.end()) choice.paths.push_back(p);
  }
  if (!choice.paths.empty()) return choice;
  // A set $KUBECONFIG replaces ~/.kube/config (kubectl's rule): a mistyped path must not quietly
  // reach the default cluster.
  const bool home_file = env_kubeconfig.empty() && !home.empty() && exists(home + "/.kube/config");
  if (order == ConfigOrder::kKubectl && home_file) return {ConfigSource::kHome, {home + "/.kube/config"}};
  if (in_cluster) return {ConfigSource::kInCluster, {}};
  if (home_file) return {ConfigSource::kHome, {home + "/.kube/config"}};
  return {ConfigSource::kNone, {}};
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
  const char* home = std::getenv("HOME");
  const ConfigChoice choice = ChooseConfigSource(kubeconfig_flag, env ? env : "", in_cluster, home ? home : "", exists);
  switch (choice.source) {
    case ConfigSource::kFlag:
    case ConfigSource::kEnvironment:
    case ConfigSource::kHome: return LoadKubeconfigFiles(choice.paths, context);
    case ConfigSource::kInCluster:
      return InClusterConfig(host, port, "/var/run/secrets/kubernetes.io/serviceaccount", ReadWholeFile);
    case ConfigSource::kNone: break;
  }
  throw std::runtime_error(
      "no Kubernetes configuration: pass --kubeconfig=PATH, set KUBECONFIG, create ~/.kube/config, "
      "or run in a pod with a service account" +
      std::string(env && *env ? " (KUBECONFIG=" + std::string(env) + " names no existing file)" : ""));
}

TokenSource::TokenSource(std::string fixed_token, std::string token_file, std::chrono::seconds max_age)
    : fixed_(std::move(fixed_token)), file_(std::move(token_file)), max_age_(max_age) {}

TokenSource::TokenSource(const RestConfig& config, ExecRunner run_exec, std::function<WallTime()> now)
    : fixed_(config.bearer_token),
      file_(config.exec ? "" : config.token_file),
      max_age_(std::chrono::seconds(60)),
      exec_(config.exec),
      run_exec_(std::move(run_exec)),
      now_(std::move(now)) {}

std::string TokenSource::ExecToken() {
  std::lock_guard<std::mutex> lock(mu_);
  // As client-go: the cached credential serves until its expirationTimestamp, then the plugin runs again.
  if (!credential_ || (credential_->expiry && now_() >= *credential_->expiry)) {
    ExecCredential fresh = run_exec_(*exec_);
    if (fresh.token.empty()) {
      throw std::runtime_error("kubeconfig user \"" + exec_->user + "\": exec plugin `" + DescribeExecCommand(*exec_) +
                               "` returned only a client certificate, which kubecnn does not present yet; "
                               "have it return status.token");
    }
    credential_ = std::move(fresh);
  }
  return credential_->token;
}

std::string TokenSource::Token() {
  if (exec_) return ExecToken();
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
  credential_.reset();
}

}  // namespace kubecnn::kube
