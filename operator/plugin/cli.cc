// Command dispatch, help and the one place errors become a line and an exit code.
#include <ostream>

#include "operator/kube/api_error.h"
#include "operator/plugin/commands.h"

namespace kubecnn::plugin {
namespace {

struct Command {
  const CommandHelp& (*help)();
  int (*run)(const std::vector<std::string>&, Terminal&);
};

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {RunHelp, RunCommand},   {WatchHelp, WatchCommand},       {ListHelp, ListCommand},
      {LogsHelp, LogsCommand}, {DescribeHelp, DescribeCommand}, {EvalHelp, EvalCommand},
  };
  return commands;
}

std::string Overview() {
  std::string out =
      "Runs kubecnn-trainer and nvcnn_hvd.py command lines on Kubernetes as TrainingJobs, and follows them.\n\n"
      "Commands:\n";
  for (const Command& c : Commands()) {
    const CommandHelp& h = c.help();
    out += "  " + std::string(h.name) + std::string(12 - std::string(h.name).size(), ' ') + h.summary + "\n";
  }
  out +=
      "\nUsage:\n  kubectl kubecnn COMMAND [options]\n\n"
      "Use \"kubectl kubecnn COMMAND --help\" for more information about a command.\n"
      "Connection options (every command): --kubeconfig=PATH, --context=NAME, -n/--namespace=NAME.\n";
  return out;
}

// The first argument that is neither a flag nor a connection flag's value.
std::ptrdiff_t CommandIndex(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return -1;
    if (a == "-n" || a == "--namespace" || a == "--kubeconfig" || a == "--context") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] != '-') return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

// kubectl's "Error from server (NotFound): trainingjobs.kubecnn.io "x" not found", and its
// "Error from server: ..." for a Status without a reason (a kubelet's answer passed on).
std::string ServerError(const kube::ApiError& e) {
  const std::string message = e.server_message().empty() ? e.what() : e.server_message();
  if (e.reason().empty()) return "Error from server: " + message;
  return "Error from server (" + e.reason() + "): " + message;
}

}  // namespace

std::string HelpText(const CommandHelp& h) {
  std::string out = std::string(h.description) + "\n\nExamples:\n" + h.examples + "\n\nOptions:\n";
  for (const auto& [flag, what] : h.options) out += "    " + flag + ": " + what + "\n";
  out += "\nUsage:\n  " + std::string(h.usage) +
         "\n\nConnection options: --kubeconfig=PATH, --context=NAME, -n/--namespace=NAME (as kubectl's).\n";
  return out;
}

bool ParseCommand(const CommandHelp& help, FlagSet& flags, GlobalFlags& globals, const std::vector<std::string>& args,
                  Terminal& terminal, std::vector<std::string>& positional) {
  AddGlobalFlags(flags, globals);
  try {
    positional = flags.Parse(args);
  } catch (const UsageError& e) {
    throw UsageError(std::string(e.what()) + "; see 'kubectl kubecnn " + help.name + " --help'");
  }
  if (flags.help_requested()) {
    terminal.out << HelpText(help);
    return false;
  }
  return true;
}

std::string OneName(const CommandHelp& help, const std::vector<std::string>& positional) {
  if (positional.size() == 1) return positional[0];
  const std::string what =
      positional.empty() ? "NAME is required" : "one NAME only, got " + std::to_string(positional.size());
  throw UsageError(what + "; usage: " + help.usage);
}

int Main(const std::vector<std::string>& args, Terminal& terminal) {
  const std::ptrdiff_t index = CommandIndex(args);
  if (index < 0) {
    const bool asked = !args.empty() && (args[0] == "--help" || args[0] == "-h");
    if (args.empty() || asked) {
      terminal.out << Overview();
      return 0;
    }
    terminal.err << "error: no command: kubectl kubecnn run|watch|list|logs|describe|eval (see 'kubectl kubecnn "
                    "--help')\n";
    return 1;
  }
  const std::string name = args[static_cast<size_t>(index)];
  if (name == "help") {
    terminal.out << Overview();
    return 0;
  }
  std::vector<std::string> rest = args;
  rest.erase(rest.begin() + index);
  for (const Command& c : Commands()) {
    if (name != c.help().name) continue;
    try {
      return c.run(rest, terminal);
    } catch (const kube::ApiError& e) {
      terminal.err << ServerError(e) << "\n";
    } catch (const kube::TransportError& e) {
      terminal.err << "error: cannot reach the API server: " << e.what() << "\n";
    } catch (const std::exception& e) {
      terminal.err << "error: " << e.what() << "\n";
    }
    terminal.out.flush();
    return 1;
  }
  terminal.err << "error: unknown command \"" << name << "\" for \"kubectl kubecnn\" (see 'kubectl kubecnn --help')\n";
  return 1;
}

}  // namespace kubecnn::plugin
