// Builders: each child's content (Service, hostfile, Secret with a usable key pair, PodGroup, worker
// and launcher pods with the podTemplate merged), the trainer's argv from typed fields, and the
// launcher script run by a real /bin/sh (user input stays one argument; eval results are copied).
#include "operator/controller/builders.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "operator/api/defaults.h"
#include "operator/controller/names.h"
#include "operator/controller/pod_builders.h"
#include "operator/controller/ssh_keys.h"
#include "operator/controller/trainer_args.h"
#include "operator/kube/base64.h"
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;
using testing::MakeJob;

using api::Defaulted;

std::string Unbase64(const std::string& text) { return kube::Base64Decode(text).value_or("<not base64>"); }

const json* FindByName(const json& list, const std::string& name) {
  for (const json& item : list) {
    if (item.value("name", "") == name) return &item;
  }
  return nullptr;
}

TEST(Builders, HeadlessServicePublishesNotReadyWorkers) {
  const api::DefaultedJob job = Defaulted(MakeJob());
  const json s = HeadlessService(job);
  EXPECT_EQ(s["metadata"]["name"], "r50");
  EXPECT_EQ(s["spec"]["clusterIP"], "None");
  EXPECT_EQ(s["spec"]["publishNotReadyAddresses"], true);
  EXPECT_EQ(s["spec"]["selector"], (json{{kLabelJobName, "r50"}, {kLabelRole, "worker"}}));
  const json& owner = s["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["uid"], "job-uid");
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(owner["kind"], "TrainingJob");
}

TEST(Builders, HostfileListsEveryWorkerWithItsSlots) {
  const api::DefaultedJob job = Defaulted(MakeJob(3, 8));
  EXPECT_EQ(Hostfile(job),
            "r50-worker-0.r50.ml.svc slots=8\n"
            "r50-worker-1.r50.ml.svc slots=8\n"
            "r50-worker-2.r50.ml.svc slots=8\n");
  const json cm = HostfileConfigMap(job);
  EXPECT_EQ(cm["metadata"]["name"], "r50-config");
  EXPECT_EQ(cm["data"]["hostfile"], Hostfile(job));
  EXPECT_NE(cm["data"]["sshd_config"].get<std::string>().find("Port 2222"), std::string::npos);
}

TEST(Builders, SshSecretCarriesAWorkingKeyPair) {
  const SshKeyPair keys = GenerateSshKeyPair();
  EXPECT_NE(GenerateSshKeyPair().public_key, keys.public_key) << "a fresh key per job";
  const json secret = SshSecret(Defaulted(MakeJob()), keys);
  EXPECT_EQ(secret["type"], "kubernetes.io/ssh-auth");
  const std::string pem = Unbase64(secret["data"]["ssh-privatekey"]);
  EXPECT_EQ(pem, keys.private_key_pem);
  EXPECT_EQ(Unbase64(secret["data"]["authorized_keys"]), keys.public_key + "\n");

  // The private key parses, and the authorized_keys blob holds its public point (RFC 5656).
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(key, nullptr) << pem;
  unsigned char* point = nullptr;
  const size_t point_len = EVP_PKEY_get1_encoded_public_key(key, &point);
  const std::string blob = DecodeAuthorizedKeyBlob(keys.public_key);
  ASSERT_GT(point_len, 0u);
  EXPECT_EQ(blob.substr(blob.size() - point_len), std::string(reinterpret_cast<char*>(point), point_len));
  EXPECT_EQ(blob.substr(4, 19), "ecdsa-sha2-nistp256");
  EXPECT_EQ(keys.public_key.rfind("ecdsa-sha2-nistp256 AAAA", 0), 0u);
  OPENSSL_free(point);
  EVP_PKEY_free(key);
}

TEST(Builders, WorkerPodRunsSshdAsNonRootWithVolumesPortsAndResources) {
  const api::DefaultedJob job = Defaulted(MakeJob(4, 8));
  const json pod = WorkerPod(job, 2, 5);
  EXPECT_EQ(pod["metadata"]["name"], "r50-worker-2");
  EXPECT_EQ(pod["metadata"]["labels"][kLabelIndex], "2");
  EXPECT_EQ(pod["metadata"]["labels"][kLabelAttempt], "5");
  EXPECT_EQ(pod["metadata"]["labels"][kLabelRole], "worker");
  const json& spec = pod["spec"];
  EXPECT_EQ(spec["hostname"], "r50-worker-2");
  EXPECT_EQ(spec["subdomain"], "r50");
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(spec["securityContext"]["runAsUser"], 1000);
  const json& c = spec["containers"][0];
  EXPECT_EQ(c["command"][0], "/usr/sbin/sshd");
  EXPECT_EQ(c["resources"]["limits"]["nvidia.com/gpu"], 8);
  EXPECT_EQ(c["readinessProbe"]["tcpSocket"]["port"], 2222);
  ASSERT_EQ(c["ports"].size(), 9u) << "ssh + one metrics port per local rank";
  EXPECT_EQ(c["ports"][1], (json{{"name", "metrics-0"}, {"containerPort", 9400}}));
  EXPECT_EQ(c["ports"][8], (json{{"name", "metrics-7"}, {"containerPort", 9407}}));
  ASSERT_TRUE(FindByName(spec["volumes"], "data"));
  EXPECT_EQ((*FindByName(spec["volumes"], "data"))["persistentVolumeClaim"]["claimName"], "imagenet");
  EXPECT_EQ((*FindByName(spec["volumes"], "checkpoints"))["persistentVolumeClaim"]["claimName"], "ckpt");
  EXPECT_EQ((*FindByName(spec["volumes"], "ssh"))["secret"]["secretName"], "r50-ssh-job-uid")
      << "the uid in the name: an existing one is the job's own";
  EXPECT_EQ((*FindByName(c["volumeMounts"], "data"))["mountPath"], "/data");
  EXPECT_EQ((*FindByName(c["volumeMounts"], "checkpoints"))["mountPath"], "/checkpoints");
  EXPECT_FALSE(spec.contains("schedulerName")) << "gang None: the default scheduler";
}

TEST(Builders, EveryPodMeetsPodSecurityRestricted) {
  // What a namespace labelled pod-security.kubernetes.io/enforce=restricted requires of every
  // container (the real admission checks it in the e2e suite).
  const api::DefaultedJob job = Defaulted(MakeJob(2, 1));
  for (const json& pod :
       {WorkerPod(job, 0, 0), LauncherPod(job, kStageTrain, 0), LauncherPod(job, kStageEvaluate, 0)}) {
    const json& spec = pod["spec"];
    SCOPED_TRACE(pod["metadata"]["name"].get<std::string>());
    EXPECT_EQ(spec["securityContext"]["runAsNonRoot"], true);
    EXPECT_EQ(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    for (const json& c : spec["containers"]) {
      EXPECT_EQ(c["securityContext"]["allowPrivilegeEscalation"], false);
      EXPECT_EQ(c["securityContext"]["capabilities"]["drop"], json::array({"ALL"}));
    }
    EXPECT_FALSE(spec.contains("hostNetwork"));
    for (const json& v : spec["volumes"]) EXPECT_FALSE(v.contains("hostPath")) << v.dump();
  }
}

TEST(Builders, ATemplateContainerSecurityContextKeepsOursForWhatItLeavesOut) {
  api::TrainingJob job = MakeJob();
  job.spec.pod_template.spec = json::parse(R"({
    "containers": [{"name": "worker", "securityContext": {"readOnlyRootFilesystem": true}}]})");
  const json worker = WorkerPod(Defaulted(job), 0, 0);
  const json& sc = worker["spec"]["containers"][0]["securityContext"];
  EXPECT_EQ(sc["readOnlyRootFilesystem"], true);
  EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
  EXPECT_EQ(sc["capabilities"]["drop"], json::array({"ALL"}));
}

TEST(Builders, PodTemplateIsMergedIntoWorkersAndLaunchers) {
  api::TrainingJob job = MakeJob();
  job.spec.pod_template.labels = {{"team", "vision"}, {kLabelRole, "hijack"}};
  job.spec.pod_template.annotations = {{"sidecar.istio.io/inject", "false"}};
  job.spec.pod_template.spec = json::parse(R"({
    "nodeSelector": {"gpu": "h100"}, "tolerations": [{"key": "gpu", "operator": "Exists"}],
    "hostname": "evil", "securityContext": {"runAsUser": 2000},
    "containers": [{"name": "worker", "env": [{"name": "NCCL_DEBUG", "value": "INFO"}]},
                   {"name": "launcher", "env": [{"name": "LAUNCHER_ONLY", "value": "1"}]},
                   {"name": "log-shipper", "image": "fluent-bit"}],
    "volumes": [{"name": "extra", "emptyDir": {}}]})");
  const api::DefaultedJob defaulted = Defaulted(job);
  const json worker = WorkerPod(defaulted, 0, 0);
  EXPECT_EQ(worker["metadata"]["labels"]["team"], "vision");
  EXPECT_EQ(worker["metadata"]["labels"][kLabelRole], "worker") << "our labels win";
  EXPECT_EQ(worker["metadata"]["annotations"]["sidecar.istio.io/inject"], "false");
  EXPECT_EQ(worker["spec"]["nodeSelector"]["gpu"], "h100");
  EXPECT_EQ(worker["spec"]["tolerations"][0]["key"], "gpu");
  EXPECT_EQ(worker["spec"]["hostname"], "r50-worker-0") << "fields we set are not taken from the template";
  EXPECT_EQ(worker["spec"]["securityContext"]["runAsUser"], 2000);
  EXPECT_EQ(worker["spec"]["securityContext"]["runAsNonRoot"], true);
  ASSERT_EQ(worker["spec"]["containers"].size(), 2u) << "worker + the sidecar, not the launcher's entry";
  EXPECT_TRUE(FindByName(worker["spec"]["containers"][0]["env"], "NCCL_DEBUG"));
  EXPECT_FALSE(FindByName(worker["spec"]["containers"][0]["env"], "LAUNCHER_ONLY"));
  EXPECT_EQ(worker["spec"]["containers"][1]["name"], "log-shipper");
  EXPECT_TRUE(FindByName(worker["spec"]["volumes"], "extra"));
  const json launcher = LauncherPod(defaulted, kStageTrain, 0);
  EXPECT_TRUE(FindByName(launcher["spec"]["containers"][0]["env"], "LAUNCHER_ONLY"));
  EXPECT_EQ(launcher["spec"]["nodeSelector"]["gpu"], "h100");
}

TEST(Builders, MpirunChecksTheWorkersHostKeysAgainstTheGangsKnownHosts) {
  const json launcher = LauncherPod(Defaulted(MakeJob()), kStageTrain, 0);
  const json& env = launcher["spec"]["containers"][0]["env"];
  const json* rsh = FindByName(env, "OMPI_MCA_plm_rsh_args");
  ASSERT_NE(rsh, nullptr);
  const std::string args = (*rsh)["value"];
  EXPECT_NE(args.find("-o StrictHostKeyChecking=yes"), std::string::npos) << args;
  EXPECT_NE(args.find(std::string("-o UserKnownHostsFile=") + kKnownHostsPath), std::string::npos) << args;
  EXPECT_EQ(args.find("StrictHostKeyChecking=no"), std::string::npos) << args;
  EXPECT_EQ(args.find("UserKnownHostsFile=/dev/null"), std::string::npos) << "no host key thrown away: " << args;
  ASSERT_NE(FindByName(env, "KUBECNN_KNOWN_HOSTS"), nullptr);
  EXPECT_EQ((*FindByName(env, "KUBECNN_KNOWN_HOSTS"))["value"], kKnownHostsPath) << "where the script writes it";
  ASSERT_NE(FindByName(env, "OMPI_MCA_plm_rsh_no_tree_spawn"), nullptr) << "workers hold no known_hosts";
}

TEST(Builders, PodsMountNoServiceAccountTokenUnlessTheTemplateAsks) {
  api::DefaultedJob job = Defaulted(MakeJob());
  EXPECT_EQ(WorkerPod(job, 0, 0)["spec"]["automountServiceAccountToken"], false)
      << "sshd and the trainer never call the API; the namespace's default token would be exposed to the job";
  EXPECT_EQ(LauncherPod(job, kStageTrain, 0)["spec"]["automountServiceAccountToken"], false);
  EXPECT_EQ(LauncherPod(job, kStageEvaluate, 0)["spec"]["automountServiceAccountToken"], false);
  job.spec.pod_template.spec = {{"serviceAccountName", "reader"}, {"automountServiceAccountToken", true}};
  EXPECT_EQ(WorkerPod(job, 0, 0)["spec"]["automountServiceAccountToken"], true) << "a template that needs one gets it";
  EXPECT_EQ(LauncherPod(job, kStageTrain, 0)["spec"]["serviceAccountName"], "reader");
}

TEST(TrainerArgs, NvcnnRecipeBecomesItsCommandLine) {
  api::TrainingJob job = MakeJob(4, 8);
  api::TrainerSpec& t = job.spec.trainer;
  t.data_dir = "/data/imagenet";
  t.precision = "fp16";
  t.larc = api::LarcSpec{"clip", 0.003};
  t.loss_scale = "128";
  t.save_interval_seconds = 3600;
  t.display_every = 100;
  t.learning_rate = 2.0;
  t.extra_args = {"--channels_last"};
  const api::DefaultedJob defaulted = Defaulted(job);
  const std::vector<std::string> expected = {"mpirun",
                                             "--hostfile",
                                             "/etc/kubecnn/hostfile",
                                             "-np",
                                             "32",
                                             "--map-by",
                                             "slot",
                                             "--bind-to",
                                             "none",
                                             "--mca",
                                             "orte_abort_on_non_zero_status",
                                             "1",
                                             "kubecnn-trainer",
                                             "--model=resnet50",
                                             "--data_dir=/data/imagenet",
                                             "--log_dir=/checkpoints",
                                             "--batch_size=256",
                                             "--fp16",
                                             "--metrics_port=9400",
                                             "--num_epochs=90",
                                             "--learning_rate=2.0",
                                             "--larc_mode=clip",
                                             "--larc_eta=0.003",
                                             "--loss_scale=128",
                                             "--display_every=100",
                                             "--save_interval=3600",
                                             "--channels_last"};
  EXPECT_EQ(MpirunArgs(defaulted.spec, kStageTrain), expected);
  const json launcher = LauncherPod(defaulted, kStageTrain, 0);
  EXPECT_EQ(launcher["spec"]["containers"][0]["args"], json(expected));
  EXPECT_EQ(launcher["spec"]["containers"][0]["command"], json(LauncherCommand()));
  EXPECT_EQ(launcher["spec"]["containers"][0]["terminationMessagePath"], "/dev/termination-log");
}

TEST(TrainerArgs, EvaluationUsesEvalFlagsAndNoTrainingOnes) {
  api::TrainingJob job = MakeJob(2, 1);
  job.spec.evaluation.batch_size = 100;
  job.spec.evaluation.checkpoint = "/checkpoints/model.ckpt";
  job.spec.trainer.lr_schedule = "step:10,20";
  const api::DefaultedJob defaulted = Defaulted(job);
  const std::vector<std::string> args = TrainerArgs(defaulted.spec, kStageEvaluate);
  EXPECT_EQ(args, (std::vector<std::string>{"--model=resnet50", "--data_dir=/data", "--log_dir=/checkpoints",
                                            "--batch_size=100", "--metrics_port=9400", "--eval",
                                            "--checkpoint=/checkpoints/model.ckpt"}));
}

// Starts the launcher script as the pod would, in a process group of its own (as a container's
// PID 1 is), with `args` as "$@"; its stdout goes to `out_fd`.
// The job's public key as the launcher finds it in the SSH Secret's volume, for tests that do not
// set KUBECNN_SSH_DIR themselves; known_hosts goes beside it.
std::vector<std::string> WithSshDir(std::vector<std::string> env) {
  for (const std::string& v : env) {
    if (v.rfind("KUBECNN_SSH_DIR=", 0) == 0) return env;
  }
  static const std::filesystem::path dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("kubecnn-launcher-ssh-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    std::ofstream(d / "ssh-publickey") << GenerateSshKeyPair().public_key << "\n";
    return d;
  }();
  env.push_back("KUBECNN_SSH_DIR=" + dir.string());
  env.push_back("KUBECNN_KNOWN_HOSTS=" + (dir / "known_hosts").string());
  return env;
}

pid_t StartLauncherScript(const std::vector<std::string>& args, const std::vector<std::string>& given_env, int out_fd) {
  const std::vector<std::string> env = WithSshDir(given_env);
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_fd, 1);
    if (out_fd != 1) close(out_fd);
    std::vector<std::string> argv = LauncherCommand();
    for (const std::string& a : args) argv.push_back(a);
    std::vector<char*> cargv, cenv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<std::string> e = env;
    e.push_back("PATH=/usr/bin:/bin");
    for (std::string& v : e) cenv.push_back(v.data());
    cenv.push_back(nullptr);
    execve("/bin/sh", cargv.data(), cenv.data());
    _exit(127);
  }
  return pid;
}

// Runs the launcher script to its end, or kills its process group after `limit`; returns (exit
// code, stdout), exit code -1 when killed.
std::pair<int, std::string> RunLauncherScript(const std::vector<std::string>& args, const std::vector<std::string>& env,
                                              std::chrono::seconds limit = std::chrono::seconds(120)) {
  int out[2];
  EXPECT_EQ(pipe(out), 0);
  const pid_t pid = StartLauncherScript(args, env, out[1]);
  close(out[1]);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string text;
  char buf[4096];
  for (;;) {
    pollfd p = {out[0], POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    } else if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "the launcher script ran past " << limit.count() << " s; output so far: " << text;
      kill(-pid, SIGKILL);
      break;
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(LauncherScript, PassesArgumentsVerbatimAndCopiesTheEvalResult) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kubecnn-launcher-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hostfile") << "localhost slots=1\n";
  // An evaluation of an earlier run, newer by name: not what this run evaluated.
  std::ofstream(dir / "eval-900.json") << R"({"top1": 0.9, "top5": 0.99, "step": 900})"
                                       << "\n";
  const std::vector<std::string> env = {"KUBECNN_HOSTFILE=" + (dir / "hostfile").string(),
                                        "KUBECNN_LOG_DIR=" + dir.string(), "KUBECNN_EVAL_RESULT=1",
                                        "KUBECNN_TERMINATION_LOG=" + (dir / "termination").string()};
  // The "trainer" prints its argument and writes the result of the step it evaluated.
  const auto [rc, out] = RunLauncherScript(
      {"sh", "-c",
       "printf '[%s]' \"$1\"; printf '{\"top1\": 0.5, \"top5\": 0.8, \"step\": 100}\\n' > \"$2/eval-100.json\"", "sh",
       "--lr_schedule=x; touch /tmp/pwned $(id)", dir.string()},
      env);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "[--lr_schedule=x; touch /tmp/pwned $(id)]") << "user text stays one argument, never run";
  std::ifstream term(dir / "termination");
  std::string copied((std::istreambuf_iterator<char>(term)), std::istreambuf_iterator<char>());
  EXPECT_EQ(copied, "{\"top1\": 0.5, \"top5\": 0.8, \"step\": 100}\n") << "the result this run wrote";

  // A run that wrote no result reports none, though an older one is in the folder.
  const auto [none_rc, none_out] = RunLauncherScript({"true"}, env);
  EXPECT_EQ(none_rc, 1) << none_out;

  // A trainer that rewrites the file in place (same inode, as releases before the atomic write did)
  // is still this run's result.
  const auto [same_rc, same_out] = RunLauncherScript(
      {"sh", "-c", "printf '{\"top1\": 0.25, \"step\": 900}\\n' > \"$1/eval-900.json\"", "sh", dir.string()}, env);
  EXPECT_EQ(same_rc, 0) << same_out;
  std::ifstream rewritten(dir / "termination");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(rewritten)), std::istreambuf_iterator<char>()),
            "{\"top1\": 0.25, \"step\": 900}\n");

  const auto [fail_rc, fail_out] = RunLauncherScript({"sh", "-c", "exit 2"}, env);
  EXPECT_EQ(fail_rc, 2) << "the trainer's exit code reaches the pod status";

  // A failed run: every line still reaches the log, and the first trainer error line (each rank
  // prints it) becomes the termination message, so the job's condition says what was wrong.
  std::vector<std::string> failing = env;
  failing.push_back("TMPDIR=" + dir.string());
  const auto [err_rc, err_out] = RunLauncherScript(
      {"sh", "-c",
       "echo starting; echo 'kubecnn-trainer train: unknown flag --x (see kubecnn-trainer train --help)' >&2; "
       "echo 'kubecnn-trainer train: unknown flag --x (see kubecnn-trainer train --help)' >&2; "
       "echo 'mpirun detected that one or more processes exited with non-zero status'; exit 2"},
      failing);
  EXPECT_EQ(err_rc, 2);
  EXPECT_NE(err_out.find("starting"), std::string::npos) << err_out;
  EXPECT_NE(err_out.find("mpirun detected"), std::string::npos) << err_out;
  std::ifstream message(dir / "termination");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(message)), std::istreambuf_iterator<char>()),
            "kubecnn-trainer train: unknown flag --x (see kubecnn-trainer train --help)\n");

  std::ofstream(dir / "hostfile") << "no-such-host.invalid slots=1\n";
  std::vector<std::string> quick = env;
  quick.push_back("KUBECNN_DNS_WAIT_SECONDS=0");
  EXPECT_EQ(RunLauncherScript({"true"}, quick).first, 3) << "an unresolvable worker stops the launcher";
  std::filesystem::remove_all(dir);
}

// The optional credential (a Secret without AWS_SESSION_TOKEN leaves it unset) reaches mpirun as
// `-x NAME` right after its path only when it is set: OpenMPI warns about `-x` of an unset variable.
TEST(LauncherScript, ForwardsOptionalVariablesOnlyWhenSet) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kubecnn-launcher-fwd-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hostfile") << "localhost slots=1\n";
  std::ofstream(dir / "mpirun") << "#!/bin/sh\nfor a; do printf '[%s]' \"$a\"; done\n";
  std::filesystem::permissions(dir / "mpirun", std::filesystem::perms::owner_all);
  const std::vector<std::string> env = {"KUBECNN_HOSTFILE=" + (dir / "hostfile").string(),
                                        "KUBECNN_LOG_DIR=s3://runs/r50", "TMPDIR=" + dir.string(),
                                        "KUBECNN_FORWARD_IF_SET=AWS_SESSION_TOKEN NOT_SET_EITHER"};
  const std::vector<std::string> args = {(dir / "mpirun").string(), "-x", "AWS_ACCESS_KEY_ID", "kubecnn-trainer",
                                         "--log_dir=s3://runs/r50"};
  const auto [unset_rc, unset_out] = RunLauncherScript(args, env);
  EXPECT_EQ(unset_rc, 0);
  EXPECT_EQ(unset_out, "[-x][AWS_ACCESS_KEY_ID][kubecnn-trainer][--log_dir=s3://runs/r50]");

  std::vector<std::string> with_token = env;
  with_token.push_back("AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE");
  const auto [set_rc, set_out] = RunLauncherScript(args, with_token);
  EXPECT_EQ(set_rc, 0);
  EXPECT_EQ(set_out, "[-x][AWS_SESSION_TOKEN][-x][AWS_ACCESS_KEY_ID][kubecnn-trainer][--log_dir=s3://runs/r50]")
      << "the name, never the value, on mpirun's command line";
  std::filesystem::remove_all(dir);
}

// With an s3:// logDir there is no folder to look in: the result is the JSON of the line
// "kubecnn-eval-result: {...}" in mpirun's output (rank 0 prints it), not a stale local file.
TEST(LauncherScript, TakesTheEvalResultFromTheOutputWhenLogDirIsABucket) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kubecnn-launcher-s3eval-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hostfile") << "localhost slots=1\n";
  const std::vector<std::string> env = {
      "KUBECNN_HOSTFILE=" + (dir / "hostfile").string(), "KUBECNN_LOG_DIR=s3://runs/r50", "KUBECNN_EVAL_RESULT=1",
      "TMPDIR=" + dir.string(), "KUBECNN_TERMINATION_LOG=" + (dir / "termination").string()};
  const std::string result = R"({"top1":0.7613,"top5":0.9287,"images":50000,"step":112590,)"
                             R"("checkpoint":"s3://runs/r50/model.ckpt-112590.pt"})";
  const auto [rc, out] = RunLauncherScript(
      {"sh", "-c", "echo 'Evaluated ... top-1 76.13%'; printf 'kubecnn-eval-result: %s\\n' \"$1\"; echo done", "sh",
       result},
      env);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(ReadFile(dir / "termination"), result + "\n");
  EXPECT_NE(out.find("kubecnn-eval-result: "), std::string::npos) << "the line stays in the log too";

  std::filesystem::remove(dir / "termination");
  const auto [none_rc, none_out] = RunLauncherScript({"sh", "-c", "echo 'Evaluated ...'"}, env);
  EXPECT_EQ(none_rc, 1) << "no result line: the evaluation did not report";
  EXPECT_FALSE(std::filesystem::exists(dir / "termination"));
  std::filesystem::remove_all(dir);
}

// Against the real OpenMPI: ranks started through ssh (here a stand-in that, like sshd, runs orted
// with an empty environment) see exactly the variables mpirun forwards from the launcher's
// environment, the unset optional one causes no warning, and a set one arrives.
TEST(LauncherScript, RealMpirunForwardsTheObjectStoreEnvironmentToRanksStartedOverSsh) {
  if (access("/usr/bin/mpirun", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/mpirun (openmpi-bin)";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kubecnn-launcher-mpi-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hostfile") << "localhost slots=1\n";                // what the script waits to resolve
  std::ofstream(dir / "mpi-hostfile") << "kubecnn-test-worker slots=1\n";  // not this host: started over "ssh"
  // ssh [-x ...] HOST COMMAND: mpirun passes -x (no X11) to an agent named ssh.
  std::ofstream(dir / "ssh") << "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nshift\n"
                             << "exec env -i PATH=/usr/bin:/bin HOME=/tmp /bin/sh -c \"$*\"\n";
  std::filesystem::permissions(dir / "ssh", std::filesystem::perms::owner_all);

  api::TrainingJob job = MakeJob(1, 1);
  job.spec.trainer.log_dir = "s3://runs/r50";
  job.spec.storage.s3 = api::S3StorageSpec{"http://rgw:80", "us-east-1", "keys", std::nullopt};
  std::vector<std::string> args;
  for (const std::string& a : MpirunArgs(Defaulted(job).spec, kStageTrain)) {
    if (a == "kubecnn-trainer") break;
    args.push_back(a == kHostfilePath ? (dir / "mpi-hostfile").string() : a);
  }
  args.insert(args.begin() + 1, {"--mca", "plm_rsh_agent", (dir / "ssh").string()});
  args.insert(args.end(),
              {"sh", "-c",
               "for v in AWS_ENDPOINT_URL_S3 AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY "
               "AWS_SESSION_TOKEN NOT_FORWARDED; do printf '%s=%s\\n' \"$v\" \"$(printenv \"$v\" || echo '<unset>')\"; "
               "done"});
  std::vector<std::string> env = {"KUBECNN_HOSTFILE=" + (dir / "hostfile").string(),
                                  "KUBECNN_LOG_DIR=s3://runs/r50",
                                  "TMPDIR=" + dir.string(),
                                  "HOME=" + dir.string(),
                                  "OMPI_ALLOW_RUN_AS_ROOT=1",
                                  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                  "OMPI_MCA_orte_keep_fqdn_hostnames=true",
                                  "KUBECNN_FORWARD_IF_SET=AWS_SESSION_TOKEN",
                                  "AWS_ENDPOINT_URL_S3=http://rgw:80",
                                  "AWS_REGION=us-east-1",
                                  "AWS_ACCESS_KEY_ID=AKIAEXAMPLE",
                                  "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIEXAMPLE",
                                  "NOT_FORWARDED=launcher-only"};
  const auto [rc, out] = RunLauncherScript(args, env);
  EXPECT_EQ(rc, 0) << out;
  for (const char* line :
       {"AWS_ENDPOINT_URL_S3=http://rgw:80\n", "AWS_REGION=us-east-1\n", "AWS_ACCESS_KEY_ID=AKIAEXAMPLE\n",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIEXAMPLE\n", "AWS_SESSION_TOKEN=<unset>\n"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " in:\n" << out;
  }
  EXPECT_NE(out.find("NOT_FORWARDED=<unset>\n"), std::string::npos)
      << "the rank inherited the launcher's environment: the test proves nothing about -x\n"
      << out;
  EXPECT_EQ(out.find("could not find environment variable"), std::string::npos) << out;

  env.push_back("AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE");
  const auto [token_rc, token_out] = RunLauncherScript(args, env);
  EXPECT_EQ(token_rc, 0) << token_out;
  EXPECT_NE(token_out.find("AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE\n"), std::string::npos) << token_out;
  std::filesystem::remove_all(dir);
}

// mpirun checks every worker's host key: the launcher writes the gang's known_hosts from the job's
// public key (every worker's sshd serves it), one line per host of the hostfile, which OpenSSH reads.
TEST(LauncherScript, WritesTheGangsKnownHostsForStrictHostKeyChecking) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kubecnn-launcher-known-hosts-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "ssh");
  std::ofstream(dir / "hostfile") << "localhost slots=8\n127.0.0.1 slots=8\n";
  const SshKeyPair keys = GenerateSshKeyPair();
  std::ofstream(dir / "ssh/ssh-publickey") << keys.public_key << "\n";
  const std::vector<std::string> env = {"KUBECNN_HOSTFILE=" + (dir / "hostfile").string(),
                                        "KUBECNN_SSH_DIR=" + (dir / "ssh").string(),
                                        "KUBECNN_KNOWN_HOSTS=" + (dir / "known_hosts").string(),
                                        "KUBECNN_LOG_DIR=" + dir.string(), "TMPDIR=" + dir.string()};
  const auto [rc, out] = RunLauncherScript({"true"}, env);
  ASSERT_EQ(rc, 0) << out;
  std::ifstream file(dir / "known_hosts");
  const std::string known((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(known, "[localhost]:2222 " + keys.public_key + "\n[127.0.0.1]:2222 " + keys.public_key + "\n");
  if (access("/usr/bin/ssh-keygen", X_OK) == 0) {  // OpenSSH's own reading of the file
    const std::string find = "/usr/bin/ssh-keygen -f " + (dir / "known_hosts").string() + " -F ";
    EXPECT_EQ(std::system((find + "'[localhost]:2222' >/dev/null").c_str()), 0);
    EXPECT_NE(std::system((find + "'[localhost]:22' >/dev/null").c_str()), 0) << "sshd's port is part of the entry";
    EXPECT_NE(std::system((find + "'[elsewhere]:2222' >/dev/null").c_str()), 0);
  }
  // A Secret without the public key: the launcher stops with a reason instead of ssh failing later.
  std::filesystem::remove(dir / "ssh/ssh-publickey");
  const auto [missing_rc, missing_out] = RunLauncherScript({"true"}, env);
  EXPECT_EQ(missing_rc, 3) << missing_out;
  std::filesystem::remove_all(dir);
}

// Kubernetes stops a pod with SIGTERM to PID 1, the launcher's shell: it passes the signal on to
// mpirun at once rather than ignoring it until the grace period ends in SIGKILL.
TEST(LauncherScript, PassesSigtermOnToMpirun) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kubecnn-launcher-term-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "hostfile") << "localhost slots=1\n";
  const std::vector<std::string> env = {"KUBECNN_HOSTFILE=" + (dir / "hostfile").string(),
                                        "KUBECNN_LOG_DIR=" + dir.string(), "TMPDIR=" + dir.string(),
                                        "KUBECNN_TERMINATION_LOG=" + (dir / "termination").string()};
  // "mpirun": records a SIGTERM and exits, else runs for a minute.
  const std::string mpirun =
      "trap 'echo terminated > \"$1/term\"; exit 143' TERM; echo started > \"$1/started\"; sleep 60 & wait";
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t pid = StartLauncherScript({"sh", "-c", mpirun, "sh", dir.string()}, env, out[1]);
  close(out[1]);
  for (int i = 0; i < 200 && !std::filesystem::exists(dir / "started"); ++i) usleep(20000);
  ASSERT_TRUE(std::filesystem::exists(dir / "started"));
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(10)) << "the launcher waited it out";
  EXPECT_TRUE(std::filesystem::exists(dir / "term")) << "mpirun never got the SIGTERM";
  kill(-pid, SIGKILL);  // whatever is left of the group (the sleep)
  close(out[0]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kubecnn::controller
