// The flags of `kubecnn-trainer train` (nvcnn_hvd.py's names first) as plain values, registered and
// checked without LibTorch, so kubectl-kubecnn refuses what the trainer would, with its message.
#pragma once

#include <cstdint>
#include <string>

#include "trainer/common/flags.h"
#include "trainer/data/loader.h"

namespace kubecnn::cli {

// What the flags write. Defaults are the trainer's command-line defaults (nvcnn's where it had one).
struct TrainFlags {
  data::LoaderOptions data = DefaultDataOptions();
  std::string model = "resnet50";
  int64_t num_classes = 1000;
  bool aux_logits = false;
  std::string init_checkpoint;
  bool init_skip_classifier = false;
  int64_t num_batches = 50;
  int64_t num_epochs = 0;
  double learning_rate = 0;
  std::string lr_schedule = "poly:2";  // optim::kNvcnnLrSchedule
  int64_t lr_scaling_reference_batch = 0;
  std::string optimizer = "sgd";
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 1e-4;
  bool weight_decay_exclude_bn_bias = false;
  std::string larc_mode = "clip";
  double larc_eta = 0;  // 0: LARC off (nvcnn: unset)
  double larc_epsilon = 1e-8;
  double label_smoothing = 0;
  std::string loss_scale = "1";
  bool fp16 = false;
  bool bf16 = false;
  bool channels_last = true;
  bool cudnn_benchmark = true;
  std::string log_dir;
  int64_t save_interval = 43200;
  int keep_checkpoints = 5;
  int64_t display_every = 1;
  int metrics_port = 0;
  double fusion_threshold_mb = 64;
  bool fp16_allreduce = false;
  bool force_gradient_sync = false;
  int64_t collective_timeout_seconds = 300;
  bool eval = false;
  std::string checkpoint;

  // The input pipeline's flag defaults: batch 64 and seed 1234 as nvcnn, image size from the model.
  static data::LoaderOptions DefaultDataOptions();
};

// Registers every train flag (the data flags included) writing into `values`.
void AddTrainFlags(FlagSet& flags, TrainFlags& values);

// Refuses what the trainer refuses before it starts: ranges, exclusive flags, and text that does not
// parse (--lr_schedule, --optimizer/--larc_mode, --loss_scale). Throws UsageError with the trainer's
// message.
void ValidateTrainFlags(const FlagSet& flags, const TrainFlags& values);

}  // namespace kubecnn::cli
