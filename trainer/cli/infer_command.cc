// infer: checkpoint -> model on the best device -> per-image predictions printed with timings.
#include "trainer/cli/infer_command.h"

#include <cstdio>

#include "trainer/checkpoint/checkpoint.h"
#include "trainer/cli/flags.h"
#include "trainer/engine/infer.h"
#include "trainer/engine/model_setup.h"
#include "trainer/engine/train_config.h"

namespace kubecnn::cli {

int RunInfer(const std::vector<std::string>& args) {
  std::string checkpoint_path, labels_path;
  int64_t label_offset = 1;
  int top_k = 5;
  FlagSet flags(
      "usage: kubecnn-trainer infer --checkpoint=FILE [--labels=labels.txt] IMAGE.jpg...\n"
      "Classifies JPEG files with a checkpoint (eval preprocessing) and prints the top classes and latency.");
  flags.Add("checkpoint", &checkpoint_path, "checkpoint file (model.ckpt-*.pt) written by training");
  flags.Add("labels", &labels_path, "labels.txt as make-shards writes it, to print class names");
  flags.Add("label_offset", &label_offset, "labels.txt label of output 0 (1 for ImageNet-style 1-based labels)");
  flags.Add("top_k", &top_k, "classes to print per image");
  const std::vector<std::string> images = flags.Parse(args);
  if (flags.help_requested()) {
    std::printf("%s", flags.Usage().c_str());
    return 0;
  }
  if (checkpoint_path.empty()) throw UsageError("--checkpoint is required");
  if (images.empty()) throw UsageError("name at least one image file");
  if (top_k < 1) throw UsageError("--top_k must be at least 1");

  const checkpoint::Checkpoint saved = checkpoint::LoadCheckpoint(checkpoint_path);
  engine::TrainConfig config;
  config.model = saved.config.model;
  config.num_classes = saved.config.num_classes;
  const engine::RunDevice device = engine::ChooseRunDevice(config, 0);
  auto model = engine::BuildModel(config, device);
  engine::LoadModelState(*model, saved.model, checkpoint_path);
  model->eval();
  const auto names =
      labels_path.empty() ? std::map<int64_t, std::string>{} : engine::ReadClassNames(labels_path, label_offset);

  data::TransformOptions transform;
  transform.train = false;
  transform.output_size = static_cast<int>(saved.config.image_size);
  std::printf("%s (step %lld) on %s\n", config.model.c_str(), static_cast<long long>(saved.step),
              device.device.str().c_str());
  int failures = 0;
  for (const engine::ImageResult& r : engine::Classify(*model, images, transform, device, top_k)) {
    if (!r.error.empty()) {
      std::printf("%s: %s\n", r.path.c_str(), r.error.c_str());
      ++failures;
      continue;
    }
    std::printf("%s  (preprocess %.2f ms, model %.2f ms)\n", r.path.c_str(), r.preprocess_ms, r.model_ms);
    for (size_t k = 0; k < r.top.size(); ++k) {
      const auto name = names.find(r.top[k].class_index);
      std::printf("  %zu. %6.2f%%  %lld %s\n", k + 1, 100 * r.top[k].probability,
                  static_cast<long long>(r.top[k].class_index), name == names.end() ? "" : name->second.c_str());
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace kubecnn::cli
