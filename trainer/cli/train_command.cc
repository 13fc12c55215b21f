// Flags of training and evaluation (nvcnn_hvd.py's names first), their checks, and the run.
#include "trainer/cli/train_command.h"

#include <chrono>
#include <cstdio>

#include "trainer/cli/train_flags.h"
#include "trainer/engine/evaluate.h"
#include "trainer/engine/train_loop.h"
#include "trainer/models/model_registry.h"
#include "trainer/optim/larc.h"
#include "trainer/optim/loss_scaler.h"
#include "trainer/optim/lr_schedule.h"

namespace kubecnn::cli {
namespace {

// The parsed flags into the run's typed config; the text flags already parsed in ValidateTrainFlags.
void ApplyTrainFlags(const TrainFlags& f, engine::TrainConfig& c) {
  c.model = f.model;
  c.num_classes = f.num_classes;
  c.aux_logits = f.aux_logits;
  c.init_checkpoint = f.init_checkpoint;
  c.init_skip_classifier = f.init_skip_classifier;
  c.data = f.data;
  c.num_batches = f.num_batches;
  c.num_epochs = f.num_epochs;
  c.learning_rate = f.learning_rate;
  c.lr_schedule = optim::ParseLrSchedule(f.lr_schedule);
  c.lr_scaling_reference_batch = f.lr_scaling_reference_batch;
  c.momentum = f.momentum;
  c.nesterov = f.nesterov;
  c.weight_decay = f.weight_decay;
  c.weight_decay_exclude_bn_bias = f.weight_decay_exclude_bn_bias;
  c.layerwise = optim::LayerwiseFromFlags(f.optimizer, f.larc_mode, f.larc_eta);
  c.layerwise.epsilon = f.larc_epsilon;
  c.label_smoothing = f.label_smoothing;
  c.loss_scale = optim::ParseLossScale(f.loss_scale);
  c.precision = f.fp16 ? engine::Precision::kFp16 : f.bf16 ? engine::Precision::kBf16 : engine::Precision::kFp32;
  c.channels_last = f.channels_last;
  c.cudnn_benchmark = f.cudnn_benchmark;
  c.log_dir = f.log_dir;
  c.save_interval = f.save_interval;
  c.keep_checkpoints = f.keep_checkpoints;
  c.display_every = f.display_every;
  c.metrics_port = f.metrics_port;
  c.gradient_sync.fusion_threshold_bytes = static_cast<int64_t>(f.fusion_threshold_mb * (1 << 20));
  c.gradient_sync.compress_fp16 = f.fp16_allreduce;
  c.force_gradient_sync = f.force_gradient_sync;
  c.comm.timeout = std::chrono::seconds(f.collective_timeout_seconds);
  c.comm.nccl_for_one_gpu = f.force_gradient_sync;
  c.eval = f.eval;
  c.checkpoint = f.checkpoint;
}

// Parses the training flags; false when --help was answered.
bool ParseTrainConfig(const std::vector<std::string>& args, const char* usage, engine::TrainConfig& config,
                      std::string& command_line) {
  FlagSet flags(usage);
  TrainFlags values;
  AddTrainFlags(flags, values);
  bool list_models = false;
  flags.Add("list_models", &list_models, "print the models with their input size and exit");
  const auto positional = flags.Parse(args);
  if (flags.help_requested()) {
    std::printf("%s", flags.Usage().c_str());
    return false;
  }
  if (list_models) {
    std::printf("%-18s %-6s %-10s %s\n", "model", "input", "aux heads", "torchvision");
    for (const models::ModelInfo& m : models::ListModels()) {
      std::printf("%-18s %-6d %-10s %s\n", m.name.c_str(), m.default_image_size, m.has_aux_heads ? "yes" : "no",
                  m.torchvision_name.empty() ? "-" : m.torchvision_name.c_str());
    }
    return false;
  }
  if (!positional.empty()) throw UsageError("unexpected argument '" + positional[0] + "'");
  ValidateTrainFlags(flags, values);
  ApplyTrainFlags(values, config);
  try {
    config.placement = comm::PlacementFromProcessEnvironment();
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("rank placement: ") + e.what());
  }
  config.data.rank = config.placement.rank;
  config.data.world = config.placement.world_size;
  command_line = "kubecnn-trainer";
  for (const auto& a : args) command_line += " " + a;
  return true;
}

}  // namespace

int RunTrain(const std::vector<std::string>& args) {
  engine::TrainConfig config;
  std::string command_line;
  if (!ParseTrainConfig(args,
                        "usage: kubecnn-trainer --model=NAME [--data_dir=DIR] [--log_dir=DIR] [--eval] [flags]\n"
                        "Trains (or with --eval evaluates) an ImageNet CNN; nvcnn_hvd.py's command lines work as "
                        "written.",
                        config, command_line)) {
    return 0;
  }
  if (config.eval) {
    engine::RunEvaluation(config);
  } else {
    engine::Train(config, command_line);
  }
  return 0;
}

int RunBench(const std::vector<std::string>& args) {
  engine::TrainConfig config;
  std::string command_line;
  if (!ParseTrainConfig(args,
                        "usage: kubecnn-trainer bench --model=NAME [--batch_size=N] [--num_batches=N] [--fp16] ...\n"
                        "Training throughput on synthetic data, or on the shards in --data_dir; writes no files.",
                        config, command_line)) {
    return 0;
  }
  if (!config.log_dir.empty() || config.eval) {
    throw UsageError("bench measures training throughput and writes nothing: drop --log_dir and --eval");
  }
  const engine::TrainResult result = engine::Train(config, command_line);
  std::printf("bench: %s, batch %lld, %s, %s: %.1f images/s\n", config.model.c_str(),
              static_cast<long long>(config.data.batch_size),
              config.data.data_dir.empty() ? "synthetic data" : config.data.data_dir.c_str(),
              engine::PrecisionName(config.precision), result.throughput.mean);
  return 0;
}

}  // namespace kubecnn::cli
