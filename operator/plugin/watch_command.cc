// `kubectl kubecnn watch NAME` and `kubectl kubecnn list [-A]`.
#include <algorithm>
#include <ostream>

#include "operator/kube/resource.h"
#include "operator/plugin/commands.h"
#include "operator/plugin/follow.h"
#include "operator/plugin/job_view.h"

namespace kubecnn::plugin {

const CommandHelp& WatchHelp() {
  static const CommandHelp help{
      "watch",
      "follow a job's progress until it ends (exit 0: Succeeded, 1: Failed)",
      "Show a live progress line for a TrainingJob: phase, step/total, epoch, images per second, loss, ETA and\n"
      "restarts. On a terminal the line is redrawn in place; into a pipe a line is written per change. Ends when the\n"
      "job ends, printing the outcome (with top-1/top-5 when it was evaluated), and exits 0 for Succeeded, 1 for\n"
      "Failed.",
      "  kubectl kubecnn watch resnet50\n"
      "  kubectl kubecnn watch resnet50 -n research | tee resnet50.progress",
      {},
      "kubectl kubecnn watch NAME"};
  return help;
}

const CommandHelp& ListHelp() {
  static const CommandHelp help{
      "list",
      "list the TrainingJobs with their progress",
      "List the TrainingJobs of the namespace (all namespaces with -A) with watch's columns: phase, step, epoch,\n"
      "images per second, loss, ETA, restarts, top-1/top-5 and age.",
      "  kubectl kubecnn list\n"
      "  kubectl kubecnn list -A",
      {{"-A, --all-namespaces", "list the jobs of every namespace"}},
      "kubectl kubecnn list [-A]"};
  return help;
}

int WatchCommand(const std::vector<std::string>& args, Terminal& terminal) {
  const CommandHelp& help = WatchHelp();
  FlagSet flags("kubectl kubecnn watch");
  GlobalFlags globals;
  std::vector<std::string> positional;
  if (!ParseCommand(help, flags, globals, args, terminal, positional)) return 0;
  const std::string name = OneName(help, positional);
  Session session(globals, terminal);
  const api::TrainingJob job = FollowJob(session.client(), terminal, session.Namespace(), name);
  return ExitCodeOf(job);
}

int ListCommand(const std::vector<std::string>& args, Terminal& terminal) {
  const CommandHelp& help = ListHelp();
  FlagSet flags("kubectl kubecnn list");
  bool all = false;
  flags.Add("all-namespaces", &all, "");
  flags.Add("A", &all, "");
  GlobalFlags globals;
  std::vector<std::string> positional;
  if (!ParseCommand(help, flags, globals, args, terminal, positional)) return 0;
  if (!positional.empty()) throw UsageError("list takes no NAME (use watch or describe for one job)");
  Session session(globals, terminal);
  const std::string ns = all ? "" : session.Namespace();
  kube::ListOptions options;
  options.limit = 500;
  const kube::ObjectList list = session.client().ListAll(kube::resources::kTrainingJobs, ns, options);
  std::vector<JobRow> rows;
  const kube::WallTime now = std::chrono::system_clock::now();
  for (const nlohmann::json& item : list.items) rows.push_back(RowOf(api::TrainingJobFromJson(item), now));
  std::sort(rows.begin(), rows.end(),
            [](const JobRow& a, const JobRow& b) { return std::tie(a.ns, a.name) < std::tie(b.ns, b.name); });
  if (rows.empty()) {
    terminal.err << (all ? std::string("No resources found") : "No resources found in " + ns + " namespace.") << "\n";
    return 0;
  }
  terminal.out << FormatTable(rows, all);
  return 0;
}

}  // namespace kubecnn::plugin
