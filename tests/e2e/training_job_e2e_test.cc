// TrainingJobs run end to end through the product as a cluster runs it: a real control plane
// (kube-apiserver, controller manager, scheduler), kubecnn installed with Helm and the real
// kubecnn-operator running as the chart's Deployment pod, jobs applied with kubectl into a
// namespace enforcing Pod Security "restricted"; worker pods running the real sshd with the
// operator's sshd_config and keys; a launcher pod running the real mpirun over ssh into them; the real
// kubecnn-trainer with the operator's flags reading TFRecord shards from a claim and writing
// checkpoints to another — or both in a bucket of a real Ceph object gateway on the pod network;
// status read back as `kubectl get trainingjob -o yaml` shows it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "operator/kube/base64.h"
#include "operator/kube/resource.h"
#include "tests/e2e/e2e_cluster.h"
#include "tests/support/s3_server.h"

namespace kubecnn::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::seconds;

constexpr seconds kJobTimeout{240};

// Pods need root and the machine's sshd and mpirun, the cluster the control plane's binaries
// ($KUBEBUILDER_ASSETS); without them the suite cannot say anything (and fails under CI).
#define REQUIRE_NODE() KUBECNN_REQUIRE_E2E_NODE()

std::string Phase(const json& job) { return job.value("status", json::object()).value("phase", ""); }

const json& Status(const json& job) {
  static const json empty = json::object();
  return job.contains("status") ? job["status"] : empty;
}

json ConditionOf(const json& job, const std::string& type) {
  for (const json& c : Status(job).value("conditions", json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return json::object();
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : " -> ") + s;
  return out;
}

// eval-<step>.json files the trainer wrote in a job's log directory.
std::vector<std::string> EvalFiles(const std::string& log_dir) {
  std::vector<std::string> out;
  if (!fs::exists(log_dir)) return out;
  for (const auto& e : fs::directory_iterator(log_dir)) {
    const std::string name = e.path().filename();
    if (name.rfind("eval-", 0) == 0 && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Steps of the checkpoints (model.ckpt-<step>.pt) among file names or object keys, ascending.
std::vector<long> CheckpointSteps(const std::vector<std::string>& names) {
  std::vector<long> out;
  const std::regex checkpoint(R"((?:.*/)?model\.ckpt-(\d+)\.pt)");
  for (const std::string& name : names) {
    std::smatch m;
    if (std::regex_match(name, m, checkpoint)) out.push_back(std::stol(m[1]));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Steps of the checkpoints in a job's log directory, ascending.
std::vector<long> Checkpoints(const std::string& log_dir) {
  std::vector<std::string> names;
  if (fs::exists(log_dir)) {
    for (const auto& e : fs::directory_iterator(log_dir)) names.push_back(e.path().filename());
  }
  return CheckpointSteps(names);
}

void PrintStatus(const std::string& title, const json& job, const std::vector<std::string>& phases) {
  std::printf("=== %s: phases %s\n%s", title.c_str(), Joined(phases).c_str(),
              AsYaml({{"status", Status(job)}}).c_str());
}

void PrintEvents(E2eCluster& cluster, const std::string& name) {
  for (const json& e : cluster.Events(name)) {
    std::printf("  event %-8s %-22s %s\n", e.value("type", "").c_str(), e.value("reason", "").c_str(),
                e.value("message", "").c_str());
  }
}

// The reasons of the job's Events once all of `expected` are among them, or after 10 s. The
// operator records a pass's Events after its status write, so a test that has just seen the
// phase change may be a moment ahead of them.
std::set<std::string> EventReasons(E2eCluster& cluster, const std::string& name,
                                   const std::vector<std::string>& expected) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::set<std::string> out;
    for (const json& e : cluster.Events(name)) out.insert(e.value("reason", ""));
    const bool all = std::all_of(expected.begin(), expected.end(), [&](const std::string& r) { return out.count(r); });
    if (all || std::chrono::steady_clock::now() > until) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// The trainer's "Steps: N (from M)" line: M is the step it resumed from.
std::vector<long> ResumedFrom(const std::string& log) {
  std::vector<long> out;
  const std::regex steps(R"(Steps:\s+\d+ \(from (\d+)\))");
  for (std::sregex_iterator it(log.begin(), log.end(), steps), end; it != end; ++it) out.push_back(std::stol((*it)[1]));
  return out;
}

// The first process of a pod whose name (comm) is `comm`; -1 when there is none.
int ProcessNamed(E2eCluster& cluster, const RunningPod& pod, const std::string& comm) {
  for (const int pid : cluster.node().ProcessesOf(pod)) {
    if (testing::ReadFile("/proc/" + std::to_string(pid) + "/comm") == comm + "\n") return pid;
  }
  return -1;
}

// "Uid:" of /proc/<pid>/status: real, effective, saved, filesystem.
std::string UidsOf(int pid) {
  const std::string status = testing::ReadFile("/proc/" + std::to_string(pid) + "/status");
  const size_t at = status.find("Uid:\t");
  return at == std::string::npos ? "" : status.substr(at + 5, status.find('\n', at) - at - 5);
}

// Mount options of `target` as the process sees it (/proc/<pid>/mountinfo), e.g. "ro,nosuid".
std::string MountOptions(int pid, const std::string& target) {
  std::istringstream in(testing::ReadFile("/proc/" + std::to_string(pid) + "/mountinfo"));
  std::string options;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, opts;
    fields >> id >> parent >> dev >> root >> point >> opts;
    if (point == target) options = opts;  // the last mount on a path is the one in effect
  }
  return options;
}

// SIGKILLs the kubecnn-trainer processes of the pods named `pod_name`; returns how many it killed.
int KillTrainersOf(E2eCluster& cluster, const std::string& pod_name) {
  int killed = 0;
  for (const RunningPod& pod : PodsNamed(cluster, pod_name)) {
    for (const int pid : cluster.node().ProcessesOf(pod)) {
      if (testing::ReadFile("/proc/" + std::to_string(pid) + "/comm").rfind("kubecnn-trainer", 0) == 0) {
        killed += kill(pid, SIGKILL) == 0;
      }
    }
  }
  return killed;
}

// Waits for Succeeded or Failed, then prints the job's status and Events as a user would see them.
json WaitUntilFinished(E2eCluster& cluster, const std::string& name, std::vector<std::string>* phases) {
  const json job = cluster.WaitFor(
      name, [](const json& j) { return Phase(j) == "Succeeded" || Phase(j) == "Failed"; }, kJobTimeout, phases);
  PrintStatus(name, job, *phases);
  PrintEvents(cluster, name);
  return job;
}

class TrainingJobE2e : public ::testing::Test {
 protected:
  void SetUp() override { MakeShards(data_.path()); }
  testing::ScratchDir data_;
};

// Every object the job's namespace holds, other than Secrets, as one text: where a credential
// copied out of its Secret would show up (pods' env, ConfigMaps, the job, Events).
std::string NamespaceObjectsText(E2eCluster& cluster) {
  std::string out;
  for (const kube::Resource* resource :
       {&kube::resources::kPods, &kube::resources::kConfigMaps, &kube::resources::kServices, &kube::resources::kEvents,
        &kube::resources::kTrainingJobs}) {
    for (const json& object : cluster.client().List(*resource, kNamespace).items) out += object.dump() + "\n";
  }
  return out;
}

// A credential of a run and what it is, for messages.
struct Credential {
  std::string what;
  std::string value;
};

// The credentials a job's run handled: the job's SSH private key (as the Secret holds it, base64,
// and one line of its PEM body), the ServiceAccount tokens projected into the operator's pods, and
// `more` (an object store's secret key, say), each also base64-encoded.
std::vector<Credential> CredentialsOf(E2eCluster& cluster, const std::string& job, std::vector<Credential> more = {}) {
  std::vector<Credential> out;
  for (const json& secret : cluster.client().List(kube::resources::kSecrets, kNamespace).items) {
    if (secret["metadata"].value("labels", json::object()).value("kubecnn.io/job-name", "") != job) continue;
    const std::string encoded = secret["data"].value("ssh-privatekey", "");
    if (encoded.empty()) continue;
    out.push_back({"the SSH private key (base64)", encoded});
    const std::string pem = kube::Base64Decode(encoded).value_or("");
    std::istringstream lines(pem);
    std::string line;
    for (int i = 0; std::getline(lines, line) && i < 3; ++i) {
      if (i == 2) out.push_back({"a line of the SSH private key", line});  // inside the base64 body
    }
  }
  EXPECT_FALSE(out.empty()) << "no SSH Secret of job " << job;
  for (const RunningPod& pod : cluster.node().Pods()) {
    if (pod.ns != kOperatorNamespace) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(pod.dir)) {
      if (!entry.is_regular_file() || entry.path().filename() != "token") continue;
      const std::string token = testing::ReadFile(entry.path().string());
      if (!token.empty()) out.push_back({"the ServiceAccount token of " + pod.name, token});
    }
  }
  EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](const Credential& c) {
    return c.what.find("token") != std::string::npos;
  })) << "found no ServiceAccount token in the operator's pods";
  for (Credential& c : more) {
    out.push_back({c.what + " (base64)", kube::Base64Encode(c.value)});
    out.push_back(std::move(c));
  }
  return out;
}

// Everything of a run that a person or a program reads: the jobs' namespace objects but Secrets
// (status included), the Events of every namespace, kubectl describe, the operator's log and its
// /metrics, every pod's log.
std::string EveryOutputOf(E2eCluster& cluster, const std::string& job) {
  std::string out = NamespaceObjectsText(cluster);
  out += cluster.Kubectl("get events -A -o json").output;
  out += cluster.Kubectl("describe trainingjob " + job + " -n " + std::string(kNamespace)).output;
  out += cluster.OperatorLog();
  for (const RunningPod& pod : cluster.node().Pods()) {
    out += testing::ReadFile(pod.log);
    if (pod.ns == kOperatorNamespace && !pod.finished && !pod.ip.empty()) {
      const testing::CommandOutcome metrics =
          testing::RunCommand("curl -sS --max-time 5 http://" + pod.ip + ":8080/metrics");
      EXPECT_NE(metrics.output.find("kubecnn_operator_"), std::string::npos) << "no metrics from " << pod.name;
      out += metrics.output;
    }
  }
  return out;
}

void ExpectNoCredentialIn(const std::string& outputs, const std::vector<Credential>& credentials) {
  for (const Credential& c : credentials) {
    ASSERT_GE(c.value.size(), 16u) << c.what << " is too short to look for";
    EXPECT_EQ(outputs.find(c.value), std::string::npos) << c.what << " is in the run's output";
  }
  std::printf("=== %zu credentials looked for in %zu bytes of logs, Events, objects, status and metrics: none found\n",
              credentials.size(), outputs.size());
}

TEST_F(TrainingJobE2e, TrainsToSucceededWithProgressAndEvaluationThenAnEvaluateJobScoresTheCheckpoint) {
  REQUIRE_NODE();
  E2eCluster cluster(data_.path());
  const int kSteps = 1200;  // seconds of training: the operator reads progress mid-run
  cluster.Apply(FashionMnistJob("fmnist", 2, kSteps));

  std::vector<std::string> phases;
  const json running = cluster.WaitFor(
      "fmnist",
      [](const json& job) {
        const json progress = Status(job).value("progress", json::object());
        return Phase(job) == "Running" && progress.value("step", 0) > 0 && progress.value("imagesPerSecond", 0.0) > 0;
      },
      kJobTimeout, &phases);
  const json progress = Status(running).value("progress", json::object());
  std::printf("=== while running: progress %s\n", progress.dump().c_str());
  EXPECT_GT(progress.value("step", 0), 0);
  EXPECT_LE(progress.value("step", 0), kSteps);
  EXPECT_GT(progress.value("imagesPerSecond", 0.0), 0.0);
  EXPECT_EQ(Status(running)["workers"].value("ready", 0), 2);

  // A worker as the pod spec says: sshd as uid 1000, the data claim read-only, the checkpoint
  // claim writable, the Secret's keys and the hostfile where the operator mounts them.
  const std::vector<RunningPod> workers = PodsNamed(cluster, "fmnist-worker-0");
  ASSERT_EQ(workers.size(), 1u);
  const int sshd = ProcessNamed(cluster, workers[0], "sshd");
  ASSERT_GT(sshd, 0) << cluster.Diagnostics();
  EXPECT_EQ(UidsOf(sshd), "1000\t1000\t1000\t1000");
  EXPECT_EQ(MountOptions(sshd, "/data").rfind("ro", 0), 0u) << MountOptions(sshd, "/data");
  EXPECT_EQ(MountOptions(sshd, "/checkpoints").rfind("rw", 0), 0u) << MountOptions(sshd, "/checkpoints");
  for (const char* path : {"/etc/kubecnn/ssh", "/etc/kubecnn/hostfile", "/etc/kubecnn/sshd_config", "/dev/shm"}) {
    EXPECT_FALSE(MountOptions(sshd, path).empty()) << path << " is not mounted in the worker";
  }

  const json done = WaitUntilFinished(cluster, "fmnist", &phases);
  ASSERT_EQ(Phase(done), "Succeeded") << cluster.Diagnostics();
  ASSERT_GE(phases.size(), 3u) << Joined(phases);
  // Scheduling while the real scheduler has not bound every worker yet (seen when the first poll
  // comes before the binding), then Pending until they are Ready.
  EXPECT_TRUE(phases.front() == "Pending" || phases.front() == "Scheduling") << Joined(phases);
  EXPECT_NE(std::find(phases.begin(), phases.end(), "Running"), phases.end()) << Joined(phases);
  EXPECT_EQ(Status(done).value("restarts", -1), 0);
  EXPECT_EQ(ConditionOf(done, "Succeeded").value("status", ""), "True");
  EXPECT_EQ(Status(done)["progress"].value("step", 0), kSteps) << "a finished job shows its last step";

  // The checkpoint of the last step is in the checkpoint volume; the evaluation in status is the
  // eval-<step>.json the trainer wrote there.
  const std::string log_dir = cluster.checkpoint_dir() + "/fmnist";
  const std::vector<long> checkpoints = Checkpoints(log_dir);
  ASSERT_FALSE(checkpoints.empty()) << "no checkpoint in " << log_dir;
  EXPECT_EQ(checkpoints.back(), kSteps);
  const std::vector<std::string> evals = EvalFiles(log_dir);
  ASSERT_EQ(evals.size(), 1u) << cluster.Diagnostics();
  const json written = json::parse(testing::ReadFile(evals.back()));
  const json evaluation = Status(done).value("evaluation", json::object());
  EXPECT_DOUBLE_EQ(evaluation.value("top1", -1.0), written.value("top1", -2.0));
  EXPECT_DOUBLE_EQ(evaluation.value("top5", -1.0), written.value("top5", -2.0));
  // The model learned: Fashion-MNIST has 10 classes, so chance is a top-1 of 0.1.
  std::printf("=== evaluation after %d steps: %s\n", kSteps, written.dump().c_str());
  EXPECT_GT(written.value("top1", 0.0), 0.5) << "no better than guessing: " << written.dump();
  EXPECT_EQ(evaluation.value("step", -1), kSteps);
  EXPECT_GT(evaluation.value("top5", 0.0), evaluation.value("top1", 1.0)) << "top-5 can only be above top-1 here";

  // Events tell the story.
  const std::vector<std::string> story = {"JobCreated", "LauncherRunning", "TrainingSucceeded", "Evaluating",
                                          "EvaluationSucceeded"};
  const std::set<std::string> reasons = EventReasons(cluster, "fmnist", story);
  for (const std::string& reason : story) EXPECT_TRUE(reasons.count(reason)) << "no " << reason << " event";
  // ... and kubectl shows them as a user sees them: the CRD's columns, describe's Events.
  const testing::CommandOutcome listed = cluster.Kubectl("get trainingjobs -n " + std::string(kNamespace));
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_TRUE(std::regex_search(listed.output, std::regex(R"(NAME\s+PHASE\s+WORKERS\s+EPOCH\s+IMG/S\s+TOP1\s+AGE)")))
      << listed.output;
  // A finished job has no ready workers; its epoch, last throughput (to a tenth) and top-1 stay.
  EXPECT_TRUE(std::regex_search(listed.output, std::regex(R"(fmnist\s+Succeeded\s+0\s+\d+\s+\d+(\.\d)?\s+0\.\d+\s)")))
      << listed.output;
  const testing::CommandOutcome described =
      cluster.Kubectl("describe trainingjob fmnist -n " + std::string(kNamespace));
  ASSERT_EQ(described.exit_code, 0);
  EXPECT_NE(described.output.find("Events:"), std::string::npos) << described.output;
  EXPECT_TRUE(std::regex_search(described.output, std::regex(R"(Normal\s+EvaluationSucceeded)"))) << described.output;

  // A mode: Evaluate job on the same log directory scores the same checkpoint again.
  json eval_job = FashionMnistJob("fmnist-eval", 2, kSteps);
  eval_job["spec"]["mode"] = "Evaluate";
  eval_job["spec"].erase("evaluation");
  eval_job["spec"]["trainer"]["logDir"] = "/checkpoints/fmnist";
  std::vector<std::string> eval_phases;
  cluster.Apply(eval_job);
  const json scored = WaitUntilFinished(cluster, "fmnist-eval", &eval_phases);
  ASSERT_EQ(Phase(scored), "Succeeded") << cluster.Diagnostics();
  const json again = Status(scored).value("evaluation", json::object());
  EXPECT_EQ(again.value("step", -1), kSteps);
  EXPECT_DOUBLE_EQ(again.value("top1", -1.0), written.value("top1", -2.0)) << "same checkpoint, same images";
  EXPECT_DOUBLE_EQ(again.value("top5", -1.0), written.value("top5", -2.0));
  EXPECT_EQ(PodsNamed(cluster, "fmnist-eval-eval").size(), 1u) << "the Evaluate job runs one evaluation launcher";
  ExpectNoCredentialIn(EveryOutputOf(cluster, "fmnist"), CredentialsOf(cluster, "fmnist"));
}

TEST_F(TrainingJobE2e, KilledTrainerRestartsTheWholeGangWhichResumesFromTheLastCheckpoint) {
  REQUIRE_NODE();
  E2eCluster cluster(data_.path());
  const int kSteps = 2000;
  json job = FashionMnistJob("resume", 2, kSteps);
  job["spec"]["trainer"]["saveIntervalSeconds"] = 1;
  job["spec"]["evaluation"]["enabled"] = false;
  cluster.Apply(job);
  const std::string log_dir = cluster.checkpoint_dir() + "/resume";

  // Mid-run, once a checkpoint exists: SIGKILL worker-1's trainer process.
  std::vector<std::string> phases;
  cluster.WaitFor(
      "resume", [&](const json& j) { return Phase(j) == "Running" && !Checkpoints(log_dir).empty(); }, kJobTimeout,
      &phases);
  ASSERT_FALSE(Checkpoints(log_dir).empty());
  const long newest_before_kill = Checkpoints(log_dir).back();
  const int killed = KillTrainersOf(cluster, "resume-worker-1");
  ASSERT_EQ(killed, 1) << "expected one trainer process in resume-worker-1\n" << cluster.Diagnostics();
  const long killed_after = Checkpoints(log_dir).back();
  std::printf("=== killed worker-1's trainer after the checkpoint of step %ld\n", killed_after);

  const json done = WaitUntilFinished(cluster, "resume", &phases);
  ASSERT_EQ(Phase(done), "Succeeded") << cluster.Diagnostics();
  EXPECT_EQ(Status(done).value("restarts", -1), 1);
  EXPECT_NE(std::find(phases.begin(), phases.end(), "Restarting"), phases.end()) << Joined(phases);
  std::string restart_message;
  for (const json& e : cluster.Events("resume")) {
    if (e.value("reason", "") == "GangRestart") restart_message = e.value("message", "");
  }
  EXPECT_NE(restart_message.find("rank 1"), std::string::npos) << "the restart names the rank that died";
  EXPECT_NE(restart_message.find("signal 9"), std::string::npos) << restart_message;

  // Two gangs ran; the second trainer started from a checkpoint of the first, not from step 0.
  // Each gang's launcher has its attempt's name; the first, finished, stays for its log.
  std::vector<RunningPod> launchers = PodsNamed(cluster, "resume-launcher");
  for (const RunningPod& pod : PodsNamed(cluster, "resume-launcher-1")) launchers.push_back(pod);
  ASSERT_EQ(launchers.size(), 2u) << cluster.Diagnostics();
  EXPECT_EQ(cluster.Kubectl("get pod resume-launcher -n ml").exit_code, 0) << "attempt 0's finished launcher went";
  EXPECT_NE(launchers[0].exit_code, 0);
  EXPECT_EQ(launchers[1].exit_code, 0);
  const std::vector<long> second = ResumedFrom(testing::ReadFile(launchers[1].log));
  ASSERT_EQ(second.size(), 1u) << testing::ReadFile(launchers[1].log);
  EXPECT_GT(second[0], 0) << "the restarted gang trained from scratch";
  EXPECT_GE(second[0], newest_before_kill) << "the restarted gang took an older checkpoint than the one on disk "
                                              "before the kill";
  EXPECT_LT(second[0], kSteps);
  std::printf("=== the restarted gang resumed from step %ld\n", second[0]);
  EXPECT_EQ(Checkpoints(log_dir).back(), kSteps);
  EXPECT_EQ(PodsNamed(cluster, "resume-worker-0").size(), 2u) << "the whole gang restarts, not one pod";
}

// The files of `dir` (the shards and their indexes) as objects under `prefix` in `bucket`; their count.
int UploadFiles(const testing::S3TestClient& s3, const std::string& dir, const std::string& bucket,
                const std::string& prefix) {
  int uploaded = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    s3.PutObject(bucket, prefix + "/" + e.path().filename().string(), testing::ReadFile(e.path()));
    ++uploaded;
  }
  return uploaded;
}

// The job's pods as the API server holds them now: none mounts a claim or /checkpoints, and each
// container takes AWS_SECRET_ACCESS_KEY from `secret` by reference. Adds their names to `seen`.
void ExpectPodsOfJobUseOnlyTheBucket(E2eCluster& cluster, const std::string& job, const std::string& secret,
                                     std::set<std::string>* seen) {
  for (const json& pod : cluster.client().List(kube::resources::kPods, kNamespace).items) {
    const std::string name = pod["metadata"].value("name", "");
    if (name.rfind(job + "-", 0) != 0) continue;
    seen->insert(name);
    for (const json& volume : pod["spec"].value("volumes", json::array())) {
      EXPECT_FALSE(volume.contains("persistentVolumeClaim")) << name << " has a claim: " << volume.dump();
      EXPECT_NE(volume.value("name", ""), "checkpoints") << name;
    }
    for (const json& container : pod["spec"].value("containers", json::array())) {
      for (const json& mount : container.value("volumeMounts", json::array())) {
        EXPECT_NE(mount.value("mountPath", ""), "/checkpoints") << name << ": " << mount.dump();
      }
      bool by_reference = false;
      for (const json& env : container.value("env", json::array())) {
        by_reference |=
            env.value("name", "") == "AWS_SECRET_ACCESS_KEY" &&
            env.value("valueFrom", json::object()).value("secretKeyRef", json::object()).value("name", "") == secret;
      }
      EXPECT_TRUE(by_reference) << name << " does not take AWS_SECRET_ACCESS_KEY from Secret " << secret;
    }
  }
}

TEST_F(TrainingJobE2e, ShardsAndCheckpointsInABucketSurviveAKilledWorkerAndTheEvaluationIsReadFromTheBucket) {
  REQUIRE_NODE();
  KUBECNN_SKIP_WITHOUT_CEPH();
  E2eCluster cluster(data_.path());
  // The gateway listens on the pod network's bridge: the pods reach it as a cluster's pods reach
  // an in-cluster object store (a Ceph RGW under Rook, say).
  const testing::CephObjectGateway& gateway = cluster.ObjectGateway();
  const testing::S3TestClient& s3 = gateway.client();
  const std::string bucket = s3.CreateUniqueBucket("e2e");
  ASSERT_GT(UploadFiles(s3, data_.path(), bucket, "shards"), 0) << "no shards in " << data_.path();

  // The credentials reach the pods only by reference to this Secret.
  const std::string secret_key = gateway.account().secret_key;
  cluster.client().Create(kube::resources::kSecrets, kNamespace,
                          {{"apiVersion", "v1"},
                           {"kind", "Secret"},
                           {"metadata", {{"name", "e2e-s3"}, {"namespace", kNamespace}}},
                           {"type", "Opaque"},
                           {"data",
                            {{"AWS_ACCESS_KEY_ID", kube::Base64Encode(gateway.account().access_key)},
                             {"AWS_SECRET_ACCESS_KEY", kube::Base64Encode(secret_key)}}}});

  const int kSteps = 2000;
  json job = FashionMnistJob("s3resume", 2, kSteps);
  job["spec"].erase("volumes");  // no data or checkpoint claim: everything is in the bucket
  job["spec"]["storage"]["s3"] = {{"endpoint", gateway.endpoint()}, {"credentialsSecret", "e2e-s3"}};
  job["spec"]["trainer"]["dataDir"] = "s3://" + bucket + "/shards";
  job["spec"]["trainer"]["logDir"] = "s3://" + bucket + "/run";
  job["spec"]["trainer"]["saveIntervalSeconds"] = 1;
  cluster.Apply(job);
  const auto checkpoints_in_bucket = [&] { return CheckpointSteps(s3.ListKeys(bucket, "run/")); };

  // Mid-run, once a checkpoint object exists: SIGKILL worker-1's trainer process.
  std::vector<std::string> phases;
  long seen_before_kill = -1;
  cluster.WaitFor(
      "s3resume",
      [&](const json& j) {
        if (Phase(j) != "Running") return false;
        const std::vector<long> steps = checkpoints_in_bucket();
        if (!steps.empty()) seen_before_kill = steps.back();
        return !steps.empty();
      },
      kJobTimeout, &phases);
  ASSERT_GE(seen_before_kill, 0) << "no checkpoint object appeared in s3://" << bucket << "/run/";
  ASSERT_EQ(KillTrainersOf(cluster, "s3resume-worker-1"), 1) << "expected one trainer process in s3resume-worker-1\n"
                                                             << cluster.Diagnostics();
  std::printf("=== killed worker-1's trainer after the checkpoint object of step %ld\n", seen_before_kill);
  std::set<std::string> pods_seen;
  ExpectPodsOfJobUseOnlyTheBucket(cluster, "s3resume", "e2e-s3", &pods_seen);  // the first gang's

  const json done = WaitUntilFinished(cluster, "s3resume", &phases);
  ASSERT_EQ(Phase(done), "Succeeded") << cluster.Diagnostics();
  EXPECT_EQ(Status(done).value("restarts", -1), 1);
  EXPECT_NE(std::find(phases.begin(), phases.end(), "Restarting"), phases.end()) << Joined(phases);

  // The second gang resumed from a checkpoint object of the first: at least the one seen before
  // the kill, named by its key in the bucket.
  // Each gang's launcher has its attempt's name; the first, finished, stays for its log.
  std::vector<RunningPod> launchers = PodsNamed(cluster, "s3resume-launcher");
  for (const RunningPod& pod : PodsNamed(cluster, "s3resume-launcher-1")) launchers.push_back(pod);
  ASSERT_EQ(launchers.size(), 2u) << cluster.Diagnostics();
  EXPECT_EQ(cluster.Kubectl("get pod s3resume-launcher -n ml").exit_code, 0) << "attempt 0's finished launcher went";
  EXPECT_NE(launchers[0].exit_code, 0);
  EXPECT_EQ(launchers[1].exit_code, 0);
  const std::string second_log = testing::ReadFile(launchers[1].log);
  const std::regex resuming("resuming from (s3://" + bucket + R"(/run/model\.ckpt-(\d+)\.pt) at step (\d+))");
  std::smatch resumed;
  ASSERT_TRUE(std::regex_search(second_log, resumed, resuming)) << "no resume from the bucket in:\n" << second_log;
  const long resumed_object = std::stol(resumed[2]), resumed_step = std::stol(resumed[3]);
  std::printf("=== the restarted gang resumed from %s at step %ld\n", resumed[1].str().c_str(), resumed_step);
  EXPECT_EQ(resumed_step, resumed_object);
  EXPECT_GE(resumed_step, seen_before_kill) << "the restarted gang took an older checkpoint than the bucket held";
  EXPECT_LT(resumed_step, kSteps);
  EXPECT_EQ(ResumedFrom(second_log), std::vector<long>{resumed_step}) << second_log;
  ASSERT_FALSE(checkpoints_in_bucket().empty());
  EXPECT_EQ(checkpoints_in_bucket().back(), kSteps);

  // The evaluation in status is the eval-<step>.json object the evaluation wrote to the bucket.
  std::vector<std::string> evals;
  for (const std::string& key : s3.ListKeys(bucket, "run/eval-")) {
    if (key.size() > 5 && key.compare(key.size() - 5, 5, ".json") == 0) evals.push_back(key);
  }
  ASSERT_EQ(evals.size(), 1u) << cluster.Diagnostics();
  EXPECT_EQ(evals[0], "run/eval-" + std::to_string(kSteps) + ".json");
  const std::optional<std::string> eval_object = s3.GetObject(bucket, evals[0]);
  ASSERT_TRUE(eval_object.has_value());
  const json written = json::parse(*eval_object);
  const json evaluation = Status(done).value("evaluation", json::object());
  EXPECT_EQ(evaluation.value("step", -1), kSteps);
  EXPECT_DOUBLE_EQ(evaluation.value("top1", -1.0), written.value("top1", -2.0));
  EXPECT_DOUBLE_EQ(evaluation.value("top5", -1.0), written.value("top5", -2.0));
  EXPECT_TRUE(EventReasons(cluster, "s3resume", {"EvaluationSucceeded"}).count("EvaluationSucceeded"))
      << "no EvaluationSucceeded event";

  // No pod of either gang or of the evaluation had a claim or a checkpoint mount; each got the
  // keys by reference to the Secret.
  ExpectPodsOfJobUseOnlyTheBucket(cluster, "s3resume", "e2e-s3", &pods_seen);
  for (const char* pod :
       {"s3resume-launcher", "s3resume-launcher-1", "s3resume-worker-0", "s3resume-worker-1", "s3resume-eval-1"}) {
    EXPECT_TRUE(pods_seen.count(pod)) << "never saw pod " << pod;
  }

  // The secret key is nowhere but in its Secret: not in status, Events or any other object, not in
  // the operator's log or metrics, not in what the trainers printed; nor is the SSH key or a token.
  ExpectNoCredentialIn(EveryOutputOf(cluster, "s3resume"),
                       CredentialsOf(cluster, "s3resume", {{"the object store's secret key", secret_key}}));
}

TEST_F(TrainingJobE2e, BadTrainerFlagFailsTheJobAtOnceWithTheTrainersMessage) {
  REQUIRE_NODE();
  E2eCluster cluster(data_.path());
  json job = FashionMnistJob("badflag", 2, 20);
  job["spec"]["trainer"]["extraArgs"].push_back("--no_such_flag=1");
  cluster.Apply(job);
  std::vector<std::string> phases;
  const json done = WaitUntilFinished(cluster, "badflag", &phases);
  ASSERT_EQ(Phase(done), "Failed") << cluster.Diagnostics();
  EXPECT_EQ(Status(done).value("restarts", -1), 0);
  const json failed = ConditionOf(done, "Failed");
  EXPECT_EQ(failed.value("status", ""), "True");
  EXPECT_EQ(failed.value("reason", ""), "PermanentError");
  EXPECT_NE(failed.value("message", "").find("--no_such_flag"), std::string::npos) << failed.dump();
  EXPECT_EQ(PodsNamed(cluster, "badflag-launcher").size(), 1u) << "a permanent error is not retried";
  ASSERT_FALSE(PodsNamed(cluster, "badflag-launcher").empty());
  EXPECT_EQ(PodsNamed(cluster, "badflag-launcher")[0].exit_code, 2);
}

// Waits until the job runs and its trainer has taken a step (status.progress shows it).
void WaitUntilTraining(E2eCluster& cluster, const std::string& name) {
  cluster.WaitFor(
      name,
      [](const json& job) {
        return Phase(job) == "Running" && Status(job).value("progress", json::object()).value("step", 0) > 0;
      },
      kJobTimeout);
}

// Pods, Services, ConfigMaps and Secrets of a job (by its label) still in the namespace.
std::vector<std::string> ObjectsOfJob(E2eCluster& cluster, const std::string& job) {
  std::vector<std::string> out;
  kube::ListOptions options;
  options.label_selector = "kubecnn.io/job-name=" + job;
  for (const kube::Resource* resource : {&kube::resources::kPods, &kube::resources::kServices,
                                         &kube::resources::kConfigMaps, &kube::resources::kSecrets}) {
    for (const json& object : cluster.client().List(*resource, kNamespace, options).items) {
      out.push_back(resource->plural + "/" + object["metadata"].value("name", ""));
    }
  }
  return out;
}

TEST_F(TrainingJobE2e, DeletingARunningJobStopsItsPodsGracefullyAndTheGarbageCollectorLeavesNothing) {
  REQUIRE_NODE();
  E2eCluster cluster(data_.path());
  cluster.Apply(FashionMnistJob("gone", 2, 100000));
  WaitUntilTraining(cluster, "gone");
  ASSERT_FALSE(ObjectsOfJob(cluster, "gone").empty());

  // kubectl delete as a user types it: the TrainingJob goes at once, its children by their
  // ownerReferences through the real garbage collector, each pod with SIGTERM first.
  const testing::CommandOutcome deleted =
      cluster.Kubectl("delete trainingjob gone -n " + std::string(kNamespace) + " --wait=true --timeout=60s");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  const auto deadline = std::chrono::steady_clock::now() + seconds(90);
  std::vector<std::string> left = ObjectsOfJob(cluster, "gone");
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    left = ObjectsOfJob(cluster, "gone");
  }
  std::string names;
  for (const std::string& n : left) names += n + " ";
  ASSERT_TRUE(left.empty()) << "still there 90 s after the delete: " << names << "\n" << cluster.Diagnostics();
  const std::string node_log = cluster.node().LogText();
  for (const char* pod : {"gone-worker-0", "gone-worker-1", "gone-launcher"}) {
    EXPECT_NE(node_log.find(std::string(pod) + " terminating: SIGTERM"), std::string::npos) << pod << "\n" << node_log;
    EXPECT_EQ(node_log.find(std::string(pod) + " grace period over"), std::string::npos)
        << pod << " needed SIGKILL: it ignored SIGTERM for its whole grace period\n"
        << node_log;
  }
  for (const RunningPod& pod : cluster.node().Pods()) {
    if (pod.name.rfind("gone-", 0) == 0) {
      EXPECT_TRUE(pod.finished) << pod.name;
      EXPECT_TRUE(cluster.node().ProcessesOf(pod).empty()) << pod.name << " still has processes";
    }
  }
}

TEST_F(TrainingJobE2e, AGangTooBigForTheNodeIsReleasedAndRunsOnceTheGpusAreThere) {
  REQUIRE_NODE();
  E2eClusterOptions options;
  options.node_gpus = 1;  // the gang wants 2
  E2eCluster cluster(data_.path(), options);
  json job = FashionMnistJob("big", 2, 30);
  job["spec"]["resources"] = {{"limits", {{"nvidia.com/gpu", 1}}}};
  job["spec"]["scheduling"] = {{"scheduleTimeoutSeconds", 10}};
  job["spec"].erase("evaluation");
  cluster.Apply(job);

  // The real scheduler binds one worker and leaves the other Pending (Insufficient nvidia.com/gpu);
  // after scheduleTimeoutSeconds the operator releases the whole gang and retries.
  const json released = cluster.WaitFor(
      "big", [](const json& j) { return ConditionOf(j, "Scheduled").value("reason", "") == "ScheduleTimeout"; },
      kJobTimeout);
  const std::string message = ConditionOf(released, "Scheduled").value("message", "");
  std::printf("=== released: %s\n", message.c_str());
  EXPECT_NE(message.find("1 of 2 workers scheduled"), std::string::npos) << message;
  EXPECT_NE(message.find("Insufficient nvidia.com/gpu"), std::string::npos) << message;
  EXPECT_NE(Phase(released), "Running");

  // A second GPU appears on the node: the next attempt fits and the job trains to the end.
  cluster.node().SetGpus(2);
  std::vector<std::string> phases;
  const json done = WaitUntilFinished(cluster, "big", &phases);
  ASSERT_EQ(Phase(done), "Succeeded") << cluster.Diagnostics();
  EXPECT_GE(Status(done).value("admissionRetries", 0), 1);
  EXPECT_TRUE(EventReasons(cluster, "big", {"ScheduleTimeout"}).count("ScheduleTimeout"))
      << "the release is also an Event (recorded after the status write)";
}

TEST_F(TrainingJobE2e, KillingTheLeadingOperatorReplicaHandsTheJobToTheStandbyWhichFinishesIt) {
  REQUIRE_NODE();
  E2eClusterOptions options;
  options.operator_replicas = 2;
  E2eCluster cluster(data_.path(), options);
  cluster.Apply(FashionMnistJob("failover", 2, 1500));
  WaitUntilTraining(cluster, "failover");

  // The leader is whoever holds the chart's Lease; its identity starts with its pod's name.
  const json lease = cluster.client().Get(kube::resources::kLeases, kOperatorNamespace, "kubecnn-operator");
  const std::string leader = lease["spec"].value("holderIdentity", "");
  std::printf("=== leader: %s (transitions %d)\n", leader.c_str(), lease["spec"].value("leaseTransitions", 0));
  std::optional<RunningPod> leader_pod;
  for (const RunningPod& pod : cluster.node().Pods()) {
    if (pod.ns == kOperatorNamespace && !pod.name.empty() && leader.rfind(pod.name, 0) == 0) leader_pod = pod;
  }
  ASSERT_TRUE(leader_pod) << "no operator pod holds the lease (" << leader << ")\n" << cluster.Diagnostics();
  const int operator_pid = ProcessNamed(cluster, *leader_pod, "kubecnn-operato");
  ASSERT_GT(operator_pid, 0) << cluster.Diagnostics();
  ASSERT_EQ(::kill(operator_pid, SIGKILL), 0);
  std::printf("=== killed the leader's process %d in %s\n", operator_pid, leader_pod->name.c_str());

  // The standby takes the lease once it lapses, and the job finishes under it.
  std::vector<std::string> phases;
  const json done = WaitUntilFinished(cluster, "failover", &phases);
  ASSERT_EQ(Phase(done), "Succeeded") << cluster.Diagnostics();
  const json after = cluster.client().Get(kube::resources::kLeases, kOperatorNamespace, "kubecnn-operator");
  const std::string new_leader = after["spec"].value("holderIdentity", "");
  std::printf("=== leader now: %s (transitions %d)\n", new_leader.c_str(), after["spec"].value("leaseTransitions", 0));
  EXPECT_NE(new_leader, leader);
  EXPECT_GT(after["spec"].value("leaseTransitions", 0), lease["spec"].value("leaseTransitions", 0));
  EXPECT_EQ(Status(done).value("restarts", -1), 0) << "a new leader adopts the running gang, it does not restart it";
}

TEST(HelmRelease, HelmTestPassesAndUninstallLeavesOnlyTheCrd) {
  REQUIRE_NODE();
  testing::ScratchDir data;
  E2eCluster cluster(data.path());
  const testing::CommandOutcome tested =
      HelmRelease(cluster.control_plane().admin_kubeconfig(), "test", "--timeout=90");
  std::printf("$ helm test %s -n %s\n%s", kRelease, kOperatorNamespace, tested.output.c_str());
  ASSERT_EQ(tested.exit_code, 0) << tested.output << cluster.Diagnostics();

  const testing::CommandOutcome removed =
      HelmRelease(cluster.control_plane().admin_kubeconfig(), "uninstall", "--timeout=90");
  std::printf("$ helm uninstall %s -n %s\n%s", kRelease, kOperatorNamespace, removed.output.c_str());
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  // Helm's rule: the CRD (from crds/) stays; everything the release made is gone.
  const testing::CommandOutcome left =
      cluster.Kubectl("get deployments,replicasets,serviceaccounts,services,roles,rolebindings,configmaps -n " +
                      std::string(kOperatorNamespace) + " -l app.kubernetes.io/part-of=kubecnn -o name");
  EXPECT_EQ(left.exit_code, 0);
  EXPECT_EQ(left.output.find('/'), std::string::npos) << "left behind:\n" << left.output;
  const testing::CommandOutcome cluster_wide = cluster.Kubectl(
      std::string("get clusterroles,clusterrolebindings -l app.kubernetes.io/part-of=kubecnn") + " -o name");
  EXPECT_EQ(cluster_wide.output.find('/'), std::string::npos) << "left behind:\n" << cluster_wide.output;
  EXPECT_EQ(cluster.Kubectl("get crd trainingjobs.kubecnn.io -o name").exit_code, 0) << "the CRD stays";
  // The operator's pods go with their ReplicaSet (the garbage collector), SIGTERM first.
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  size_t pods = 1;
  while (pods > 0 && std::chrono::steady_clock::now() < deadline) {
    pods = cluster.client().List(kube::resources::kPods, kOperatorNamespace).items.size();
    if (pods > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(pods, 0u) << cluster.Diagnostics();
}

}  // namespace
}  // namespace kubecnn::e2e
