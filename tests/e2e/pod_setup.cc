// SetUpPod: volumes, user database, env and the sandbox spec of one pod.
#include "tests/e2e/pod_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "operator/kube/api_error.h"
#include "operator/kube/base64.h"
#include "tests/e2e/node_agent.h"

namespace kubecnn::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kImageUid = 1000;  // manifests/README.md: the image has a user with uid 1000

[[noreturn]] void Refuse(const std::string& message) { throw PodConfigError("CreateContainerConfigError", message); }

void WriteFile(const std::string& path, const std::string& bytes, mode_t mode, int64_t gid = -1) {
  fs::create_directories(fs::path(path).parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) throw std::runtime_error("writing " + path);
  }
  if (::chmod(path.c_str(), mode) != 0 || (gid >= 0 && ::chown(path.c_str(), 0, static_cast<gid_t>(gid)) != 0)) {
    throw std::runtime_error("setting the owner and mode of " + path);
  }
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<int64_t> Int(const json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object[key].is_number_integer()) return object[key].get<int64_t>();
  return std::nullopt;
}

// Secret and ConfigMap volumes: each key a file (or the listed items), owned by root and the
// pod's fsGroup, group-readable when there is one, as the kubelet writes them.
void WriteKeyFiles(const std::string& dir, const std::map<std::string, std::string>& data, const json& source,
                   std::optional<int64_t> fs_group) {
  fs::create_directories(dir);
  const mode_t default_mode = static_cast<mode_t>(Int(source, "defaultMode").value_or(0644));
  const auto file_mode = [&](mode_t mode) { return fs_group ? (mode | 0040) : mode; };
  const int64_t gid = fs_group.value_or(-1);
  if (source.contains("items") && source["items"].is_array()) {
    for (const json& item : source["items"]) {
      const std::string key = item.value("key", "");
      auto it = data.find(key);
      if (it == data.end()) {
        if (source.value("optional", false)) continue;
        Refuse("key \"" + key + "\" is not in the volume's source");
      }
      const mode_t mode = static_cast<mode_t>(Int(item, "mode").value_or(default_mode));
      WriteFile(dir + "/" + item.value("path", key), it->second, file_mode(mode), gid);
    }
    return;
  }
  for (const auto& [key, bytes] : data) WriteFile(dir + "/" + key, bytes, file_mode(default_mode), gid);
}

std::map<std::string, std::string> SecretData(const json& secret) {
  std::map<std::string, std::string> out;
  const json data = secret.value("data", json::object());
  for (const auto& [key, value] : data.items()) out[key] = kube::Base64Decode(value.get<std::string>()).value_or("");
  const json text = secret.value("stringData", json::object());
  for (const auto& [key, value] : text.items()) out[key] = value.get<std::string>();
  return out;
}

std::map<std::string, std::string> ConfigMapData(const json& config_map) {
  std::map<std::string, std::string> out;
  const json text = config_map.value("data", json::object());
  for (const auto& [key, value] : text.items()) out[key] = value.get<std::string>();
  const json binary = config_map.value("binaryData", json::object());
  for (const auto& [key, value] : binary.items()) out[key] = kube::Base64Decode(value.get<std::string>()).value_or("");
  return out;
}

// fsGroup on a claim: the kubelet makes the volume's files the group's, group-writable, and its
// directories setgid, so a non-root container can write its checkpoints there. Skipped when the
// volume's root already has them (fsGroupChangePolicy: OnRootMismatch), as pods of a running job
// mount the same claim while others write to it.
void ApplyFsGroup(const std::string& dir, int64_t gid) {
  struct stat root {};
  if (::stat(dir.c_str(), &root) == 0 && root.st_gid == static_cast<gid_t>(gid) && (root.st_mode & S_ISGID) != 0)
    return;
  const auto apply = [gid](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    mode_t mode = st.st_mode | S_IRGRP | S_IWGRP;
    if (S_ISDIR(st.st_mode)) mode |= S_IXGRP | S_ISGID;
    if (::chown(p.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(gid)) != 0 ||
        ::chmod(p.c_str(), mode & 07777) != 0) {
      throw std::runtime_error("applying fsGroup " + std::to_string(gid) + " to " + p.string());
    }
  };
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    apply(it->path());
  }
  apply(dir);  // last: its setgid bit says the rest is done
}

// env[].valueFrom.secretKeyRef / configMapKeyRef as the kubelet resolves it: the key's value;
// nullopt when the reference is optional and the object or key is absent; a refusal
// (CreateContainerConfigError, retried) when it is not optional.
std::optional<std::string> KeyRefValue(const PodSetupInputs& in, const std::string& env_name, const json& from) {
  const bool secret = from.contains("secretKeyRef");
  const json& ref = secret ? from["secretKeyRef"] : from["configMapKeyRef"];
  const std::string object = ref.value("name", ""), key = ref.value("key", "");
  const bool optional = ref.value("optional", false);
  const char* kind = secret ? "secret" : "configmap";
  json source;
  try {
    source = in.get(secret ? "secrets" : "configmaps", object);
  } catch (const std::exception& e) {
    if (optional && kube::IsNotFound(e)) return std::nullopt;
    Refuse("env " + env_name + ": getting " + kind + " \"" + object + "\": " + e.what());
  }
  const std::map<std::string, std::string> data = secret ? SecretData(source) : ConfigMapData(source);
  const auto it = data.find(key);
  if (it != data.end()) return it->second;
  if (optional) return std::nullopt;
  Refuse("env " + env_name + ": couldn't find key " + key + " in " + (secret ? "Secret " : "ConfigMap ") +
         source.value("metadata", json::object()).value("namespace", "") + "/" + object);
}

struct Volume {
  std::string path;
  bool read_only = false;
};

// A projected volume (what the ServiceAccount admission adds to every pod that automounts a
// token: a bound token, the cluster's CA from the kube-root-ca.crt ConfigMap, the namespace).
void MaterialiseProjected(const PodSetupInputs& in, const json& projected, const std::string& dir,
                          std::optional<int64_t> fs_group) {
  json mode = {{"defaultMode", Int(projected, "defaultMode").value_or(0644)}};
  const json& meta = (*in.pod)["metadata"];
  for (const json& source : projected.value("sources", json::array())) {
    if (source.contains("serviceAccountToken")) {
      const json& token = source["serviceAccountToken"];
      WriteKeyFiles(dir, {{"token", in.service_account_token(token)}},
                    {{"defaultMode", mode["defaultMode"]},
                     {"items", {{{"key", "token"}, {"path", token.value("path", "token")}}}}},
                    fs_group);
    } else if (source.contains("configMap") || source.contains("secret")) {
      const bool secret = source.contains("secret");
      json ref = secret ? source["secret"] : source["configMap"];
      std::map<std::string, std::string> data;
      try {
        const json object = in.get(secret ? "secrets" : "configmaps", ref.value("name", ""));
        data = secret ? SecretData(object) : ConfigMapData(object);
      } catch (const std::exception& e) {
        if (!(ref.value("optional", false) && kube::IsNotFound(e))) {
          Refuse(std::string("projected ") + (secret ? "secret" : "configMap") + " \"" + ref.value("name", "") +
                 "\": " + e.what());
        }
      }
      ref["defaultMode"] = mode["defaultMode"];
      WriteKeyFiles(dir, data, ref, fs_group);
    } else if (source.contains("downwardAPI")) {
      for (const json& item : source["downwardAPI"].value("items", json::array())) {
        const std::string field = item.value("fieldRef", json::object()).value("fieldPath", "");
        std::string value;
        if (field == "metadata.namespace") {
          value = meta.value("namespace", "");
        } else if (field == "metadata.name") {
          value = meta.value("name", "");
        } else {
          Refuse("projected downwardAPI " + field + ": this test node projects metadata.name and metadata.namespace");
        }
        WriteKeyFiles(
            dir, {{"value", value}},
            {{"defaultMode", mode["defaultMode"]}, {"items", {{{"key", "value"}, {"path", item.value("path", "")}}}}},
            fs_group);
      }
    } else {
      Refuse("projected volume source " + source.dump() +
             ": this test node projects serviceAccountToken, configMap, secret and downwardAPI");
    }
  }
}

std::map<std::string, Volume> MaterialiseVolumes(const PodSetupInputs& in, std::optional<int64_t> fs_group) {
  std::map<std::string, Volume> volumes;
  const json& spec = (*in.pod)["spec"];
  for (const json& v : spec.value("volumes", json::array())) {
    const std::string name = v.value("name", "");
    const std::string dir = in.pod_dir + "/volumes/" + name;
    if (v.contains("secret")) {
      const json& s = v["secret"];
      WriteKeyFiles(dir, SecretData(in.get("secrets", s.value("secretName", ""))), s, fs_group);
      volumes[name] = {dir, true};
    } else if (v.contains("configMap")) {
      const json& c = v["configMap"];
      WriteKeyFiles(dir, ConfigMapData(in.get("configmaps", c.value("name", ""))), c, fs_group);
      volumes[name] = {dir, true};
    } else if (v.contains("projected")) {
      MaterialiseProjected(in, v["projected"], dir, fs_group);
      volumes[name] = {dir, true};
    } else if (v.contains("emptyDir")) {
      fs::create_directories(dir);
      ::chmod(dir.c_str(), 0777);
      volumes[name] = {dir, false};
    } else if (v.contains("hostPath")) {
      const std::string path = v["hostPath"].value("path", "");
      if (v["hostPath"].value("type", "") == "DirectoryOrCreate") fs::create_directories(path);
      if (!fs::exists(path)) Refuse("hostPath " + path + " of volume " + name + " does not exist on this node");
      volumes[name] = {path, false};
    } else if (v.contains("persistentVolumeClaim")) {
      const std::string claim = v["persistentVolumeClaim"].value("claimName", "");
      auto it = in.claims->find(claim);
      if (it == in.claims->end()) {
        throw PodConfigError("ContainerCreating", "persistentvolumeclaim \"" + claim + "\" not found");
      }
      fs::create_directories(it->second);
      if (fs_group) ApplyFsGroup(it->second, *fs_group);
      volumes[name] = {it->second, v["persistentVolumeClaim"].value("readOnly", false)};
    } else {
      Refuse("volume " + name +
             ": this test node supports secret, configMap, projected, emptyDir, hostPath and "
             "persistentVolumeClaim volumes");
    }
  }
  return volumes;
}

// /etc/passwd and /etc/group of the image, with the image's uid-1000 user supplied where the root
// (the host's) has another or none.
std::string UserDatabase(const std::string& original, const std::string& entry) {
  std::istringstream in(original);
  std::string out, line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream parts(line);
    for (std::string f; std::getline(parts, f, ':');) fields.push_back(f);
    if (fields.size() >= 3 && (fields[0] == "kubecnn" || fields[2] == std::to_string(kImageUid))) continue;
    out += line + "\n";
  }
  return out + entry + "\n";
}

// The home directory of `uid` in a passwd file ("/" when it has none).
std::string HomeOf(const std::string& passwd, int64_t uid) {
  std::istringstream in(passwd);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::stringstream parts(line);
    for (std::string f; std::getline(parts, f, ':');) fields.push_back(f);
    if (fields.size() >= 6 && fields[2] == std::to_string(uid)) return fields[5];
  }
  return "/";
}

int ProbePort(const json& container, const json& probe) {
  const json& port = probe.contains("httpGet") ? probe["httpGet"]["port"] : probe["tcpSocket"]["port"];
  if (port.is_number_integer()) return port.get<int>();
  for (const json& p : container.value("ports", json::array())) {
    if (p.value("name", "") == port.get<std::string>()) return p.value("containerPort", 0);
  }
  Refuse("readiness probe names port \"" + port.get<std::string>() + "\", which the container does not declare");
}

}  // namespace

// The container's seccompProfile type, else the pod's; "" (unconfined) when neither sets one.
std::string SeccompType(const json& pod_context, const json& container_context) {
  for (const json* context : {&container_context, &pod_context}) {
    const std::string type = context->value("seccompProfile", json::object()).value("type", "");
    if (type == "Localhost") Refuse("seccompProfile Localhost: this test node has no profiles of its own");
    if (!type.empty()) return type;
  }
  return "";
}

PodSetup SetUpPod(const PodSetupInputs& in) {
  const json& pod = *in.pod;
  const json& spec = pod["spec"];
  const json& meta = pod["metadata"];
  if (!spec.contains("containers") || spec["containers"].size() != 1) {
    Refuse("this test node runs pods of exactly one container");
  }
  const json& c = spec["containers"][0];
  const json psc = spec.value("securityContext", json::object());
  const json csc = c.value("securityContext", json::object());
  const int64_t uid = Int(csc, "runAsUser").value_or(Int(psc, "runAsUser").value_or(0));
  const int64_t gid = Int(csc, "runAsGroup").value_or(Int(psc, "runAsGroup").value_or(0));
  const bool non_root = csc.value("runAsNonRoot", psc.value("runAsNonRoot", false));
  if (non_root && uid == 0) Refuse("container has runAsNonRoot and image will run as root");
  const std::optional<int64_t> fs_group = Int(psc, "fsGroup");
  json groups = json::array({gid});
  if (fs_group) groups.push_back(*fs_group);
  for (const json& g : psc.value("supplementalGroups", json::array())) groups.push_back(g);

  std::vector<std::string> argv = c.value("command", in.image->entrypoint);
  if (argv.empty()) Refuse("container has no command and its image no entrypoint");
  for (const std::string& a : c.value("args", std::vector<std::string>{})) argv.push_back(a);

  PodSetup out;
  json mounts = json::array();
  const auto mount = [&mounts](const std::string& source, const std::string& target, bool read_only) {
    mounts.push_back({{"source", source}, {"target", target}, {"read_only", read_only}});
  };
  const std::map<std::string, Volume> volumes = MaterialiseVolumes(in, fs_group);
  for (const json& m : c.value("volumeMounts", json::array())) {
    const std::string name = m.value("name", "");
    auto it = volumes.find(name);
    if (it == volumes.end()) Refuse("volumeMount " + m.value("mountPath", "") + " names no volume \"" + name + "\"");
    std::string source = it->second.path;
    if (!m.value("subPath", "").empty()) source += "/" + m.value("subPath", "");
    if (!fs::exists(source)) Refuse("subPath " + m.value("subPath", "") + " does not exist in volume " + name);
    mount(source, m.value("mountPath", ""), m.value("readOnly", false) || it->second.read_only);
  }

  const std::string hostname = spec.value("hostname", meta.value("name", ""));
  WriteFile(in.pod_dir + "/hostname", hostname + "\n", 0644);
  mount(in.pod_dir + "/hostname", "/etc/hostname", true);
  mount(in.hosts_file, "/etc/hosts", true);
  // This node has no cluster DNS: names resolve through the /etc/hosts records the agent keeps,
  // and a nameserver on the pod's own loopback refuses every query at once (an unreachable one
  // would cost each AAAA lookup of `getent hosts` two 5 s timeouts).
  const std::string ns = meta.value("namespace", "default");
  WriteFile(in.pod_dir + "/resolv.conf",
            "search " + ns +
                ".svc.cluster.local svc.cluster.local cluster.local\nnameserver 127.0.0.1\n"
                "options ndots:5\n",
            0644);
  mount(in.pod_dir + "/resolv.conf", "/etc/resolv.conf", true);
  std::string passwd = ReadText(in.image->root + "/etc/passwd");
  if (in.image->add_user) {
    passwd = UserDatabase(passwd, "kubecnn:x:1000:1000:kubecnn:/home/kubecnn:/bin/sh");
    WriteFile(in.pod_dir + "/passwd", passwd, 0644);
    WriteFile(in.pod_dir + "/group", UserDatabase(ReadText(in.image->root + "/etc/group"), "kubecnn:x:1000:"), 0644);
    fs::create_directories(in.pod_dir + "/home");
    if (::chown((in.pod_dir + "/home").c_str(), kImageUid, kImageUid) != 0) {
      throw std::runtime_error("chown " + in.pod_dir + "/home");
    }
    mount(in.pod_dir + "/passwd", "/etc/passwd", true);
    mount(in.pod_dir + "/group", "/etc/group", true);
    mount(in.pod_dir + "/home", "/home/kubecnn", false);
  }
  for (const auto& [target, source] : in.image->files) mount(source, target, true);

  out.termination_log = in.pod_dir + "/termination-log";
  WriteFile(out.termination_log, "", 0666);
  mount(out.termination_log, c.value("terminationMessagePath", "/dev/termination-log"), false);
  out.termination_policy = c.value("terminationMessagePolicy", "File");

  json env = json::array({"PATH=" + in.image->path_env, "HOSTNAME=" + hostname, "HOME=" + HomeOf(passwd, uid)});
  if (!in.api_host.empty()) {  // set whatever enableServiceLinks says
    const std::string port = std::to_string(in.api_port);
    env.push_back("KUBERNETES_SERVICE_HOST=" + in.api_host);
    env.push_back("KUBERNETES_SERVICE_PORT=" + port);
    env.push_back("KUBERNETES_SERVICE_PORT_HTTPS=" + port);
  }
  for (const json& e : c.value("env", json::array())) {
    const std::string name = e.value("name", "");
    std::string value = e.value("value", "");
    if (e.contains("valueFrom")) {
      const json& from = e["valueFrom"];
      if (from.contains("secretKeyRef") || from.contains("configMapKeyRef")) {
        std::optional<std::string> resolved = KeyRefValue(in, name, from);
        if (!resolved) continue;  // optional and absent: the kubelet leaves the variable out
        value = std::move(*resolved);
      } else {
        const std::string field = from.value("fieldRef", json::object()).value("fieldPath", "");
        if (field == "metadata.name")
          value = meta.value("name", "");
        else if (field == "metadata.namespace")
          value = meta.value("namespace", "");
        else if (field == "status.podIP")
          value = in.ip;
        else
          Refuse("env " + name +
                 ": this test node resolves secretKeyRef, configMapKeyRef and the fieldRefs "
                 "metadata.name, metadata.namespace and status.podIP");
      }
    }
    env.push_back(name + "=" + value);
  }

  if (c.contains("readinessProbe")) {
    const json& probe = c["readinessProbe"];
    if (probe.contains("httpGet")) {
      if (probe["httpGet"].value("scheme", "HTTP") != "HTTP") Refuse("this test node probes httpGet over HTTP only");
      out.readiness_http_path = probe["httpGet"].value("path", "/");
    } else if (!probe.contains("tcpSocket")) {
      Refuse("this test node runs tcpSocket and httpGet readiness probes only");
    }
    out.readiness_port = ProbePort(c, probe);
    out.readiness_period_seconds = static_cast<double>(Int(probe, "periodSeconds").value_or(10));
    out.readiness_initial_delay_seconds = static_cast<double>(Int(probe, "initialDelaySeconds").value_or(0));
  }
  out.sandbox = {{"pod_dir", in.pod_dir},
                 {"lower_root", in.image->root},
                 {"hostname", hostname},
                 {"mounts", mounts},
                 {"uid", uid},
                 {"gid", gid},
                 {"groups", groups},
                 {"env", env},
                 {"read_only_root", csc.value("readOnlyRootFilesystem", false)},
                 {"capabilities", csc.value("capabilities", json::object())},
                 {"no_new_privs", !csc.value("allowPrivilegeEscalation", true)},
                 {"seccomp", SeccompType(psc, csc)},
                 {"working_dir", c.value("workingDir", "/")},
                 {"argv", argv}};
  return out;
}

std::string HostsFile(const std::string& own_ip, const std::string& own_names, const std::string& cluster) {
  return "# Kubernetes-managed hosts file (kubecnn e2e node agent).\n127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\n" +
         own_ip + "\t" + own_names + "\n" + cluster;
}

}  // namespace kubecnn::e2e
