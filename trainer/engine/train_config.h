// Everything a training or evaluation run is configured with: nvcnn_hvd.py's flags and ours,
// already parsed into typed values (the CLI turns flag text into these and refuses bad text).
#pragma once

#include <cstdint>
#include <string>

#include "trainer/comm/communicator.h"
#include "trainer/comm/gradient_sync.h"
#include "trainer/comm/placement.h"
#include "trainer/common/errors.h"
#include "trainer/data/loader.h"
#include "trainer/optim/larc.h"
#include "trainer/optim/loss_scaler.h"
#include "trainer/optim/lr_schedule.h"

namespace kubecnn::engine {

// A configuration the run cannot proceed with (bad flag combination, incompatible checkpoint):
// the CLI exits with code 2, which the operator does not retry.
class ConfigError : public PermanentError {
 public:
  using PermanentError::PermanentError;
};

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
  // --lr_schedule's decay and warm-up; the run plan fills in the rest (base lr, steps, batch).
  optim::LrSchedule lr_schedule = optim::ParseLrSchedule(optim::kNvcnnLrSchedule);
  int64_t lr_scaling_reference_batch = 0;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 1e-4;
  bool weight_decay_exclude_bn_bias = false;
  optim::LayerwiseOptions layerwise;  // --optimizer=lars, or LARC from --larc_mode/--larc_eta; none by default
  double label_smoothing = 0;
  optim::LossScalerOptions loss_scale = optim::StaticLossScale(1.0);  // 1: off, as in nvcnn
  Precision precision = Precision::kFp32;                             // --fp16 / --bf16 (CUDA only)
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

const char* PrecisionName(Precision precision);  // "fp32", "fp16", "bf16"

// nvcnn_hvd.py's learning rate when --learning_rate is not given, for the global batch.
double DefaultLearningRate(const std::string& model, int64_t global_batch);

}  // namespace kubecnn::engine
