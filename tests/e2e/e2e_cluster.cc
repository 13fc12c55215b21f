// E2eCluster: control plane, network, node and Helm release for one end-to-end test.
#include "tests/e2e/e2e_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "operator/kube/kubeconfig.h"
#include "operator/kube/resource.h"
#include "tests/support/test_pki.h"

namespace kubecnn::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kBinaryDir = KUBECNN_BINARY_DIR;
const std::string kSourceDir = KUBECNN_SOURCE_DIR;
const std::string kTrainer = kBinaryDir + "/trainer/kubecnn-trainer";
const std::string kOperator = kBinaryDir + "/operator/kubecnn-operator";
const std::string kSandbox = kBinaryDir + "/tests/e2e/kubecnn-e2e-pod-sandbox";
constexpr const char* kOperatorImage = "kubecnn/operator";
constexpr const char* kOperatorTag = "e2e";
constexpr const char* kNodeName = "e2e-node";

// The chart's values for seconds-long jobs: no client rate limit, progress every second, a gang
// restarted (or released gang re-admitted) a second after it fails, and a short leader lease so
// that a standby takes over fast.
json ChartValues(const E2eClusterOptions& options) {
  return {{"image", {{"repository", kOperatorImage}, {"tag", kOperatorTag}, {"pullPolicy", "Never"}}},
          {"replicaCount", options.operator_replicas},
          {"leaderElection", {{"leaseDurationSeconds", 6}, {"renewDeadlineSeconds", 4}, {"retryPeriodSeconds", 1}}},
          {"operator",
           {{"kubeApiQps", 0},
            {"progressPeriodSeconds", 1},
            {"restartBackoffSeconds", 1},
            {"extraArgs", json::array({"--admission_backoff=1"})}}},
          {"tests", {{"image", "busybox:1.36"}}}};
}

// The operator image's root filesystem as docker/operator-rootfs.sh makes it from this build's
// binary, once per test process.
const std::string& OperatorRootfs() {
  static testing::ScratchDir* dir = new testing::ScratchDir();  // lives as long as the process
  static const std::string root = [] {
    const std::string path = *dir / "operator-rootfs";
    const testing::CommandOutcome made =
        testing::RunCommand("sh " + kSourceDir + "/docker/operator-rootfs.sh " + kOperator + " " + path + " 2>&1");
    if (made.exit_code != 0) throw std::runtime_error("docker/operator-rootfs.sh failed: " + made.output);
    return path;
  }();
  return root;
}

std::string Scalar(const json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    const bool plain = !s.empty() && s.find_first_of(":#{}[],&*!|>'\"%@`\n") == std::string::npos &&
                       s.find_first_not_of("0123456789.-+eE") != std::string::npos && s != "true" && s != "false" &&
                       s != "null" && s.front() != ' ' && s.back() != ' ' && s.front() != '-';
    return plain ? s : json(s).dump();
  }
  return v.dump();
}

void EmitYaml(const json& v, int indent, std::ostringstream& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      out << pad << key << ":";
      if ((value.is_object() || value.is_array()) && !value.empty()) {
        out << "\n";
        EmitYaml(value, value.is_array() ? indent : indent + 2, out);
      } else {
        out << " " << (value.is_object() ? "{}" : value.is_array() ? "[]" : Scalar(value)) << "\n";
      }
    }
  } else if (v.is_array()) {
    for (const json& item : v) {
      if (item.is_object() && !item.empty()) {
        std::ostringstream inner;
        EmitYaml(item, indent + 2, inner);
        std::string text = inner.str();
        text.replace(static_cast<size_t>(indent), 2, "- ");
        out << text;
      } else {
        out << pad << "- " << Scalar(item) << "\n";
      }
    }
  }
}

}  // namespace

testing::CommandOutcome HelmRelease(const std::string& kubeconfig, const std::string& action,
                                    const std::string& extra) {
  return testing::RunCommand(std::string(KUBECNN_PYTHON) + " " + kSourceDir + "/tests/support/helm_release.py " +
                             action + " --kubeconfig=" + kubeconfig + " --namespace=" + kOperatorNamespace +
                             " --name=" + kRelease + " " + extra + " 2>&1");
}

E2eCluster::E2eCluster(const std::string& data_dir, E2eClusterOptions options) {
  checkpoint_dir_ = dir_ / "volumes/checkpoints";
  fs::create_directories(checkpoint_dir_);
  network_ = std::make_unique<PodNetwork>();
  // The API server listens on the node's address on the pod network, where pods reach it.
  testing::ControlPlaneOptions plane;
  plane.bind_address = PodNetwork::kNodeIp;
  control_plane_ = std::make_unique<testing::ControlPlane>(plane);
  kube::RestConfig admin = kube::LoadRestConfig(control_plane_->admin_kubeconfig(), "");
  admin.qps = 0;
  admin.user_agent = "kubecnn-e2e";
  client_ = std::make_unique<kube::Client>(admin);

  // The kubelet: system:node:e2e-node, judged by the Node authorizer and NodeRestriction.
  kube::RestConfig node = kube::LoadRestConfig(
      control_plane_->KubeconfigFor(std::string("system:node:") + kNodeName, {"system:nodes"}), "");
  node.qps = 0;
  node.user_agent = "kubecnn-e2e-node";
  node_client_ = std::make_unique<kube::Client>(node);
  NodeAgentOptions agent;
  agent.work_dir = dir_ / "node";
  agent.sandbox_binary = kSandbox;
  agent.node_name = kNodeName;
  agent.gpus = options.node_gpus;
  agent.api_host = PodNetwork::kNodeIp;
  agent.api_port = control_plane_->ports().apiserver;
  // The kubelet's serving certificate from the cluster CA (kube-apiserver's
  // --kubelet-certificate-authority), for the InternalIP it is reached at; its clients are
  // certificates of the same CA (kube-apiserver's --kubelet-client-certificate).
  const testing::KeyPair cluster_ca{control_plane_->ca_cert_pem(),
                                    testing::ReadFile(testing::ControlPlaneFiles(control_plane_->dir()).ca_key)};
  const testing::KeyPair serving =
      testing::IssueServerCert(cluster_ca, std::string("system:node:") + kNodeName, {PodNetwork::kNodeIp}, {kNodeName});
  agent.serving_cert_pem = serving.cert_pem;
  agent.serving_key_pem = serving.key_pem;
  agent.client_ca_pem = control_plane_->ca_cert_pem();
  NodeImage trainer;
  if (const char* rootfs = std::getenv("KUBECNN_E2E_TRAINER_ROOTFS"); rootfs != nullptr && *rootfs != '\0') {
    trainer.root = rootfs;  // the trainer image as built: its own trainer, user and tools
    trainer.add_user = false;
    std::printf("=== pods run on the trainer image's root %s\n", rootfs);
  } else {
    trainer.files["/usr/local/bin/kubecnn-trainer"] = kTrainer;  // where the image keeps it
  }
  agent.images[kTrainerImage] = trainer;
  NodeImage operator_image;
  operator_image.root = OperatorRootfs();
  operator_image.add_user = false;  // the image's own nonroot (65532)
  operator_image.entrypoint = {"/usr/local/bin/kubecnn-operator"};
  agent.images[std::string(kOperatorImage) + ":" + kOperatorTag] = operator_image;
  NodeImage busybox;  // the chart's `helm test` pod: wget, here the host's
  busybox.add_user = false;
  agent.images["busybox:1.36"] = busybox;
  agent.claims[kDataClaim] = data_dir;
  agent.claims[kCheckpointClaim] = checkpoint_dir_;
  node_ = std::make_unique<NodeAgent>(*node_client_, *network_, agent);
  node_->Start();

  // The jobs' namespace enforces Pod Security "restricted", as a hardened cluster's do.
  control_plane_->CreateNamespace(kNamespace, {{"pod-security.kubernetes.io/enforce", "restricted"},
                                               {"pod-security.kubernetes.io/enforce-version", "latest"}});
  CreateClaim(kDataClaim, data_dir);
  CreateClaim(kCheckpointClaim, checkpoint_dir_);
  InstallOperator(options);
}

void E2eCluster::InstallOperator(const E2eClusterOptions& options) {
  const testing::CommandOutcome installed = HelmRelease(control_plane_->admin_kubeconfig(), "install",
                                                        "--timeout=120 --values='" + ChartValues(options).dump() + "'");
  std::printf("$ helm install %s charts/kubecnn -n %s --create-namespace --wait\n%s", kRelease, kOperatorNamespace,
              installed.output.c_str());
  if (installed.exit_code != 0) {
    throw std::runtime_error("helm install failed:\n" + installed.output + Diagnostics());
  }
}

void E2eCluster::CreateClaim(const std::string& name, const std::string& dir) {
  const std::string volume = std::string(kNamespace) + "-" + name;
  const json pv = {{"apiVersion", "v1"},
                   {"kind", "PersistentVolume"},
                   {"metadata", {{"name", volume}}},
                   {"spec",
                    {{"capacity", {{"storage", "10Gi"}}},
                     {"accessModes", json::array({"ReadWriteMany"})},
                     {"persistentVolumeReclaimPolicy", "Retain"},
                     {"storageClassName", ""},
                     {"hostPath", {{"path", dir}}},
                     {"claimRef", {{"namespace", kNamespace}, {"name", name}}}}}};
  const json pvc = {{"apiVersion", "v1"},
                    {"kind", "PersistentVolumeClaim"},
                    {"metadata", {{"name", name}, {"namespace", kNamespace}}},
                    {"spec",
                     {{"accessModes", json::array({"ReadWriteMany"})},
                      {"storageClassName", ""},
                      {"volumeName", volume},
                      {"resources", {{"requests", {{"storage", "10Gi"}}}}}}}};
  const testing::CommandOutcome applied = control_plane_->Kubectl("apply -f -", pv.dump() + "\n" + pvc.dump());
  if (applied.exit_code != 0) throw std::runtime_error("creating claim " + name + ": " + applied.output);
  // The controller manager binds them in a moment; before that the scheduler refuses the pods
  // ("unbound immediate PersistentVolumeClaims").
  const testing::CommandOutcome bound = control_plane_->Kubectl("wait --for=jsonpath='{.status.phase}'=Bound pvc/" +
                                                                name + " -n " + kNamespace + " --timeout=60s");
  if (bound.exit_code != 0) throw std::runtime_error("claim " + name + " not bound within 60 s: " + bound.output);
}

E2eCluster::~E2eCluster() {
  if (std::getenv("KUBECNN_E2E_VERBOSE") != nullptr) std::printf("%s", Diagnostics().c_str());
  node_.reset();            // every pod (the operator's too) gets killed
  object_gateway_.reset();  // before the bridge it listens on goes
  control_plane_.reset();
  network_.reset();
}

const testing::CephObjectGateway& E2eCluster::ObjectGateway() {
  if (!object_gateway_) object_gateway_ = std::make_unique<testing::CephObjectGateway>(PodNetwork::kNodeIp);
  return *object_gateway_;
}

testing::CommandOutcome E2eCluster::Kubectl(const std::string& args, const std::string& input) {
  testing::CommandOutcome out = control_plane_->Kubectl(args, input);
  std::printf("$ kubectl %s\n%s", args.c_str(), out.output.c_str());
  return out;
}

json E2eCluster::Apply(const json& training_job) {
  const std::string name = training_job["metadata"].value("name", "");
  const testing::CommandOutcome applied = Kubectl("apply -n " + std::string(kNamespace) + " -f -", training_job.dump());
  EXPECT_EQ(applied.exit_code, 0) << "kubectl apply of TrainingJob " << name << " was refused:\n" << applied.output;
  return Get(name);
}

json E2eCluster::Get(const std::string& name) { return client_->Get(kube::resources::kTrainingJobs, kNamespace, name); }

json E2eCluster::WaitFor(const std::string& name, const std::function<bool(const json&)>& done,
                         std::chrono::seconds timeout, std::vector<std::string>* phases) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  json job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = Get(name);
    const std::string phase = job.value("status", json::object()).value("phase", "");
    if (phases && !phase.empty() && (phases->empty() || phases->back() != phase)) phases->push_back(phase);
    if (done(job)) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "timed out after " << timeout.count() << " s waiting for TrainingJob " << name << ":\n"
                << AsYaml(job) << Diagnostics();
  return job;
}

std::vector<json> E2eCluster::Events(const std::string& name) {
  std::vector<json> out;
  for (const json& e : client_->List(kube::resources::kEvents, kNamespace).items) {
    const json& about = e.value("involvedObject", json::object());
    if (about.value("kind", "") == "TrainingJob" && about.value("name", "") == name) out.push_back(e);
  }
  return out;
}

std::string E2eCluster::OperatorLog() const {
  std::string out;
  if (!node_) return out;
  for (const RunningPod& pod : node_->Pods()) {
    if (pod.ns == kOperatorNamespace && pod.name.rfind(kRelease, 0) == 0) out += testing::ReadFile(pod.log);
  }
  return out;
}

std::string E2eCluster::Diagnostics() {
  if (!node_) return "";
  std::string out = "--- node log ---\n" + node_->LogText();
  for (const RunningPod& pod : node_->Pods()) {
    out += "--- pod " + pod.ns + "/" + pod.name + " (" + pod.ip +
           (pod.finished ? ", exit " + std::to_string(pod.exit_code) : "") + ") ---\n" + testing::ReadFile(pod.log);
    if (pod.finished && pod.exit_code != 0 && fs::exists(pod.dir + "/hosts")) {
      out += "--- its /etc/hosts ---\n" + testing::ReadFile(pod.dir + "/hosts");
    }
  }
  return out;
}

json FashionMnistJob(const std::string& name, int workers, int num_batches) {
  return {{"apiVersion", "kubecnn.io/v1alpha1"},
          {"kind", "TrainingJob"},
          {"metadata", {{"name", name}, {"namespace", kNamespace}}},
          {"spec",
           {{"image", kTrainerImage},
            {"imagePullPolicy", "Never"},
            {"workers", workers},
            {"slotsPerWorker", 1},
            {"trainer",
             {{"model", "tiny"},
              {"dataDir", "/data"},
              {"logDir", "/checkpoints/" + name},
              {"numClasses", 10},
              {"batchSize", 16},
              {"numBatches", num_batches},
              {"learningRate", 0.05},
              {"displayEvery", 10},
              {"numDataThreads", 1},
              {"extraArgs", json::array({"--image_size=32"})}}},
            {"volumes",
             {{"data", {{"persistentVolumeClaim", {{"claimName", kDataClaim}}}}},
              {"checkpoints", {{"persistentVolumeClaim", {{"claimName", kCheckpointClaim}}}}}}},
            {"runPolicy", {{"backoffLimit", 2}, {"cleanPodPolicy", "None"}}},
            {"evaluation", {{"enabled", true}}}}}};
}

void MakeShards(const std::string& output_dir) {
  const std::string command =
      kTrainer + " make-shards --fashion_mnist=/usr/share/datasets/fashion-mnist --output_dir=" + output_dir +
      " --train_shards=4 --validation_shards=2 --max_images_per_split=640 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0) << command << "\n" << output;
}

std::vector<RunningPod> PodsNamed(E2eCluster& cluster, const std::string& name) {
  std::vector<RunningPod> out;
  for (const RunningPod& p : cluster.node().Pods()) {
    if (p.name == name) out.push_back(p);
  }
  return out;
}

std::string AsYaml(const json& object) {
  std::ostringstream out;
  EmitYaml(object, 0, out);
  return out.str();
}

std::string MissingForPods() {
  if (!NodeUnavailableReason().empty()) return NodeUnavailableReason();
  for (const char* tool : {"/usr/sbin/sshd", "/usr/bin/mpirun", "/usr/bin/ssh"}) {
    if (access(tool, X_OK) != 0) return std::string(tool) + " is not installed";
  }
  return "";
}

}  // namespace kubecnn::e2e
