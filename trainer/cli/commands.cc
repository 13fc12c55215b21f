// Subcommand table and top-level error handling: every failure becomes a message and an exit code.
#include "trainer/cli/commands.h"

#include <cstdio>
#include <exception>
#include <functional>

#include "trainer/cli/bench_input.h"
#include "trainer/cli/infer_command.h"
#include "trainer/cli/train_command.h"
#include "trainer/common/errors.h"
#include "trainer/common/flags.h"
#include "trainer/tools/index_shards.h"
#include "trainer/tools/inspect.h"
#include "trainer/tools/make_shards.h"

namespace kubecnn::cli {
namespace {

struct Command {
  const char* name;
  const char* summary;
  std::function<int(const std::vector<std::string>&)> run;
};

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"train", "train (or --eval) a model; also what a command line starting with a flag does", RunTrain},
      {"bench", "training images/s of any model on synthetic data", RunBench},
      {"infer", "top-5 classes of JPEG files with a checkpoint, with latency", RunInfer},
      {"make-shards", "convert an image folder or Fashion-MNIST into TFRecord shards", tools::RunMakeShards},
      {"inspect", "count, CRC-check and show the first records of TFRecord files", tools::RunInspect},
      {"index", "write .idx files so loaders need not scan shards", tools::RunIndexShards},
      {"bench-input", "time the input pipeline alone", RunBenchInput},
  };
  return commands;
}

void PrintHelp() {
  std::printf("usage: kubecnn-trainer COMMAND [flags]   (COMMAND --help for its flags)\n\ncommands:\n");
  for (const Command& c : Commands()) std::printf("  %-12s %s\n", c.name, c.summary);
}

}  // namespace

int RunCommandLine(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintHelp();
    return args.empty() ? 2 : 0;
  }
  // nvcnn_hvd.py's command lines start with flags: they mean "train".
  const bool implicit_train = args[0].rfind("-", 0) == 0;
  const std::vector<std::string> rest(args.begin() + (implicit_train ? 0 : 1), args.end());
  const std::string name = implicit_train ? "train" : args[0];
  for (const Command& c : Commands()) {
    if (name != c.name) continue;
    try {
      return c.run(rest);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "kubecnn-trainer %s: %s (see kubecnn-trainer %s --help)\n", c.name, e.what(), c.name);
      return 2;
    } catch (const PermanentError& e) {
      // Bad configuration, data or checkpoint (ConfigError, DataError, CheckpointError): a restart
      // fails the same way, so exit 2, which the operator does not retry.
      std::fprintf(stderr, "kubecnn-trainer %s: %s\n", c.name, e.what());
      return 2;
    } catch (const TransientError& e) {
      // A storage or network fault: exit 1, so the operator restarts the gang.
      std::fprintf(stderr, "kubecnn-trainer %s: %s\n", c.name, e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kubecnn-trainer %s: internal error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "kubecnn-trainer: unknown command '%s' (kubecnn-trainer --help lists them)\n", args[0].c_str());
  return 2;
}

}  // namespace kubecnn::cli
