// NodeAgent: one thread per pod from admission to exit; status written as merge patches of /status.
#include "tests/e2e/node_agent.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "operator/api/time_format.h"
#include "operator/kube/api_error.h"
#include "operator/kube/clock.h"
#include "operator/kube/resource.h"
#include "tests/e2e/pod_setup.h"
#include "tests/support/https_get.h"
#include "tests/support/kubelet_node.h"

namespace kubecnn::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::steady_clock;

constexpr size_t kMaxTerminationMessage = 4096;  // the kubelet's limit
constexpr auto kPollInterval = std::chrono::milliseconds(50);

std::string Now() { return api::FormatTime(std::chrono::system_clock::now()); }

int64_t FileSize(const std::string& path) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

std::string ReadText(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const std::streamoff size = in.tellg();
  if (size <= 0) return "";
  const std::streamoff from = size > static_cast<std::streamoff>(bytes) ? size - static_cast<std::streamoff>(bytes) : 0;
  in.seekg(from);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool TcpOpen(const std::string& ip, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (!open && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    open = ::poll(&p, 1, 1000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
  }
  ::close(fd);
  return open;
}

// An httpGet probe: any status from 200 to 399 within a second.
bool HttpOk(const std::string& url) {
  const testing::HttpsReply reply = testing::HttpsGet(url, {}, std::chrono::seconds(1));
  return reply.status >= 200 && reply.status < 400;
}

json Condition(const std::string& type, bool status, const std::string& since) {
  return {
      {"type", type}, {"status", status ? "True" : "False"}, {"lastProbeTime", nullptr}, {"lastTransitionTime", since}};
}

}  // namespace

struct NodeAgent::PodRun {
  json pod;
  RunningPod info;
  std::string container, image, hosts_file, own_names, dns_names;
  std::string scheduled_at, started_at, ready_since, finished_at;
  pid_t sandbox = -1;
  // Guarded by the agent's mu_: the pod is terminating (deleted), its API object is gone (gone),
  // and when its processes get SIGKILL (the end of the grace period).
  bool deleted = false;
  bool gone = false;
  std::optional<steady_clock::time_point> kill_at;
  bool ready = false;  // guarded by mu_: behind its Services
  // Guarded by mu_: each run of the container, oldest first (the log API's current and previous).
  std::vector<std::shared_ptr<ContainerRunLog>> container_logs;
  std::string hosts_written;  // guarded by publish_mu_: what its /etc/hosts holds
  std::thread thread;
};

NodeAgent::NodeAgent(kube::Client& client, PodNetwork& network, NodeAgentOptions options)
    : client_(client), network_(network), options_(std::move(options)) {
  fs::create_directories(options_.work_dir + "/pods");
}

NodeAgent::~NodeAgent() {
  log_server_.reset();  // ends followed logs before their pods go
  {
    std::lock_guard<std::mutex> lock(node_mu_);
    heartbeat_stop_ = true;
  }
  node_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (informer_) informer_->Stop();
  std::vector<std::shared_ptr<PodRun>> runs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [uid, run] : runs_) {
      run->deleted = true;
      run->gone = true;  // the node goes: no final delete
      if (run->sandbox > 0) ::kill(run->sandbox, SIGUSR1);
      runs.push_back(run);
    }
  }
  for (auto& run : runs) {
    if (run->thread.joinable()) run->thread.join();
  }
}

void NodeAgent::Start() {
  if (!options_.serving_cert_pem.empty()) {
    KubeletLogServerOptions server;
    server.address = PodNetwork::kNodeIp;
    server.serving_cert_pem = options_.serving_cert_pem;
    server.serving_key_pem = options_.serving_key_pem;
    server.client_ca_pem = options_.client_ca_pem;
    log_server_ = std::make_unique<KubeletLogServer>(
        server, [this](const ContainerLogRequest& request) { return FindLog(request); });
  }
  testing::RegisterNode(client_, Registration());
  if (log_server_) testing::AdvertiseKubeletPort(client_, options_.node_name, log_server_->port());
  testing::RenewNodeLease(client_, options_.node_name);
  heartbeat_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(node_mu_);
    while (!node_cv_.wait_for(lock, testing::kNodeLeaseRenewal, [this] { return heartbeat_stop_; })) {
      lock.unlock();
      try {
        testing::RenewNodeLease(client_, options_.node_name);
      } catch (const std::exception& e) {
        Log(std::string("renewing the node's lease: ") + e.what());
      }
      lock.lock();
    }
  });
  kube::InformerOptions informer;
  informer.reflector.field_selector = "spec.nodeName=" + options_.node_name;  // what the scheduler bound here
  informer_ = std::make_unique<kube::Informer>(client_, kube::resources::kPods, informer);
  informer_->AddHandlers({[this](const json& pod) { OnPod(pod); },
                          [this](const json&, const json& pod) {
                            if (pod["metadata"].contains("deletionTimestamp")) OnDelete(pod, /*gone=*/false);
                          },
                          [this](const json& pod) { OnDelete(pod, /*gone=*/true); }});
  informer_->Start();
  informer_->WaitForSync(std::chrono::seconds(30));
}

void NodeAgent::SetGpus(int64_t gpus) {
  {
    std::lock_guard<std::mutex> lock(node_mu_);
    options_.gpus = gpus;
  }
  testing::WriteNodeStatus(client_, Registration());
  Log("node now has " + std::to_string(gpus) + " nvidia.com/gpu");
}

testing::NodeRegistration NodeAgent::Registration() {
  std::lock_guard<std::mutex> lock(node_mu_);
  return {options_.node_name,
          PodNetwork::kNodeIp,
          {{"cpu", options_.cpu},
           {"memory", options_.memory},
           {"pods", "110"},
           {"ephemeral-storage", "100Gi"},
           {"nvidia.com/gpu", std::to_string(options_.gpus)}},
          "kubecnn-e2e://1",
          {}};
}

LogLookup NodeAgent::FindLog(const ContainerLogRequest& request) const {
  std::lock_guard<std::mutex> lock(mu_);
  // The newest pod of that name: a pod deleted and created again under its name is a new one.
  std::shared_ptr<PodRun> run;
  for (auto uid = order_.rbegin(); uid != order_.rend() && !run; ++uid) {
    const std::shared_ptr<PodRun>& candidate = runs_.at(*uid);
    if (candidate->info.ns == request.ns && candidate->info.name == request.pod) run = candidate;
  }
  const std::string pod = "\"" + request.pod + "\"", container = "\"" + request.container + "\"";
  if (!run) return {404, "pod " + pod + " does not exist", nullptr};
  if (run->pod["spec"]["containers"][0].value("name", "") != request.container) {
    return {404, "container " + container + " not found in pod " + pod, nullptr};
  }
  const auto& logs = run->container_logs;
  if (request.previous) {
    if (logs.size() < 2) {
      return {400, "previous terminated container " + container + " in pod " + pod + " not found", nullptr};
    }
    return {200, "", logs[logs.size() - 2]};
  }
  if (logs.empty()) {
    return {400, "container " + container + " in pod " + pod + " is waiting to start: ContainerCreating", nullptr};
  }
  return {200, "", logs.back()};
}

// A TokenRequest for the pod's ServiceAccount, bound to the pod (NodeRestriction lets a node ask
// only for tokens bound to pods it runs). Valid for the source's expirationSeconds: the suite's
// pods live minutes, so it is not refreshed.
std::string NodeAgent::ServiceAccountToken(const json& pod, const json& token_source) {
  const json& meta = pod["metadata"];
  const std::string account = pod["spec"].value("serviceAccountName", "default");
  json spec = {
      {"expirationSeconds", token_source.value("expirationSeconds", 3600)},
      {"boundObjectRef",
       {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", meta.value("name", "")}, {"uid", meta.value("uid", "")}}}};
  if (token_source.contains("audience")) spec["audiences"] = json::array({token_source["audience"]});
  // serviceaccounts/<name>/token is a subresource that is created (POSTed), like a collection.
  const kube::Resource token_request{"", "v1", "serviceaccounts/" + account + "/token", "TokenRequest", true};
  const json answer =
      client_.Create(token_request, meta.value("namespace", ""),
                     {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", spec}});
  return answer.value("status", json::object()).value("token", "");
}

std::vector<RunningPod> NodeAgent::Pods() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RunningPod> out;
  for (const std::string& uid : order_) out.push_back(runs_.at(uid)->info);
  return out;
}

std::vector<int> NodeAgent::ProcessesOf(const RunningPod& pod) const {
  struct stat want {};
  std::vector<int> pids;
  if (pod.netns_path.empty() || ::stat(pod.netns_path.c_str(), &want) != 0) return pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat st {};
    if (::stat((entry.path() / "ns/net").c_str(), &st) == 0 && st.st_ino == want.st_ino && st.st_dev == want.st_dev) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

void NodeAgent::OnPod(const json& pod) {
  const json& meta = pod["metadata"];
  if (meta.contains("deletionTimestamp")) return;
  const std::string phase = pod.value("status", json::object()).value("phase", "Pending");
  if (phase == "Succeeded" || phase == "Failed") return;
  auto run = std::make_shared<PodRun>();
  run->pod = pod;
  run->info.ns = meta.value("namespace", "default");
  run->info.name = meta.value("name", "");
  run->info.uid = meta.value("uid", "");
  run->info.dir = options_.work_dir + "/pods/" + run->info.ns + "_" + run->info.name + "_" + run->info.uid.substr(0, 8);
  run->info.log = run->info.dir + "/container.log";
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || runs_.count(run->info.uid)) return;
  runs_[run->info.uid] = run;
  order_.push_back(run->info.uid);
  run->thread = std::thread([this, run] { Run(run); });
}

void NodeAgent::OnDelete(const json& pod, bool gone) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(pod["metadata"].value("uid", ""));
  if (it == runs_.end()) return;
  PodRun& run = *it->second;
  run.gone = run.gone || gone;
  if (run.deleted && !gone) return;  // already terminating
  run.deleted = true;
  // The grace period the deletion asked for (DeleteOptions, else the pod's
  // terminationGracePeriodSeconds); none left when the object is gone (a forced delete).
  const int64_t grace =
      gone ? 0
           : pod["metadata"].value("deletionGracePeriodSeconds",
                                   pod["spec"].value("terminationGracePeriodSeconds", static_cast<int64_t>(30)));
  run.kill_at = steady_clock::now() + std::chrono::seconds(grace);
  if (run.sandbox > 0 && !run.info.finished) {
    Log(run.info.name + " terminating: SIGTERM, SIGKILL in " + std::to_string(grace) + " s");
    ::kill(run.sandbox, grace > 0 ? SIGTERM : SIGUSR1);
  }
}

void NodeAgent::Run(std::shared_ptr<PodRun> run) {
  const std::string ns = run->info.ns, name = run->info.name;
  const json& spec = run->pod["spec"];
  const json& container = spec["containers"][0];
  run->container = container.value("name", "");
  run->image = container.value("image", "");
  const auto deleted = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return run->deleted;
  };
  const auto patch = [&](json status) {
    if (deleted()) return;
    try {
      client_.MergePatch(kube::resources::kPods, ns, name, {{"status", status}}, /*status=*/true);
    } catch (const kube::ApiError& e) {
      if (e.code() != 404) Log("writing the status of " + name + ": " + e.what());
    }
  };
  const auto conditions = [&](bool ready) {
    const std::string since = ready ? run->ready_since : run->started_at.empty() ? run->scheduled_at : run->started_at;
    return json::array({Condition("Initialized", true, run->scheduled_at), Condition("Ready", ready, since),
                        Condition("ContainersReady", ready, since),
                        Condition("PodScheduled", true, run->scheduled_at)});
  };
  const auto waiting = [&](const std::string& reason, const std::string& message) {
    Log(name + " waiting: " + reason + (message.empty() ? "" : ": " + message));
    patch(
        {{"phase", "Pending"},
         {"hostIP", PodNetwork::kNodeIp},
         {"conditions", conditions(false)},
         {"containerStatuses", json::array({{{"name", run->container},
                                             {"image", run->image},
                                             {"imageID", ""},
                                             {"ready", false},
                                             {"started", false},
                                             {"restartCount", 0},
                                             {"state", {{"waiting", {{"reason", reason}, {"message", message}}}}}}})}});
  };

  // The kubelet's last word on a deleted pod: it has stopped, the API server may forget it.
  const auto confirm_deleted = [&] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!run->deleted || run->gone) return;
    }
    kube::DeleteOptions options;
    options.grace_period_seconds = 0;
    options.precondition_uid = run->info.uid;
    try {
      client_.Delete(kube::resources::kPods, ns, name, options);
      Log(name + " deleted");
    } catch (const kube::ApiError& e) {
      if (e.code() != 404 && e.code() != 409) Log("deleting " + name + ": " + e.what());
    }
  };
  // A pod that never starts stays Pending until it is deleted; then it is confirmed deleted.
  const auto stay_pending = [&] {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (run->deleted || stopping_) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    confirm_deleted();
  };
  fs::create_directories(run->info.dir);
  run->scheduled_at = Now();
  waiting("ContainerCreating", "");
  auto image = options_.images.find(run->image);
  if (image == options_.images.end()) {
    waiting("ErrImageNeverPull", "image \"" + run->image + "\" is not on this test node");
    stay_pending();
    return;
  }
  PodEndpoint endpoint;
  try {
    endpoint = network_.Add();
  } catch (const std::exception& e) {
    waiting("CreatePodSandboxError", e.what());
    stay_pending();
    return;
  }
  run->hosts_file = run->info.dir + "/hosts";
  const std::string hostname = spec.value("hostname", name);
  const std::string subdomain = spec.value("subdomain", "");
  run->own_names = hostname;
  if (!subdomain.empty()) {
    const std::string svc = hostname + "." + subdomain + "." + ns + ".svc";
    run->dns_names = svc + "." + options_.cluster_domain + "\t" + svc;
    run->own_names = svc + "." + options_.cluster_domain + "\t" + svc + "\t" + hostname;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    run->info.ip = endpoint.ip;
    run->info.netns_path = endpoint.netns_path;
  }
  Log(name + " has address " + endpoint.ip);
  std::ofstream(run->hosts_file).close();
  PublishHosts();

  PodSetup setup;
  for (;;) {  // a Secret or claim that is not there yet: retry, as the kubelet does
    if (deleted()) {
      network_.Remove(endpoint);
      confirm_deleted();
      return;
    }
    try {
      setup = SetUpPod({&run->pod, &image->second, run->info.dir, endpoint.ip, run->hosts_file, &options_.claims,
                        [&](const std::string& kind, const std::string& object) {
                          return client_.Get(
                              kind == "secrets" ? kube::resources::kSecrets : kube::resources::kConfigMaps, ns, object);
                        },
                        [&](const json& source) { return ServiceAccountToken(run->pod, source); }, options_.api_host,
                        options_.api_port});
      break;
    } catch (const PodConfigError& e) {
      waiting(e.reason, e.what());
    } catch (const std::exception& e) {
      waiting("CreateContainerConfigError", e.what());
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  json sandbox = setup.sandbox;
  sandbox["netns"] = endpoint.netns_path;
  sandbox["log"] = run->info.log;
  const std::string spec_file = run->info.dir + "/sandbox.json";
  std::ofstream(spec_file) << sandbox.dump(2);

  // The container runs until it exits; restartPolicy Always (a Deployment's pods) or OnFailure
  // starts it again, as the kubelet does (its back-off shortened to a second).
  const std::string restart_policy = spec.value("restartPolicy", "Always");
  int restarts = 0;
  json last_state = json::object();
  for (;;) {
    run->started_at = Now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      run->sandbox = -1;
      if (!run->deleted) {
        const pid_t pid = ::fork();
        if (pid == 0) {
          ::execl(options_.sandbox_binary.c_str(), options_.sandbox_binary.c_str(), spec_file.c_str(),
                  static_cast<char*>(nullptr));
          _exit(127);
        }
        run->sandbox = pid;
        run->info.finished = false;
        auto log = std::make_shared<ContainerRunLog>();
        log->path = run->info.log;
        log->begin = FileSize(run->info.log);
        run->container_logs.push_back(log);
      }
    }
    if (run->sandbox <= 0) break;
    const json container_base = {
        {"name", run->container},
        {"image", run->image},
        {"imageID", "e2e://" + run->image},
        {"containerID", "e2e://" + run->info.uid.substr(0, 8) + "-" + std::to_string(restarts)},
        {"restartCount", restarts},
        {"lastState", last_state}};
    const auto running = [&](bool ready) {
      Log(name + (ready ? " running, ready" : " running, not ready"));
      json cs = container_base;
      cs["ready"] = ready;
      cs["started"] = true;
      cs["state"] = {{"running", {{"startedAt", run->started_at}}}};
      patch({{"phase", "Running"},
             {"hostIP", PodNetwork::kNodeIp},
             {"podIP", endpoint.ip},
             {"podIPs", json::array({{{"ip", endpoint.ip}}})},
             {"startTime", run->scheduled_at},
             {"conditions", conditions(ready)},
             {"containerStatuses", json::array({cs})}});
    };
    bool ready = setup.readiness_port == 0;
    if (ready) run->ready_since = run->started_at;
    running(ready);
    SetReady(*run, ready);

    const auto started = steady_clock::now();
    const double period = std::max(setup.readiness_period_seconds, options_.min_probe_period_seconds);
    auto next_probe = started + std::chrono::duration_cast<steady_clock::duration>(
                                    std::chrono::duration<double>(setup.readiness_initial_delay_seconds));
    int status = 0;
    for (;;) {
      const pid_t done = ::waitpid(run->sandbox, &status, WNOHANG);
      if (done == run->sandbox) break;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (run->kill_at && steady_clock::now() >= *run->kill_at) {
          Log(name + " grace period over: SIGKILL");
          ::kill(run->sandbox, SIGUSR1);
          run->kill_at.reset();
        }
      }
      if (setup.readiness_port > 0 && steady_clock::now() >= next_probe) {
        const bool ok = setup.readiness_http_path.empty()
                            ? TcpOpen(endpoint.ip, setup.readiness_port)
                            : HttpOk("http://" + endpoint.ip + ":" + std::to_string(setup.readiness_port) +
                                     setup.readiness_http_path);
        if (ok != ready) {
          ready = ok;
          run->ready_since = Now();
          running(ready);
          SetReady(*run, ready);
        }
        next_probe = steady_clock::now() +
                     std::chrono::duration_cast<steady_clock::duration>(std::chrono::duration<double>(period));
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    Log(name + " exited with " + std::to_string(exit_code));
    run->finished_at = Now();
    std::string message = ReadText(setup.termination_log, kMaxTerminationMessage);
    if (message.empty() && exit_code != 0 && setup.termination_policy == "FallbackToLogsOnError") {
      message = Tail(run->info.log, 2048);
    }
    bool again = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      run->info.finished = true;
      run->info.exit_code = exit_code;
      run->container_logs.back()->end = FileSize(run->info.log);
      again = !run->deleted && !stopping_ &&
              (restart_policy == "Always" || (restart_policy == "OnFailure" && exit_code != 0));
    }
    SetReady(*run, false);
    json cs = container_base;
    cs["ready"] = false;
    cs["started"] = false;
    json terminated = {{"exitCode", exit_code},
                       {"reason", exit_code == 0 ? "Completed" : "Error"},
                       {"startedAt", run->started_at},
                       {"finishedAt", run->finished_at},
                       {"containerID", container_base["containerID"]}};
    if (!message.empty()) terminated["message"] = message;
    run->ready_since = run->finished_at;
    if (again) {
      ++restarts;
      last_state = {{"terminated", terminated}};
      cs["state"] = {{"waiting", {{"reason", "CrashLoopBackOff"}}}};
      cs["lastState"] = last_state;
      patch({{"phase", "Running"}, {"conditions", conditions(false)}, {"containerStatuses", json::array({cs})}});
      Log(name + " restarting (restartPolicy " + restart_policy + ", restart " + std::to_string(restarts) + ")");
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    cs["state"] = {{"terminated", terminated}};
    patch({{"phase", exit_code == 0 ? "Succeeded" : "Failed"},
           {"conditions", conditions(false)},
           {"containerStatuses", json::array({cs})}});
    break;
  }
  network_.Remove(endpoint);
  PublishHosts();
  confirm_deleted();
}

void NodeAgent::SetReady(PodRun& run, bool ready) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (run.ready == ready) return;
    run.ready = ready;
  }
  PublishHosts();  // Services route to ready pods only
}

void NodeAgent::Log(const std::string& line) {
  std::lock_guard<std::mutex> lock(log_mu_);
  std::ofstream(options_.work_dir + "/node.log", std::ios::app) << Now() << " " << line << "\n";
}

std::string NodeAgent::LogText() const {
  std::lock_guard<std::mutex> lock(log_mu_);
  std::ifstream in(options_.work_dir + "/node.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void NodeAgent::PublishHosts() {
  std::lock_guard<std::mutex> publish(publish_mu_);  // one writer of the hosts files at a time
  std::vector<std::shared_ptr<PodRun>> runs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [uid, run] : runs_) {
      if (!run->info.ip.empty() && !run->info.finished && !run->deleted) runs.push_back(run);
    }
  }
  // Cluster DNS: a pod with hostname + subdomain gets a record once a headless Service of that
  // name exists in its namespace and the pod has an address (ready or not: the operator's Service
  // publishes not-ready addresses).
  std::string cluster;
  std::map<std::string, bool> headless;
  for (const auto& run : runs) {
    const std::string subdomain = run->pod["spec"].value("subdomain", "");
    if (subdomain.empty() || run->dns_names.empty()) continue;
    const std::string key = run->info.ns + "/" + subdomain;
    if (!headless.count(key)) {
      try {
        const json svc = client_.Get(kube::resources::kServices, run->info.ns, subdomain);
        headless[key] = svc["spec"].value("clusterIP", "") == "None";
      } catch (const std::exception&) {
        headless[key] = false;
      }
    }
    if (headless[key]) cluster += run->info.ip + "\t" + run->dns_names + "\n";
  }
  // Services with a cluster IP: this node has no kube-proxy, so the Service's names lead straight
  // to its first ready pod here (its ports must then be the pods' own, as the chart's are).
  try {
    for (const json& svc : client_.List(kube::resources::kServices, "").items) {
      const json selector = svc["spec"].value("selector", json::object());
      if (svc["spec"].value("clusterIP", "None") == "None" || selector.empty()) continue;
      const std::string svc_ns = svc["metadata"].value("namespace", ""), svc_name = svc["metadata"].value("name", "");
      for (const auto& run : runs) {
        bool matches = run->info.ns == svc_ns;
        const json labels = run->pod["metadata"].value("labels", json::object());
        for (const auto& [key, value] : selector.items()) matches = matches && labels.value(key, "") == value;
        bool ready = false;
        {
          std::lock_guard<std::mutex> lock(mu_);
          ready = run->ready;
        }
        if (!matches || !ready) continue;
        const std::string svc_dns = svc_name + "." + svc_ns + ".svc";
        cluster += run->info.ip + "\t" + svc_dns + "." + options_.cluster_domain + "\t" + svc_dns + "\n";
        break;
      }
    }
  } catch (const std::exception& e) {
    Log(std::string("listing Services: ") + e.what());
  }
  for (const auto& run : runs) {
    // In place, as the file is bind-mounted into the pod (its inode must stay the same), and only
    // when it changes: overwritten from the start, then cut to length, so that a process of the pod
    // resolving a name meanwhile never reads an empty file.
    const std::string text = HostsFile(run->info.ip, run->own_names, cluster);
    if (text == run->hosts_written) continue;
    const int fd = ::open(run->hosts_file.c_str(), O_WRONLY | O_CLOEXEC);
    const bool written = fd >= 0 && ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()) &&
                         ::ftruncate(fd, static_cast<off_t>(text.size())) == 0;
    if (fd >= 0) ::close(fd);
    if (written) {
      run->hosts_written = text;
    } else {
      Log("writing " + run->hosts_file + " failed");
    }
  }
}

}  // namespace kubecnn::e2e
