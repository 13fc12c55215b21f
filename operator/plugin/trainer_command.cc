// Splitting a one-machine command line into ranks and trainer flags.
#include "operator/plugin/trainer_command.h"

#include <charconv>
#include <regex>
#include <set>

#include "trainer/common/flags.h"

namespace kubecnn::plugin {
namespace {

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsLauncher(const std::string& word) {
  const std::string base = Basename(word);
  return base == "mpiexec" || base == "mpirun" || base == "horovodrun";
}

int64_t ParseRanks(const std::string& flag, const std::string& text) {
  int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < 1) {
    throw UsageError(flag + " " + text + ": expected a positive number of ranks");
  }
  return n;
}

// mpirun options that only place ranks on hosts (the operator does that): name -> takes a value.
const std::set<std::string>& PlacementOptionsWithValue() {
  static const std::set<std::string> names = {"H",       "host",     "hostfile", "machinefile", "map-by",
                                              "bind-to", "rank-by",  "npernode", "N",           "npersocket",
                                              "rf",      "rankfile", "wdir",     "wd"};
  return names;
}
const std::set<std::string>& PlacementFlags() {
  static const std::set<std::string> names = {
      "oversubscribe", "allow-run-as-root", "report-bindings", "tag-output",     "timestamp-output",
      "display-map",   "nolocal",           "bind-to-core",    "bind-to-socket", "q",
      "quiet"};
  return names;
}

// Reads the launcher's options up to the program; returns the program's index.
size_t ParseLauncher(const std::vector<std::string>& w, TrainerCommand& out) {
  const std::string launcher = Basename(w[0]);
  size_t i = 1;
  for (; i < w.size(); ++i) {
    const std::string& a = w[i];
    if (a.empty() || a[0] != '-') break;
    std::string name = a.substr(a.rfind("--", 0) == 0 ? 2 : 1);
    std::string value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto next_value = [&]() -> std::string {
      if (inline_value) return value;
      if (i + 1 >= w.size()) throw UsageError(launcher + " " + a + " needs a value");
      return w[++i];
    };
    if (name == "np" || name == "n" || name == "c") {
      out.ranks = ParseRanks(launcher + " " + a, next_value());
    } else if (PlacementOptionsWithValue().count(name)) {
      next_value();
    } else if (PlacementFlags().count(name)) {
      if (inline_value) throw UsageError(launcher + " " + a + ": takes no value");
    } else if (name == "x") {
      throw UsageError(launcher + " -x " + (inline_value ? value : (i + 1 < w.size() ? w[i + 1] : "")) +
                       ": environment does not travel to the cluster; set it in the job's "
                       "spec.podTemplate (kubectl kubecnn run --dry-run=client -o yaml, edit, kubectl apply)");
    } else if (name == "mca" || name == "gmca") {
      throw UsageError(launcher + " " + a +
                       ": MCA parameters are not passed on (the operator runs mpirun with its own); set them as "
                       "OMPI_MCA_* variables in spec.podTemplate");
    } else {
      throw UsageError(launcher + " option " + a +
                       " is not understood here; the operator runs mpirun itself "
                       "(only -np and placement options such as --host or --bind-to are accepted, and dropped)");
    }
  }
  if (!out.ranks) {
    throw UsageError(launcher + " without -np: say how many ranks to run (e.g. " + launcher + " -np 8 ...)");
  }
  if (i >= w.size()) throw UsageError(launcher + " -np " + std::to_string(*out.ranks) + ": no program follows");
  return i;
}

}  // namespace

TrainerCommand ParseTrainerCommand(const std::vector<std::string>& words) {
  TrainerCommand out;
  if (words.empty()) {
    throw UsageError(
        "no trainer command line after --: give kubecnn-trainer's flags, e.g. -- --model=resnet50 "
        "--batch_size=256 --fp16");
  }
  size_t i = IsLauncher(words[0]) ? ParseLauncher(words, out) : 0;
  static const std::regex kPython("python(2|3)?(\\.[0-9]+)?");
  const std::string program = Basename(words[i]);
  if (std::regex_match(program, kPython)) {
    ++i;
    while (i < words.size() && !words[i].empty() && words[i][0] == '-' && words[i].rfind("--", 0) != 0) {
      ++i;  // interpreter options such as -u
    }
    if (i >= words.size()) throw UsageError(program + ": no script follows");
    const std::string script = Basename(words[i]);
    if (script.rfind("nvcnn", 0) != 0 || script.size() < 3 || script.substr(script.size() - 3) != ".py") {
      throw UsageError("python " + words[i] +
                       ": only nvcnn_hvd.py (or nvcnn.py) command lines translate to "
                       "kubecnn-trainer; run other scripts in an image of your own");
    }
    ++i;
  } else if (program == "kubecnn-trainer") {
    ++i;
    if (i < words.size() && words[i] == "train") ++i;
    if (i < words.size() && !words[i].empty() && words[i][0] != '-') {
      throw UsageError("kubecnn-trainer " + words[i] + ": only training (and --eval) runs on the cluster");
    }
  } else if (program.empty() || program[0] != '-') {
    throw UsageError("cannot run '" + words[i] +
                     "' on the cluster: give kubecnn-trainer's or nvcnn_hvd.py's "
                     "command line (optionally after mpiexec -np N)");
  }
  out.trainer_args.assign(words.begin() + static_cast<long>(i), words.end());
  return out;
}

}  // namespace kubecnn::plugin
