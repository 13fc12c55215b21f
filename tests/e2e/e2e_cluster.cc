// E2eCluster: fixture, operator process, network and node for one end-to-end test.
#include "tests/e2e/e2e_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "operator/kube/kubeconfig.h"
#include "operator/kube/resource.h"

namespace kubecnn::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kBinaryDir = KUBECNN_BINARY_DIR;
const std::string kTrainer = kBinaryDir + "/trainer/kubecnn-trainer";
const std::string kOperator = kBinaryDir + "/operator/kubecnn-operator";
const std::string kSandbox = kBinaryDir + "/tests/e2e/kubecnn-e2e-pod-sandbox";

// The operator as a Deployment would run it, tuned for seconds-long jobs.
std::vector<std::string> OperatorArgs(const std::string& kubeconfig) {
  return {kOperator,          "--kubeconfig=" + kubeconfig, "--leader_elect=false", "--health_port=0",
          "--metrics_port=0", "--kube_api_qps=0",           "--progress_period=1",  "--restart_backoff=1"};
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

E2eCluster::E2eCluster(const std::string& data_dir) {
  checkpoint_dir_ = dir_ / "volumes/checkpoints";
  fs::create_directories(checkpoint_dir_);
  testing::WriteFile(dir_ / "kubeconfig", server_.Kubeconfig("token: e2e", kNamespace));
  server_.RequireBearerTokens({"e2e"});
  kube::RestConfig rest = kube::LoadRestConfig(dir_ / "kubeconfig", "");
  rest.qps = 0;
  rest.user_agent = "kubecnn-e2e";
  client_ = std::make_unique<kube::Client>(rest);
  client_->Create(kube::resources::kNamespaces, "",
                  {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}});
  network_ = std::make_unique<PodNetwork>();
  NodeAgentOptions options;
  options.work_dir = dir_ / "node";
  options.sandbox_binary = kSandbox;
  NodeImage image;
  if (const char* rootfs = std::getenv("KUBECNN_E2E_TRAINER_ROOTFS"); rootfs != nullptr && *rootfs != '\0') {
    image.root = rootfs;  // the trainer image as built: its own trainer, user and tools
    image.add_user = false;
    std::printf("=== pods run on the trainer image's root %s\n", rootfs);
  } else {
    image.files["/usr/local/bin/kubecnn-trainer"] = kTrainer;  // where the image keeps it
  }
  options.images[kTrainerImage] = image;
  options.claims[kDataClaim] = data_dir;
  options.claims[kCheckpointClaim] = checkpoint_dir_;
  options.min_probe_period_seconds = 0;
  node_ = std::make_unique<NodeAgent>(*client_, *network_, options);
  node_->Start();
  operator_ = std::make_unique<testing::Process>(OperatorArgs(dir_ / "kubeconfig"), dir_ / "operator.log");
}

E2eCluster::~E2eCluster() {
  if (std::getenv("KUBECNN_E2E_VERBOSE") != nullptr) std::printf("%s", Diagnostics().c_str());
  if (operator_) {
    operator_->Signal(SIGTERM);
    operator_->Wait(std::chrono::seconds(30));
  }
  node_.reset();
  object_gateway_.reset();  // before the bridge it listens on goes
  network_.reset();
}

const testing::CephObjectGateway& E2eCluster::ObjectGateway() {
  if (!object_gateway_) object_gateway_ = std::make_unique<testing::CephObjectGateway>(PodNetwork::kNodeIp);
  return *object_gateway_;
}

json E2eCluster::Apply(const json& training_job) {
  return client_->Create(kube::resources::kTrainingJobs, kNamespace, training_job);
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

std::string E2eCluster::OperatorLog() const { return operator_ ? operator_->output() : ""; }

std::string E2eCluster::Diagnostics() {
  std::string out = "--- operator log ---\n" + OperatorLog() + "--- node log ---\n" + node_->LogText();
  for (const RunningPod& pod : node_->Pods()) {
    out += "--- pod " + pod.name + " (" + pod.ip + (pod.finished ? ", exit " + std::to_string(pod.exit_code) : "") +
           ") ---\n" + testing::ReadFile(pod.log);
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

std::string AsYaml(const json& object) {
  std::ostringstream out;
  EmitYaml(object, 0, out);
  return out.str();
}

}  // namespace kubecnn::e2e
