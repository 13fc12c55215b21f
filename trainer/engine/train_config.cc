// Model-specific defaults taken over from nvcnn_hvd.py.
#include "trainer/engine/train_config.h"

namespace kubecnn::engine {

double DefaultLearningRate(const std::string& model, int64_t global_batch) {
  const auto starts = [&](const char* prefix) { return model.rfind(prefix, 0) == 0; };
  if (starts("resnext")) return 0.1;
  if (starts("resnet")) return model == "resnet18" ? 0.5 : 1.0 * static_cast<double>(global_batch) / 1024.0;
  if (model == "inception3") return 0.2;
  if (model == "googlenet") return 0.04;
  if (starts("vgg")) return 0.02;
  if (model == "alexnet") return 0.03;
  return 0.001;
}

const char* PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
    case Precision::kFp32: break;
  }
  return "fp32";
}

}  // namespace kubecnn::engine
