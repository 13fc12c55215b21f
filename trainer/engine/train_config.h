// Everything a training or evaluation run is configured with: nvcnn_hvd.py's flags and ours.
#pragma once

#include <cstdint>
#include <string>

#include "trainer/comm/communicator.h"
#include "trainer/comm/gradient_sync.h"
#include "trainer/comm/placement.h"
#include "trainer/data/loader.h"

namespace kubecnn::engine {

enum class Precision { kFp32, kFp16, kBf16 };

struct TrainConfig {
  // Model.
  std::string model = "resnet50";
  int64_t num_classes = 1000;
  bool aux_logits = false;            // inception3 / googlenet auxiliary heads (loss weight 0.4 / 0.3)
  std::string init_checkpoint;        // torchvision state_dict (torch.save) to start from
  bool init_skip_classifier = false;  // fine-tuning to another --num_classes

  // Data (image size 0: the model's default, 299 for inception3; data.seed seeds everything).
  data::LoaderOptions data;

  // Length of the run: --num_epochs overrides --num_batches, as in nvcnn.
  int64_t num_batches = 50;
  int64_t num_epochs = 0;

  // Optimisation (nvcnn: SGD, Nesterov momentum 0.9, weight decay 1e-4, poly decay of power 2).
  double learning_rate = 0;  // 0: nvcnn's per-model default
  std::string lr_schedule = "poly:2";
  int64_t lr_scaling_reference_batch = 0;
  std::string optimizer = "sgd";  // sgd | lars
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 1e-4;
  bool weight_decay_exclude_bn_bias = false;
  std::string larc_mode = "clip";
  double larc_eta = 0;         // 0: LARC off (nvcnn: unset)
  double larc_epsilon = 1e-8;  // in the trust ratio's denominator (apex's value)
  double label_smoothing = 0;
  std::string loss_scale = "1";
  bool fp16 = false;
  bool bf16 = false;
  bool channels_last = true;
  bool cudnn_benchmark = true;

  // Outputs.
  std::string log_dir;
  int64_t save_interval = 43200;  // seconds between checkpoints (nvcnn's default)
  int keep_checkpoints = 5;
  int64_t display_every = 1;
  int metrics_port = 0;  // 0: no endpoint (the operator's pods pass 9400)

  // Ranks: where this process sits (data.rank/data.world mirror it) and how gradients travel.
  comm::Placement placement;
  comm::CommOptions comm;
  comm::GradientSyncOptions gradient_sync;
  bool force_gradient_sync = false;  // average through the communicator even on one rank (to time it)

  // Evaluation.
  bool eval = false;
  std::string checkpoint;  // --eval on this file instead of the newest in --log_dir
};

// The precision the run asks for; --fp16 and --bf16 together is a usage error (checked by the CLI).
inline Precision RequestedPrecision(const TrainConfig& c) {
  return c.fp16 ? Precision::kFp16 : c.bf16 ? Precision::kBf16 : Precision::kFp32;
}

// nvcnn_hvd.py's learning rate when --learning_rate is not given, for the global batch.
double DefaultLearningRate(const std::string& model, int64_t global_batch);

}  // namespace kubecnn::engine
