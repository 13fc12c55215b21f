// Flags of training and evaluation (nvcnn_hvd.py's names first), their checks, and the run.
#include "trainer/cli/train_command.h"

#include <chrono>
#include <cstdio>

#include "trainer/cli/data_flags.h"
#include "trainer/engine/evaluate.h"
#include "trainer/engine/train_loop.h"
#include "trainer/models/model_registry.h"
#include "trainer/optim/larc.h"
#include "trainer/optim/loss_scaler.h"
#include "trainer/optim/lr_schedule.h"

namespace kubecnn::cli {
namespace {

// Flags whose text is parsed into the config's typed fields after parsing.
struct TextFlags {
  double fusion_threshold_mb = 64;
  int64_t collective_timeout_seconds = 300;
  std::string lr_schedule = optim::kNvcnnLrSchedule;
  std::string optimizer = "sgd";
  std::string larc_mode = "clip";
  double larc_eta = 0;  // 0: LARC off (nvcnn: unset)
  double larc_epsilon = optim::LayerwiseOptions().epsilon;
  std::string loss_scale = "1";
  bool fp16 = false;
  bool bf16 = false;
};

void AddTrainFlags(FlagSet& f, engine::TrainConfig& c, TextFlags& text) {
  f.Add("model", &c.model,
        "network: resnet18/34/50/101/152, resnext50_32x4d, resnext101_32x8d, inception3, googlenet, vgg11..19[_bn], "
        "alexnet, tiny");
  f.Add("num_classes", &c.num_classes, "classes of the classifier");
  f.Add("aux_logits", &c.aux_logits, "inception3/googlenet: train the auxiliary heads too");
  f.Add("init_checkpoint", &c.init_checkpoint,
        "torchvision state_dict file or s3:// object (torch.save) to start from");
  f.Add("init_skip_classifier", &c.init_skip_classifier,
        "with --init_checkpoint: keep the new classifier (fine-tuning to other classes)");
  f.Add("num_batches", &c.num_batches, "steps to train when --num_epochs is not given");
  f.Add("num_epochs", &c.num_epochs, "epochs to train (overrides --num_batches; needs --data_dir)");
  f.Add("learning_rate", &c.learning_rate, "base learning rate (0: nvcnn's default for the model)");
  f.Add("lr_schedule", &text.lr_schedule,
        "constant | step:N,N,... | step_epochs:E,... | poly[:P] | cosine, with ;warmup_steps=N ;warmup_epochs=E "
        ";factor=F ;end_lr=F");
  f.Add("lr_scaling_reference_batch", &c.lr_scaling_reference_batch, "scale the lr by global batch / this (0: off)");
  f.Add("optimizer", &text.optimizer, "sgd or lars");
  f.Add("momentum", &c.momentum, "SGD momentum");
  f.Add("nesterov", &c.nesterov, "Nesterov momentum (nvcnn used it)");
  f.Add("weight_decay", &c.weight_decay, "L2 weight decay");
  f.Add("weight_decay_exclude_bn_bias", &c.weight_decay_exclude_bn_bias,
        "no weight decay or LARC for batch-norm parameters and biases");
  f.Add("larc_mode", &text.larc_mode, "LARC mode: clip or scale");
  f.Add("larc_eta", &text.larc_eta, "LARC trust coefficient (0: LARC off)");
  f.Add("larc_epsilon", &text.larc_epsilon, "LARC epsilon added to the trust ratio's denominator");
  f.Add("label_smoothing", &c.label_smoothing, "label smoothing epsilon");
  f.Add("loss_scale", &text.loss_scale, "static loss scale (1: off), or dynamic[:INIT]");
  f.Add("fp16", &text.fp16, "float16 autocast on CUDA (fp32 master weights)");
  f.Add("bf16", &text.bf16, "bfloat16 autocast on CUDA");
  f.Add("channels_last", &c.channels_last, "NHWC memory layout on CUDA");
  f.Add("cudnn_benchmark", &c.cudnn_benchmark, "let cuDNN autotune convolution algorithms");
  f.Add("log_dir", &c.log_dir,
        "folder or s3://bucket/prefix for checkpoints, TensorBoard events and eval results; resumes from its "
        "newest checkpoint");
  f.Add("save_interval", &c.save_interval, "seconds between checkpoints (one is always written at the end)");
  f.Add("keep_checkpoints", &c.keep_checkpoints, "checkpoints kept in --log_dir (0: all)");
  f.Add("display_every", &c.display_every, "steps between log lines and TensorBoard scalars");
  f.Add("metrics_port", &c.metrics_port, "Prometheus /metrics port (+ local rank); 0: off");
  f.Add("fusion_threshold_mb", &text.fusion_threshold_mb,
        "gradients fused into all-reduce buckets of up to this many MiB (Horovod's default 64; 0: one per tensor)");
  f.Add("fp16_allreduce", &c.gradient_sync.compress_fp16, "send gradients as float16 (half the bytes)");
  f.Add("force_gradient_sync", &c.force_gradient_sync,
        "all-reduce gradients even on one rank (NCCL on a GPU): measures what the sync costs");
  f.Add("collective_timeout", &text.collective_timeout_seconds,
        "seconds any collective may wait for the other ranks before the job stops (a rank died or hung)");
  f.Add("eval", &c.eval,
        "evaluate top-1/top-5 on the validation split: the newest checkpoint in --log_dir, --checkpoint, or "
        "torchvision weights from --init_checkpoint");
  f.Add("checkpoint", &c.checkpoint, "with --eval: this checkpoint (file or s3:// object) instead of the newest");
}

void Validate(const FlagSet& flags, const engine::TrainConfig& c, const TextFlags& text) {
  const auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  ValidateDataOptions(c.data);
  require(!(text.fp16 && text.bf16), "--fp16 and --bf16 exclude each other");
  require(c.num_classes >= 1, "--num_classes must be at least 1");
  require(c.num_batches >= 1 || c.eval, "--num_batches must be at least 1");
  require(c.num_epochs >= 0, "--num_epochs must not be negative");
  require(c.learning_rate >= 0, "--learning_rate must not be negative");
  require(c.momentum >= 0 && c.momentum < 1, "--momentum must be in [0, 1)");
  require(c.weight_decay >= 0, "--weight_decay must not be negative");
  require(text.larc_eta >= 0, "--larc_eta must not be negative");
  require(text.larc_epsilon >= 0, "--larc_epsilon must not be negative");
  require(c.label_smoothing >= 0 && c.label_smoothing < 1, "--label_smoothing must be in [0, 1)");
  require(c.display_every >= 1, "--display_every must be at least 1");
  require(c.save_interval >= 0, "--save_interval must not be negative");
  require(c.metrics_port >= 0 && c.metrics_port < 65536, "--metrics_port must be a port number");
  require(text.fusion_threshold_mb >= 0, "--fusion_threshold_mb must not be negative");
  require(text.collective_timeout_seconds >= 1, "--collective_timeout must be at least 1 second");
  require(!flags.WasSet("checkpoint") || c.eval, "--checkpoint goes with --eval (training resumes from --log_dir)");
}

// The flags given as text, parsed into the config's typed fields; bad text is a UsageError.
void ParseTextFlags(const TextFlags& text, engine::TrainConfig& c) {
  const auto parse = [](const char* flag, const auto& parser) {
    try {
      parser();
    } catch (const std::invalid_argument& e) {
      throw UsageError(*flag ? std::string(flag) + ": " + e.what() : e.what());  // "": the message names the flag
    }
  };
  parse("--lr_schedule", [&] { c.lr_schedule = optim::ParseLrSchedule(text.lr_schedule); });
  parse("", [&] { c.layerwise = optim::LayerwiseFromFlags(text.optimizer, text.larc_mode, text.larc_eta); });
  c.layerwise.epsilon = text.larc_epsilon;
  parse("", [&] { c.loss_scale = optim::ParseLossScale(text.loss_scale); });
  c.precision = text.fp16 ? engine::Precision::kFp16 : text.bf16 ? engine::Precision::kBf16 : engine::Precision::kFp32;
  c.gradient_sync.fusion_threshold_bytes = static_cast<int64_t>(text.fusion_threshold_mb * (1 << 20));
  c.comm.timeout = std::chrono::seconds(text.collective_timeout_seconds);
  c.comm.nccl_for_one_gpu = c.force_gradient_sync;
}

// Parses the training flags; false when --help was answered.
bool ParseTrainConfig(const std::vector<std::string>& args, const char* usage, engine::TrainConfig& config,
                      std::string& command_line) {
  config.data.transform.output_size = 0;  // the model's size unless --image_size says otherwise
  config.data.batch_size = 64;            // nvcnn's default
  config.data.seed = 1234;
  FlagSet flags(usage);
  AddDataFlags(flags, config.data);
  TextFlags text;
  AddTrainFlags(flags, config, text);
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
  Validate(flags, config, text);
  ParseTextFlags(text, config);
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
