// `kubecnn-trainer infer --checkpoint=C IMAGE...`: top-5 classes of JPEG files and their latency.
#pragma once

#include <string>
#include <vector>

namespace kubecnn::cli {

int RunInfer(const std::vector<std::string>& args);

}  // namespace kubecnn::cli
