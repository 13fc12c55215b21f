// The train flags and their checks (no LibTorch: the trainer and kubectl-kubecnn share them).
#include "trainer/cli/train_flags.h"

#include <stdexcept>

#include "trainer/cli/data_flags.h"
#include "trainer/optim/larc.h"
#include "trainer/optim/loss_scaler.h"
#include "trainer/optim/lr_schedule.h"

namespace kubecnn::cli {

data::LoaderOptions TrainFlags::DefaultDataOptions() {
  data::LoaderOptions o;
  o.transform.output_size = 0;  // the model's size unless --image_size says otherwise
  o.batch_size = 64;            // nvcnn's default
  o.seed = 1234;
  return o;
}

void AddTrainFlags(FlagSet& f, TrainFlags& c) {
  AddDataFlags(f, c.data);
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
  f.Add("lr_schedule", &c.lr_schedule,
        "constant | step:N,N,... | step_epochs:E,... | poly[:P] | cosine, with ;warmup_steps=N ;warmup_epochs=E "
        ";factor=F ;end_lr=F");
  f.Add("lr_scaling_reference_batch", &c.lr_scaling_reference_batch, "scale the lr by global batch / this (0: off)");
  f.Add("optimizer", &c.optimizer, "sgd or lars");
  f.Add("momentum", &c.momentum, "SGD momentum");
  f.Add("nesterov", &c.nesterov, "Nesterov momentum (nvcnn used it)");
  f.Add("weight_decay", &c.weight_decay, "L2 weight decay");
  f.Add("weight_decay_exclude_bn_bias", &c.weight_decay_exclude_bn_bias,
        "no weight decay or LARC for batch-norm parameters and biases");
  f.Add("larc_mode", &c.larc_mode, "LARC mode: clip or scale");
  f.Add("larc_eta", &c.larc_eta, "LARC trust coefficient (0: LARC off)");
  f.Add("larc_epsilon", &c.larc_epsilon, "LARC epsilon added to the trust ratio's denominator");
  f.Add("label_smoothing", &c.label_smoothing, "label smoothing epsilon");
  f.Add("loss_scale", &c.loss_scale, "static loss scale (1: off), or dynamic[:INIT]");
  f.Add("fp16", &c.fp16, "float16 autocast on CUDA (fp32 master weights)");
  f.Add("bf16", &c.bf16, "bfloat16 autocast on CUDA");
  f.Add("channels_last", &c.channels_last, "NHWC memory layout on CUDA");
  f.Add("cudnn_benchmark", &c.cudnn_benchmark, "let cuDNN autotune convolution algorithms");
  f.Add("log_dir", &c.log_dir,
        "folder or s3://bucket/prefix for checkpoints, TensorBoard events and eval results; resumes from its "
        "newest checkpoint");
  f.Add("save_interval", &c.save_interval, "seconds between checkpoints (one is always written at the end)");
  f.Add("keep_checkpoints", &c.keep_checkpoints, "checkpoints kept in --log_dir (0: all)");
  f.Add("display_every", &c.display_every, "steps between log lines and TensorBoard scalars");
  f.Add("metrics_port", &c.metrics_port, "Prometheus /metrics port (+ local rank); 0: off");
  f.Add("fusion_threshold_mb", &c.fusion_threshold_mb,
        "gradients fused into all-reduce buckets of up to this many MiB (Horovod's default 64; 0: one per tensor)");
  f.Add("fp16_allreduce", &c.fp16_allreduce, "send gradients as float16 (half the bytes)");
  f.Add("force_gradient_sync", &c.force_gradient_sync,
        "all-reduce gradients even on one rank (NCCL on a GPU): measures what the sync costs");
  f.Add("collective_timeout", &c.collective_timeout_seconds,
        "seconds any collective may wait for the other ranks before the job stops (a rank died or hung)");
  f.Add("eval", &c.eval,
        "evaluate top-1/top-5 on the validation split: the newest checkpoint in --log_dir, --checkpoint, or "
        "torchvision weights from --init_checkpoint");
  f.Add("checkpoint", &c.checkpoint, "with --eval: this checkpoint (file or s3:// object) instead of the newest");
}

void ValidateTrainFlags(const FlagSet& flags, const TrainFlags& c) {
  const auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  ValidateDataOptions(c.data);
  require(!(c.fp16 && c.bf16), "--fp16 and --bf16 exclude each other");
  require(c.num_classes >= 1, "--num_classes must be at least 1");
  require(c.num_batches >= 1 || c.eval, "--num_batches must be at least 1");
  require(c.num_epochs >= 0, "--num_epochs must not be negative");
  require(c.learning_rate >= 0, "--learning_rate must not be negative");
  require(c.momentum >= 0 && c.momentum < 1, "--momentum must be in [0, 1)");
  require(c.weight_decay >= 0, "--weight_decay must not be negative");
  require(c.larc_eta >= 0, "--larc_eta must not be negative");
  require(c.larc_epsilon >= 0, "--larc_epsilon must not be negative");
  require(c.label_smoothing >= 0 && c.label_smoothing < 1, "--label_smoothing must be in [0, 1)");
  require(c.display_every >= 1, "--display_every must be at least 1");
  require(c.save_interval >= 0, "--save_interval must not be negative");
  require(c.metrics_port >= 0 && c.metrics_port < 65536, "--metrics_port must be a port number");
  require(c.fusion_threshold_mb >= 0, "--fusion_threshold_mb must not be negative");
  require(c.collective_timeout_seconds >= 1, "--collective_timeout must be at least 1 second");
  require(!flags.WasSet("checkpoint") || c.eval, "--checkpoint goes with --eval (training resumes from --log_dir)");
  const auto parses = [](const char* flag, const auto& parser) {
    try {
      parser();
    } catch (const std::invalid_argument& e) {
      throw UsageError(*flag ? std::string(flag) + ": " + e.what() : e.what());  // "": the message names the flag
    }
  };
  parses("--lr_schedule", [&] { optim::ParseLrSchedule(c.lr_schedule); });
  parses("", [&] { optim::LayerwiseFromFlags(c.optimizer, c.larc_mode, c.larc_eta); });
  parses("", [&] { optim::ParseLossScale(c.loss_scale); });
}

}  // namespace kubecnn::cli
