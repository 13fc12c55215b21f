// `kubectl kubecnn logs NAME [-f] [--attempt N | --previous]`: the launcher's log (mpirun passes on
// every rank's output), following gang restarts and the evaluation stage to the newest launcher.
#include <algorithm>
#include <ostream>
#include <thread>

#include "operator/api/training_job.h"
#include "operator/controller/names.h"
#include "operator/kube/api_error.h"
#include "operator/kube/resource.h"
#include "operator/plugin/commands.h"
#include "operator/plugin/job_view.h"

namespace kubecnn::plugin {
namespace {

using nlohmann::json;

struct Launcher {
  int64_t attempt = 0;
  int stage = 0;  // 0: Train, 1: Evaluate (runs after training, in the same attempt)
  std::string created;
  std::string name;
  std::string uid;
  bool started = false;  // its container has run: there is a log to read
  bool operator<(const Launcher& o) const {
    return std::tie(attempt, stage, created, name) < std::tie(o.attempt, o.stage, o.created, o.name);
  }
};

Launcher LauncherOf(const json& pod) {
  Launcher l;
  const json meta = pod.value("metadata", json::object());
  const json labels = meta.value("labels", json::object());
  try {
    l.attempt = std::stoll(labels.value(controller::kLabelAttempt, "0"));
  } catch (const std::exception&) {
    l.attempt = 0;
  }
  l.stage = labels.value(controller::kLabelStage, "") == controller::kStageEvaluate ? 1 : 0;
  l.created = meta.value("creationTimestamp", "");
  l.name = meta.value("name", "");
  l.uid = meta.value("uid", "");
  const json status = pod.value("status", json::object());
  const std::string phase = status.value("phase", "Pending");
  l.started = phase != "Pending";
  for (const json& cs : status.value("containerStatuses", json::array())) {
    const json state = cs.value("state", json::object());
    if (state.contains("running") || state.contains("terminated")) l.started = true;
  }
  return l;
}

std::vector<Launcher> Launchers(kube::Client& client, const std::string& ns, const std::string& job) {
  kube::ListOptions options;
  options.label_selector = std::string(controller::kLabelJobName) + "=" + job + "," + controller::kLabelRole + "=" +
                           controller::kRoleLauncher;
  std::vector<Launcher> out;
  for (const json& pod : client.List(kube::resources::kPods, ns, options).items) out.push_back(LauncherOf(pod));
  std::sort(out.begin(), out.end());
  return out;
}

std::string Attempts(const std::vector<Launcher>& launchers) {
  std::string out;
  for (const Launcher& l : launchers) out += (out.empty() ? "" : ", ") + std::to_string(l.attempt);
  return out.empty() ? "none" : out;
}

// Streams one launcher's log to `out`, skipping the first `skip` lines (already shown before a
// reconnect); returns the number of lines the log had.
int64_t Stream(kube::Client& client, const std::string& ns, const Launcher& l, bool follow, int64_t skip,
               std::ostream& out) {
  const std::string target = kube::ObjectPath(kube::resources::kPods, ns, l.name, "log") +
                             kube::QueryString({{"follow", follow ? "true" : ""}});
  int64_t lines = 0;
  client.StreamLines(target, [&](std::string_view line) {
    if (lines++ >= skip) {
      out << line << "\n";
      out.flush();
    }
    return true;
  });
  return lines;
}

std::string Gone(const std::string& what, const std::string& name, const std::vector<Launcher>& launchers) {
  return what + " of trainingjob \"" + name +
         "\" is gone: at a restart the operator keeps only the newest earlier launcher, and only if it had "
         "finished (launchers left: attempt " +
         Attempts(launchers) + ")";
}

std::string NoLauncherLeft(const std::string& name, const api::TrainingJob& job) {
  return "trainingjob \"" + name + "\" has finished (" + job.status.phase +
         ") and no launcher pod is left to read (spec.runPolicy.cleanPodPolicy All deletes them)";
}

}  // namespace

const CommandHelp& LogsHelp() {
  static const CommandHelp help{
      "logs",
      "print a job's log (the launcher's: every rank's output comes through mpirun)",
      "Print the log of a TrainingJob's launcher, where mpirun passes on every rank's output. With -f, follow it\n"
      "and, when the gang restarts or evaluation starts, carry on with the newest launcher. --previous shows the\n"
      "gang before the last restart and --attempt N an earlier one, while its launcher pod is there: at a restart\n"
      "the operator keeps the newest earlier launcher that had finished and deletes the rest of the old gang.",
      "  kubectl kubecnn logs resnet50 -f\n"
      "  kubectl kubecnn logs resnet50 --previous",
      {{"-f, --follow", "stream the log, following gang restarts to the newest launcher, until the job ends"},
       {"--attempt=N", "the launcher of gang attempt N"},
       {"-p, --previous", "the launcher of the gang before the last restart"}},
      "kubectl kubecnn logs NAME [-f] [--attempt N | --previous]"};
  return help;
}

int LogsCommand(const std::vector<std::string>& args, Terminal& terminal) {
  const CommandHelp& help = LogsHelp();
  FlagSet flags("kubectl kubecnn logs");
  bool follow = false, previous = false;
  int64_t attempt = -1;
  flags.Add("follow", &follow, "");
  flags.Add("f", &follow, "");
  flags.Add("previous", &previous, "");
  flags.Add("p", &previous, "");
  flags.Add("attempt", &attempt, "");
  GlobalFlags globals;
  std::vector<std::string> positional;
  if (!ParseCommand(help, flags, globals, args, terminal, positional)) return 0;
  const std::string name = OneName(help, positional);
  if (previous && flags.WasSet("attempt")) throw UsageError("--previous and --attempt both pick a gang: keep one");
  if (flags.WasSet("attempt") && attempt < 0) throw UsageError("--attempt must not be negative");
  Session session(globals, terminal);
  kube::Client& client = session.client();
  const std::string ns = session.Namespace();
  api::TrainingJob job = api::TrainingJobFromJson(client.Get(kube::resources::kTrainingJobs, ns, name));
  std::vector<Launcher> launchers = Launchers(client, ns, name);

  if (previous || flags.WasSet("attempt")) {
    const Launcher* chosen = nullptr;
    if (previous) {
      // Attempts are not consecutive (an admission retry or a suspension starts one without a
      // launcher): the gang before the last restart is the newest launcher of an older attempt.
      const int64_t current = std::max(job.status.attempt, launchers.empty() ? 0 : launchers.back().attempt);
      if (current == 0)
        throw std::runtime_error("trainingjob \"" + name + "\" has not restarted: there is no previous gang");
      for (const Launcher& l : launchers) {
        if (l.attempt < current) chosen = &l;
      }
      if (!chosen)
        throw std::runtime_error(
            Gone("the launcher of the gang before attempt " + std::to_string(current), name, launchers));
    } else {
      for (const Launcher& l : launchers) {
        if (l.attempt == attempt) chosen = &l;
      }
      if (!chosen)
        throw std::runtime_error(Gone("the launcher of attempt " + std::to_string(attempt), name, launchers));
    }
    Stream(client, ns, *chosen, follow, 0, terminal.out);
    return 0;
  }

  std::optional<Launcher> current;
  std::map<std::string, int64_t> shown;  // lines printed, by pod uid
  while (true) {
    std::optional<Launcher> newest;
    for (const Launcher& l : launchers) {
      if (l.started) newest = l;
    }
    if (newest && (!current || current->uid != newest->uid || follow)) {
      if (current && current->uid != newest->uid) {
        terminal.out.flush();
        terminal.err << "--- kubectl kubecnn: "
                     << (newest->stage == 1 ? "evaluation" : "gang attempt " + std::to_string(newest->attempt))
                     << ", launcher " << newest->name << " ---\n";
        terminal.err.flush();
      }
      current = newest;
      try {
        shown[newest->uid] =
            std::max(shown[newest->uid], Stream(client, ns, *newest, follow, shown[newest->uid], terminal.out));
      } catch (const kube::ApiError& e) {
        // 400: the container is not running yet or any more; 404: the pod went (its gang was
        // restarted) between the listing and the read. A follower carries on with the newest.
        if (!follow || (e.code() != 400 && e.code() != 404)) throw;
      } catch (const kube::TransportError&) {
        if (!follow) throw;
      }
      if (!follow) return 0;
    } else if (!newest && !follow) {
      if (IsFinished(job)) throw std::runtime_error(NoLauncherLeft(name, job));
      throw std::runtime_error("trainingjob \"" + name + "\" has no launcher running yet (phase " +
                               (job.status.phase.empty() ? "Pending" : job.status.phase) +
                               "); kubectl kubecnn logs -f " + name + " waits for it");
    }
    job = api::TrainingJobFromJson(client.Get(kube::resources::kTrainingJobs, ns, name));
    launchers = Launchers(client, ns, name);
    const bool newer =
        !launchers.empty() && launchers.back().started && (!current || current->uid != launchers.back().uid);
    if (IsFinished(job) && !newer) {
      if (current) return 0;
      throw std::runtime_error(NoLauncherLeft(name, job));
    }
    if (!newer) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace kubecnn::plugin
