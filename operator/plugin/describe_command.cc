// `kubectl kubecnn describe NAME`: the job and the Events about it.
#include <ostream>

#include "operator/kube/resource.h"
#include "operator/plugin/commands.h"
#include "operator/plugin/describe.h"

namespace kubecnn::plugin {

const CommandHelp& DescribeHelp() {
  static const CommandHelp help{
      "describe",
      "show a job: spec summary, conditions, restart history, Events, evaluation",
      "Show a TrainingJob as a person reads it: what runs (the launcher's mpirun command line), where its data and\n"
      "checkpoints are, phase, progress, conditions, the history of gang restarts with their reasons, the\n"
      "evaluation result and the Events about it.",
      "  kubectl kubecnn describe resnet50",
      {},
      "kubectl kubecnn describe NAME"};
  return help;
}

int DescribeCommand(const std::vector<std::string>& args, Terminal& terminal) {
  const CommandHelp& help = DescribeHelp();
  FlagSet flags("kubectl kubecnn describe");
  GlobalFlags globals;
  std::vector<std::string> positional;
  if (!ParseCommand(help, flags, globals, args, terminal, positional)) return 0;
  const std::string name = OneName(help, positional);
  Session session(globals, terminal);
  kube::Client& client = session.client();
  const std::string ns = session.Namespace();
  const nlohmann::json job = client.Get(kube::resources::kTrainingJobs, ns, name);
  const std::string uid = job["metadata"].value("uid", "");
  kube::ListOptions options;
  options.limit = 500;
  std::vector<nlohmann::json> events;
  for (const nlohmann::json& e : client.ListAll(kube::resources::kEvents, ns, options).items) {
    const nlohmann::json about = e.value("involvedObject", nlohmann::json::object());
    if (about.value("kind", "") != "TrainingJob" || about.value("name", "") != name) continue;
    if (!uid.empty() && !about.value("uid", "").empty() && about.value("uid", "") != uid) continue;  // an older job
    events.push_back(e);
  }
  terminal.out << DescribeJob(job, events, std::chrono::system_clock::now());
  return 0;
}

}  // namespace kubecnn::plugin
