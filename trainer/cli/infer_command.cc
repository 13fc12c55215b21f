// infer: checkpoint -> model on the best device -> per-image predictions printed with timings.
#include "trainer/cli/infer_command.h"

#include <cstdio>

#include "trainer/checkpoint/checkpoint.h"
#include "trainer/common/flags.h"
#include "trainer/engine/infer.h"
#include "trainer/engine/model_setup.h"
#include "trainer/engine/train_config.h"

namespace kubecnn::cli {

int RunInfer(const std::vector<std::string>& args) {
  std::string checkpoint_path, init_checkpoint, model_name, labels_path;
  int64_t label_offset = 1, num_classes = 1000;
  int top_k = 5, image_size = 0;
  FlagSet flags(
      "usage: kubecnn-trainer infer (--checkpoint=FILE | --model=NAME --init_checkpoint=FILE) [--labels=labels.txt] "
      "IMAGE.jpg...\n"
      "Classifies JPEG files with a checkpoint or torchvision weights (eval preprocessing) and prints the top classes "
      "and latency.");
  flags.Add("checkpoint", &checkpoint_path, "checkpoint file or s3:// object (model.ckpt-*.pt) written by training");
  flags.Add("init_checkpoint", &init_checkpoint,
            "torchvision state_dict file or s3:// object (torch.save), with --model");
  flags.Add("model", &model_name, "the model of --init_checkpoint (kubecnn-trainer --list_models)");
  flags.Add("num_classes", &num_classes, "classes of --init_checkpoint's classifier");
  flags.Add("image_size", &image_size, "input size for --init_checkpoint (0: the model's default, 224 or 299)");
  flags.Add("labels", &labels_path, "labels.txt as make-shards writes it, to print class names");
  flags.Add("label_offset", &label_offset, "labels.txt label of output 0 (1 for ImageNet-style 1-based labels)");
  flags.Add("top_k", &top_k, "classes to print per image");
  const std::vector<std::string> images = flags.Parse(args);
  if (flags.help_requested()) {
    std::printf("%s", flags.Usage().c_str());
    return 0;
  }
  if (checkpoint_path.empty() == init_checkpoint.empty()) {
    throw UsageError("name the weights: --checkpoint=FILE, or --model=NAME with --init_checkpoint=FILE");
  }
  if (!init_checkpoint.empty() && model_name.empty()) throw UsageError("--init_checkpoint needs --model");
  if (images.empty()) throw UsageError("name at least one image file");
  if (top_k < 1) throw UsageError("--top_k must be at least 1");
  if (num_classes < 1 || image_size < 0) throw UsageError("--num_classes must be at least 1, --image_size >= 0");

  engine::TrainConfig config;
  const engine::RunDevice device = engine::ChooseRunDevice(config, 0);
  int64_t step = 0;
  std::shared_ptr<models::Model> model;
  if (!checkpoint_path.empty()) {
    const checkpoint::Checkpoint saved = checkpoint::LoadCheckpoint(checkpoint_path);
    config.model = saved.config.model;
    config.num_classes = saved.config.num_classes;
    image_size = static_cast<int>(saved.config.image_size);
    step = saved.step;
    model = engine::BuildModel(config, device);
    engine::LoadModelState(*model, saved.model, checkpoint_path);
  } else {
    config.model = model_name;
    config.num_classes = num_classes;
    config.init_checkpoint = init_checkpoint;
    if (image_size == 0) image_size = engine::ModelImageSize(model_name);
    model = engine::BuildModel(config, device);
  }
  model->eval();
  const auto names =
      labels_path.empty() ? std::map<int64_t, std::string>{} : engine::ReadClassNames(labels_path, label_offset);

  data::TransformOptions transform;
  transform.train = false;
  transform.output_size = image_size;
  if (checkpoint_path.empty()) {
    std::printf("%s (%s) on %s\n", config.model.c_str(), init_checkpoint.c_str(), device.device.str().c_str());
  } else {
    std::printf("%s (step %lld) on %s\n", config.model.c_str(), static_cast<long long>(step),
                device.device.str().c_str());
  }
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
