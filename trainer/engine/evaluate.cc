// Evaluation loop and its JSON result.
#include "trainer/engine/evaluate.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "trainer/checkpoint/checkpoint.h"
#include "trainer/checkpoint/checkpoint_files.h"
#include "trainer/common/errors.h"
#include "trainer/data/device_batch.h"
#include "trainer/engine/model_setup.h"
#include "trainer/engine/shared_checkpoint.h"
#include "trainer/engine/train_loop.h"
#include "trainer/storage/storage.h"
#include "trainer/storage/storage_path.h"

namespace kubecnn::engine {

EvalCounts CountCorrect(models::Model& model, data::Loader& loader, const RunDevice& device) {
  torch::NoGradGuard no_grad;
  model.eval();
  EvalCounts counts;
  while (const data::BatchPtr batch = loader.Next()) {
    const data::DeviceBatch input = data::ToDevice(*batch, device.device, torch::kFloat32, device.channels_last);
    torch::Tensor logits;
    {
      AutocastScope autocast(device);
      logits = model.Forward(input.images).logits;
    }
    const int64_t k = std::min<int64_t>(5, logits.size(1));
    const torch::Tensor topk = std::get<1>(logits.topk(k, /*dim=*/1));
    const torch::Tensor hit = topk.eq(input.labels.unsqueeze(1));
    counts.top1 += hit.select(1, 0).sum().item<int64_t>();
    counts.top5 += hit.any(1).sum().item<int64_t>();
    counts.images += batch->size;
  }
  return counts;
}

EvalResult RunEvaluation(const TrainConfig& config_in) {
  TrainConfig config = config_in;
  if (config.data.data_dir.empty()) throw ConfigError("--eval needs --data_dir with validation-NNNNN-of-NNNNN shards");
  // torchvision weights (torch.save(model.state_dict())) are scored as they are: --init_checkpoint
  // without --checkpoint; the model, classes and image size come from the flags.
  const bool pretrained = config.checkpoint.empty() && !config.init_checkpoint.empty();
  if (config.checkpoint.empty() && config.log_dir.empty() && !pretrained) {
    throw ConfigError(
        "--eval needs --log_dir holding checkpoints, --checkpoint=FILE, or --init_checkpoint=FILE (torchvision "
        "weights)");
  }
  if (pretrained && config.init_skip_classifier) {
    throw ConfigError("--eval --init_checkpoint scores the weights as saved; drop --init_skip_classifier");
  }
  const comm::Placement& placement = config.placement;
  config.data.rank = placement.rank;
  config.data.world = placement.world_size;
  const RunDevice device = ChooseRunDevice(config, placement.local_rank);
  std::unique_ptr<comm::Communicator> comm = comm::CreateCommunicator(placement, device.device, config.comm);
  EvalResult result;
  std::shared_ptr<models::Model> model;
  config.precision = Precision::kFp32;  // evaluate in fp32, as nvcnn did
  if (pretrained) {
    // Every rank reads the weights file itself (BuildModel): it is read-only and usually small.
    result.checkpoint = config.init_checkpoint;
    result.step = 0;
    if (config.data.transform.output_size == 0) config.data.transform.output_size = ModelImageSize(config.model);
    model = BuildModel(config, device);
  } else {
    // Rank 0 reads the checkpoint; every rank evaluates its own part of the validation records.
    auto shared = LoadCheckpointOnRank0(*comm, config.checkpoint, config.log_dir);
    if (!shared) throw ConfigError("--eval: no checkpoint (model.ckpt-*.pt) in --log_dir=" + config.log_dir);
    result.checkpoint = shared->path;
    const checkpoint::Checkpoint& saved = shared->value;
    result.step = saved.step;
    // The checkpoint says what it is: its model, classes and image size win over the defaults.
    config.model = saved.config.model;
    config.num_classes = saved.config.num_classes;
    if (config.data.transform.output_size == 0)
      config.data.transform.output_size = static_cast<int>(saved.config.image_size);
    config.init_checkpoint.clear();  // the checkpoint holds every weight
    model = BuildModel(config, device);
    LoadModelState(*model, saved.model, result.checkpoint);
  }

  data::LoaderOptions options = config.data;
  options.train = false;
  options.split = "validation";
  options.num_classes = config.num_classes;
  if (device.device.is_cuda()) options.pixel_allocator = data::PinnedHostAllocator();
  data::Loader loader(options);
  const auto start = std::chrono::steady_clock::now();
  result.counts = CountCorrect(*model, loader, device);
  if (comm->world_size() > 1) {
    torch::Tensor sums = torch::tensor({result.counts.top1, result.counts.top5, result.counts.images},
                                       torch::TensorOptions().dtype(torch::kInt64))
                             .to(comm->device());
    comm->AllReduce(sums, comm::ReduceOp::kSum);
    sums = sums.cpu();
    result.counts.top1 = sums[0].item<int64_t>();
    result.counts.top5 = sums[1].item<int64_t>();
    result.counts.images = sums[2].item<int64_t>();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // The result as JSON through a JSON library: the checkpoint path and model name are escaped.
  const nlohmann::json summary = {{"top1", result.counts.top1_ratio()},
                                  {"top5", result.counts.top5_ratio()},
                                  {"images", result.counts.images},
                                  {"top1_correct", result.counts.top1},
                                  {"top5_correct", result.counts.top5},
                                  {"step", result.step},
                                  {"model", config.model},
                                  {"checkpoint", result.checkpoint}};
  result.json = summary.dump();
  if (placement.rank != 0) return result;
  std::printf("Evaluated %s at step %lld on %lld images in %.1f s: top-1 %.2f%%, top-5 %.2f%%\n",
              result.checkpoint.c_str(), static_cast<long long>(result.step),
              static_cast<long long>(result.counts.images), seconds, 100 * result.counts.top1_ratio(),
              100 * result.counts.top5_ratio());
  // The launcher takes the result from this line when --log_dir is a bucket it cannot read
  // (operator/controller/trainer_args.cc); from eval-<step>.json otherwise.
  std::printf("kubecnn-eval-result: %s\n", result.json.c_str());
  std::fflush(stdout);
  if (!config.log_dir.empty()) {
    // Atomically: the launcher copies this file into the pod's termination message as soon as
    // mpirun exits, and must never read half of it.
    const std::string path = storage::JoinPath(config.log_dir, "eval-" + std::to_string(result.step) + ".json");
    try {
      storage::StorageFor(config.log_dir).MakeFolders(config.log_dir);  // new when scoring torchvision weights
      storage::WriteAtomically(path, {result.json, "\n"});
    } catch (const std::exception& e) {  // a storage fault, as for checkpoints: a restart may succeed
      throw TransientError(std::string("writing the evaluation result to --log_dir: ") + e.what());
    }
  }
  return result;
}

}  // namespace kubecnn::engine
