// The training loop and the state it saves and restores.
#include "trainer/engine/train_loop.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "trainer/checkpoint/checkpoint.h"
#include "trainer/checkpoint/checkpoint_files.h"
#include "trainer/comm/gradient_sync.h"
#include "trainer/comm/module_broadcast.h"
#include "trainer/common/log.h"
#include "trainer/common/random.h"
#include "trainer/data/device_batch.h"
#include "trainer/data/loader.h"
#include "trainer/engine/model_setup.h"
#include "trainer/engine/run_device.h"
#include "trainer/engine/shared_checkpoint.h"
#include "trainer/metrics/data_metrics.h"
#include "trainer/metrics/event_file.h"
#include "trainer/metrics/metrics_server.h"
#include "trainer/metrics/training_metrics.h"
#include "trainer/optim/label_smoothing.h"
#include "trainer/optim/loss_scaler.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/optim/sgd.h"
#include "trainer/optim/unscale_grads.h"

namespace kubecnn::engine {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double WallTime() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// Auxiliary heads' weights in the loss, as torchvision's reference recipes use them.
double AuxLossWeight(const std::string& model) { return model == "googlenet" ? 0.3 : 0.4; }

optim::LrSchedule MakeSchedule(const TrainConfig& c, int64_t total_steps, int64_t steps_per_epoch,
                               int64_t global_batch) {
  optim::LrSchedule s;
  try {
    s = optim::ParseLrSchedule(c.lr_schedule);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("--lr_schedule: ") + e.what());
  }
  s.base_lr = c.learning_rate > 0 ? c.learning_rate : DefaultLearningRate(c.model, global_batch);
  s.total_steps = total_steps;
  s.steps_per_epoch = steps_per_epoch;
  s.global_batch = global_batch;
  s.reference_batch = c.lr_scaling_reference_batch;
  try {
    optim::ValidateLrSchedule(s);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("--lr_schedule: ") + e.what());
  }
  return s;
}

std::vector<torch::Tensor> Tensors(const std::vector<optim::NamedParameter>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.tensor);
  return out;
}

}  // namespace

TrainResult Train(const TrainConfig& config_in, const std::string& command_line) {
  TrainConfig config = config_in;
  const comm::Placement& placement = config.placement;
  config.data.rank = placement.rank;
  config.data.world = placement.world_size;
  const bool chief = placement.rank == 0;  // logs, writes checkpoints and TensorBoard files
  const RunDevice device = ChooseRunDevice(config, placement.local_rank);
  std::unique_ptr<comm::Communicator> comm = comm::CreateCommunicator(placement, device.device, config.comm);
  if (config.data.transform.output_size == 0) config.data.transform.output_size = ModelImageSize(config.model);
  torch::manual_seed(config.data.seed);
  std::shared_ptr<models::Model> model = BuildModel(config, device);

  // Resume from the newest checkpoint (read by rank 0, broadcast), refusing one this run could not
  // continue; a fresh start takes rank 0's initial weights everywhere.
  const checkpoint::RunConfig run_config{config.model, config.num_classes, config.data.transform.output_size,
                                         config.data.world, config.data.batch_size};
  checkpoint::Checkpoint resume;
  std::string resume_path;
  bool resumed = false;
  if (auto shared = LoadCheckpointOnRank0(*comm, "", config.log_dir)) {
    resume = std::move(shared->value);
    resume_path = shared->path;
    const std::string why = checkpoint::Incompatibility(resume.config, run_config);
    if (!why.empty()) {
      throw ConfigError("cannot resume from " + shared->path + ": " + why +
                        " (use another --log_dir, or the flags of the run that wrote it)");
    }
    LoadModelState(*model, resume.model, shared->path);
    resumed = true;
    if (chief) LogInfo("train", "resuming from " + shared->path + " at step " + std::to_string(resume.step));
  } else {
    comm::BroadcastModule(*comm, *model, 0);
  }
  // Same weights everywhere, but each rank its own dropout masks from here on.
  if (placement.rank > 0) torch::manual_seed(DeriveSeed(config.data.seed, static_cast<uint64_t>(placement.rank)));

  data::LoaderOptions data_options = config.data;
  data_options.train = true;
  data_options.split = "train";
  data_options.num_classes = config.num_classes;
  data_options.start_position = resume.data_position;
  if (device.device.is_cuda()) data_options.pixel_allocator = data::PinnedHostAllocator();
  data::Loader loader(data_options);

  const int64_t global_batch = config.data.batch_size * config.data.world;
  const int64_t steps_per_epoch = loader.synthetic() ? 0 : loader.total_records() / global_batch;
  if (!loader.synthetic() && steps_per_epoch == 0) {
    throw ConfigError("--batch_size=" + std::to_string(config.data.batch_size) + " x " +
                      std::to_string(config.data.world) + " ranks is larger than the " +
                      std::to_string(loader.total_records()) + " training records");
  }
  int64_t total_steps = config.num_batches;
  if (config.num_epochs > 0) {
    if (loader.synthetic()) throw ConfigError("--num_epochs needs --data_dir (synthetic data has no epochs)");
    total_steps = loader.total_records() * config.num_epochs / global_batch;
  }
  const optim::LrSchedule schedule = MakeSchedule(config, total_steps, steps_per_epoch, global_batch);

  optim::SgdOptions sgd_options;
  sgd_options.momentum = config.momentum;
  sgd_options.nesterov = config.nesterov && config.momentum > 0;
  sgd_options.groups.weight_decay = config.weight_decay;
  sgd_options.groups.weight_decay_exclude_bn_bias = config.weight_decay_exclude_bn_bias;
  sgd_options.groups.layerwise_exclude_bn_bias = config.weight_decay_exclude_bn_bias;
  try {
    sgd_options.layerwise = optim::LayerwiseFromFlags(config.optimizer, config.larc_mode, config.larc_eta);
    sgd_options.layerwise.epsilon = config.larc_epsilon;
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  optim::Sgd sgd(optim::NamedParameters(*model), sgd_options);
  optim::LossScaler scaler(optim::StaticLossScale(1.0));
  try {
    scaler = optim::LossScaler(optim::ParseLossScale(config.loss_scale));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("--loss_scale: ") + e.what());
  }
  if (resumed) {
    sgd.LoadStateDict(resume.optimizer);
    const auto scalar = [&](const char* name) {
      auto it = resume.scalars.find(name);
      if (it == resume.scalars.end()) {
        throw checkpoint::CheckpointError("checkpoint " + resume_path + ": no " + name +
                                          " scalar (damaged, or not written by this trainer's training loop; "
                                          "delete it to resume from the previous one)");
      }
      return it->second;
    };
    scaler.Restore({scalar("loss_scale"), static_cast<int64_t>(scalar("loss_scale_good_steps")),
                    static_cast<int64_t>(scalar("skipped_steps"))});
    if (resume.rng_state.defined() && chief) {
      at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global one
      generator.set_state(resume.rng_state);
    }
  }
  const std::vector<torch::Tensor> params = Tensors(sgd.parameters());
  std::unique_ptr<comm::GradientAllReducer> gradient_sync;
  if (comm->world_size() > 1 || config.force_gradient_sync) {
    gradient_sync = std::make_unique<comm::GradientAllReducer>(*comm, params, config.gradient_sync);
    if (chief) {
      LogInfo("train", "averaging gradients over " + std::to_string(comm->world_size()) + " ranks with " +
                           comm->name() + " in " + std::to_string(gradient_sync->num_buckets()) + " buckets");
    }
  }

  metrics::TrainingMetrics train_metrics(config.data.rank);
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (config.metrics_port > 0) {
    metrics_server = std::make_unique<metrics::MetricsServer>(
        "0.0.0.0:" + std::to_string(config.metrics_port + placement.local_rank));
    metrics_server->Register(train_metrics.registry());
    metrics_server->Register(metrics::MakeDataMetrics(loader, config.data.rank));
  }
  std::unique_ptr<metrics::EventWriter> events;
  if (!config.log_dir.empty() && chief) events = std::make_unique<metrics::EventWriter>(config.log_dir);

  if (chief) {
    std::printf("Model:      %s (%lld parameters, %dx%d input)\n", config.model.c_str(),
                static_cast<long long>(CountModelParameters(*model)), config.data.transform.output_size,
                config.data.transform.output_size);
    std::printf("Batch size: %lld per rank, %lld total\nData:       %s\nSteps:      %lld (from %lld)\nDevice:     %s\n",
                static_cast<long long>(config.data.batch_size), static_cast<long long>(global_batch),
                loader.synthetic()
                    ? "synthetic"
                    : (config.data.data_dir + " (" + std::to_string(loader.total_records()) + " records)").c_str(),
                static_cast<long long>(total_steps), static_cast<long long>(resume.step), device.device.str().c_str());
    std::printf("%s\n", metrics::StepLogHeader().c_str());
    std::fflush(stdout);
  }

  TrainResult result;
  result.first_step = resume.step;
  std::vector<double> step_seconds;
  int64_t data_position = resume.data_position;
  auto last_save = Clock::now();
  auto last_display = Clock::now();
  int64_t images_since_display = 0;

  const auto save = [&](int64_t step_done) {
    if (config.log_dir.empty() || !chief) return;
    const auto start = Clock::now();
    checkpoint::Checkpoint c;
    c.config = run_config;
    c.step = step_done;
    c.data_position = data_position;
    c.epoch = loader.synthetic() ? 0 : data_position / loader.records_per_epoch();
    for (const auto& [name, tensor] : ModelState(*model)) c.model[name] = tensor;
    c.optimizer = sgd.StateDict();
    c.scalars["loss_scale"] = scaler.state().scale;
    c.scalars["loss_scale_good_steps"] = static_cast<double>(scaler.state().good_steps);
    c.scalars["skipped_steps"] = static_cast<double>(scaler.state().skipped_steps);
    c.rng_state = at::detail::getDefaultCPUGenerator().get_state();
    c.command_line = command_line;
    const std::string path = config.log_dir + "/" + checkpoint::CheckpointFileName(step_done);
    checkpoint::SaveCheckpoint(path, c);
    checkpoint::PruneCheckpoints(config.log_dir, config.keep_checkpoints);
    const double seconds = Seconds(start, Clock::now());
    train_metrics.RecordCheckpointSave(seconds);
    result.last_checkpoint = path;
    std::printf("Checkpoint written to %s (%.2f s)\n", path.c_str(), seconds);
  };

  model->train();
  for (int64_t step = resume.step; step < total_steps; ++step) {
    const auto start = Clock::now();
    const data::BatchPtr batch = loader.Next();
    const data::DeviceBatch input = data::ToDevice(*batch, device.device, torch::kFloat32, device.channels_last);
    const double lr = optim::LearningRate(schedule, step);

    torch::Tensor loss;
    {
      AutocastScope autocast(device);
      const models::ModelOutput out = model->Forward(input.images);
      loss = optim::SmoothedCrossEntropy(out.logits, input.labels, config.label_smoothing);
      for (const torch::Tensor& aux : out.aux_logits) {
        loss =
            loss + AuxLossWeight(config.model) * optim::SmoothedCrossEntropy(aux, input.labels, config.label_smoothing);
      }
    }
    (scaler.scale() == 1.0 ? loss : loss * scaler.scale()).backward();
    double allreduce_seconds = 0, exposed_seconds = 0;
    if (gradient_sync) {
      try {
        gradient_sync->Finish();
      } catch (const comm::CommError& e) {
        std::fprintf(stderr, "kubecnn-trainer: step %lld: %s\n", static_cast<long long>(step + 1), e.what());
        comm->AbortJob(1);
      }
      allreduce_seconds = gradient_sync->last_step().allreduce_seconds;
      exposed_seconds = gradient_sync->last_step().exposed_seconds;
    }
    const bool non_finite = optim::UnscaleGradients(optim::GradientsOf(params), 1.0 / scaler.scale());
    if (scaler.Update(non_finite)) {
      sgd.Step(lr);
    } else {
      train_metrics.RecordSkippedStep();
      LogWarning("train", "step " + std::to_string(step + 1) +
                              ": non-finite gradients, update skipped (loss scale now " +
                              std::to_string(scaler.scale()) + ")");
    }
    if (gradient_sync) {
      gradient_sync->ZeroGradients();  // keeps .grad as views into the all-reduce buckets
    } else {
      sgd.ZeroGrad();
    }
    const double loss_value = loss.item<double>();  // synchronises with the device
    const double elapsed = Seconds(start, Clock::now());
    data_position = batch->end_position;
    step_seconds.push_back(elapsed);
    result.losses.push_back(loss_value);
    ++result.steps;
    images_since_display += batch->size;

    const int64_t epoch = loader.synthetic() ? 0 : (step * global_batch) / loader.total_records();
    metrics::StepFigures figures{elapsed, batch->size, 0, loss_value, lr, scaler.scale(), step + 1, epoch};
    const bool last = step + 1 == total_steps;
    figures.allreduce_seconds = allreduce_seconds;
    figures.exposed_allreduce_seconds = exposed_seconds;
    if (chief && (step == resume.step || (step + 1) % config.display_every == 0 || last)) {
      const double interval = Seconds(last_display, Clock::now());
      figures.images_per_second = images_since_display * config.data.world / std::max(interval, 1e-9);
      last_display = Clock::now();
      images_since_display = 0;
      std::printf(
          "%s\n",
          metrics::StepLogLine(step + 1, epoch + 1, figures.images_per_second, loss_value, lr, scaler.scale()).c_str());
      std::fflush(stdout);
      if (events) {
        const double now = WallTime();
        events->AddScalar("train/loss", loss_value, step + 1, now);
        events->AddScalar("train/learning_rate", lr, step + 1, now);
        events->AddScalar("train/images_per_second", figures.images_per_second, step + 1, now);
        events->AddScalar("train/loss_scale", scaler.scale(), step + 1, now);
        events->Flush();
      }
    }
    train_metrics.RecordStep(figures);
    if (last || Seconds(last_save, Clock::now()) > static_cast<double>(config.save_interval)) {
      save(step + 1);
      last_save = Clock::now();
    }
  }
  result.skipped_steps = scaler.skipped_steps();
  constexpr int64_t kBurnIn = 20;  // nvcnn's nstep_burnin
  result.throughput =
      metrics::SummarizeThroughput(step_seconds, global_batch, std::min<int64_t>(kBurnIn, result.steps / 2));
  if (chief) {
    std::printf("%s\n%s\n%s\n", std::string(64, '-').c_str(),
                metrics::FormatThroughput(result.throughput, kBurnIn).c_str(), std::string(64, '-').c_str());
  }
  return result;
}

}  // namespace kubecnn::engine
