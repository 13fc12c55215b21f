// `kubecnn-trainer bench-input`: how fast the input pipeline delivers batches from --data_dir.
#pragma once

#include <string>
#include <vector>

namespace kubecnn::cli {

int RunBenchInput(const std::vector<std::string>& args);

}  // namespace kubecnn::cli
