// `kubecnn-trainer [train] --model=... [--eval]`: the nvcnn_hvd.py-compatible command line.
#pragma once

#include <string>
#include <vector>

namespace kubecnn::cli {

int RunTrain(const std::vector<std::string>& args);

// `kubecnn-trainer bench --model=...`: training throughput on synthetic data, nothing written.
int RunBench(const std::vector<std::string>& args);

}  // namespace kubecnn::cli
