// The subcommands of kubecnn-trainer and the dispatch from argv to them.
#pragma once

#include <string>
#include <vector>

namespace kubecnn::cli {

// Runs the command line (argv without the program name) and returns the process exit code:
// 0 done, 1 failure, 2 bad usage, configuration or data (retrying will not help).
int RunCommandLine(const std::vector<std::string>& args);

}  // namespace kubecnn::cli
