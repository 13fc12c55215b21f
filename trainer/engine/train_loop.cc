// The training run as a thin shell around its plan: set up, resume, step, maybe save, report.
#include "trainer/engine/train_loop.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "trainer/checkpoint/checkpoint.h"
#include "trainer/checkpoint/checkpoint_files.h"
#include "trainer/comm/gradient_sync.h"
#include "trainer/comm/module_broadcast.h"
#include "trainer/common/log.h"
#include "trainer/common/metrics_server.h"
#include "trainer/common/random.h"
#include "trainer/data/device_batch.h"
#include "trainer/data/loader.h"
#include "trainer/engine/model_setup.h"
#include "trainer/engine/run_device.h"
#include "trainer/engine/run_plan.h"
#include "trainer/engine/shared_checkpoint.h"
#include "trainer/metrics/data_metrics.h"
#include "trainer/metrics/event_file.h"
#include "trainer/metrics/training_metrics.h"
#include "trainer/optim/label_smoothing.h"
#include "trainer/optim/loss_scaler.h"
#include "trainer/optim/lr_schedule.h"
#include "trainer/optim/sgd.h"
#include "trainer/optim/unscale_grads.h"
#include "trainer/storage/storage_path.h"

namespace kubecnn::engine {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double WallTime() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

constexpr int64_t kBurnIn = 20;  // nvcnn's nstep_burnin: steps left out of the throughput summary

std::vector<torch::Tensor> Tensors(const std::vector<optim::NamedParameter>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.tensor);
  return out;
}

// What one step did, for the log, the metrics and the result.
struct StepOutcome {
  double loss = 0;
  double allreduce_seconds = 0;
  double exposed_allreduce_seconds = 0;
  bool applied = true;  // false: non-finite gradients, update skipped
};

class TrainingRun {
 public:
  TrainingRun(const TrainConfig& config, std::string command_line);
  TrainResult Run();

 private:
  data::LoaderOptions TrainingData(int64_t start_position) const;
  void RestoreOrBroadcastWeights(const std::optional<SharedCheckpoint>& resume);
  void RestoreOptimizer(const SharedCheckpoint& resume);
  void StartEndpoints();
  void PrintHeader() const;
  StepOutcome Step(int64_t step, const data::Batch& batch, double lr);
  void Report(int64_t step, metrics::StepFigures& figures, bool force);
  void Save(int64_t steps_done);

  TrainConfig config_;
  std::string command_line_;
  bool chief_ = false;  // rank 0: logs, writes checkpoints and TensorBoard files
  RunDevice device_;
  std::unique_ptr<comm::Communicator> comm_;
  std::unique_ptr<data::Loader> loader_;
  RunPlan plan_;
  std::shared_ptr<models::Model> model_;
  std::unique_ptr<optim::Sgd> sgd_;
  std::optional<optim::LossScaler> scaler_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<comm::GradientAllReducer> gradient_sync_;
  metrics::TrainingMetrics train_metrics_;
  std::unique_ptr<http::MetricsServer> metrics_server_;
  std::unique_ptr<metrics::EventWriter> events_;

  int64_t data_position_ = 0;  // samples of this rank's stream consumed by the steps taken
  Clock::time_point last_display_ = Clock::now();
  int64_t images_since_display_ = 0;
  TrainResult result_;
};

TrainingRun::TrainingRun(const TrainConfig& config, std::string command_line)
    : config_(config), command_line_(std::move(command_line)), train_metrics_(config.placement.rank) {
  const comm::Placement& placement = config_.placement;
  config_.data.rank = placement.rank;
  config_.data.world = placement.world_size;
  chief_ = placement.rank == 0;
  if (config_.data.transform.output_size == 0) config_.data.transform.output_size = ModelImageSize(config_.model);
  device_ = ChooseRunDevice(config_, placement.local_rank);
  comm_ = comm::CreateCommunicator(placement, device_.device, config_.comm);

  // Decide everything before the first step: the newest checkpoint (read by rank 0, broadcast)
  // and the dataset's size go into the plan, which refuses what this run could not do.
  std::optional<SharedCheckpoint> resume = LoadCheckpointOnRank0(*comm_, "", config_.log_dir);
  data_position_ = resume ? resume->value.data_position : 0;
  loader_ = std::make_unique<data::Loader>(TrainingData(data_position_));
  std::optional<ResumePoint> resume_point;
  if (resume) resume_point = ResumePointOf(resume->path, resume->value);
  plan_ = PlanRun(config_, loader_->synthetic() ? 0 : loader_->total_records(), resume_point);

  torch::manual_seed(config_.data.seed);
  model_ = BuildModel(config_, device_);
  RestoreOrBroadcastWeights(resume);
  sgd_ = std::make_unique<optim::Sgd>(optim::NamedParameters(*model_), plan_.optimizer);
  scaler_.emplace(plan_.loss_scale);
  scaler_->Restore(plan_.loss_scale_state);
  if (resume) RestoreOptimizer(*resume);
  // Same weights everywhere, but each rank its own dropout masks from here on.
  if (placement.rank > 0) torch::manual_seed(DeriveSeed(config_.data.seed, static_cast<uint64_t>(placement.rank)));

  params_ = Tensors(sgd_->parameters());
  if (comm_->world_size() > 1 || config_.force_gradient_sync) {
    gradient_sync_ = std::make_unique<comm::GradientAllReducer>(*comm_, params_, config_.gradient_sync);
    if (chief_) {
      LogInfo("train", "averaging gradients over " + std::to_string(comm_->world_size()) + " ranks with " +
                           comm_->name() + " in " + std::to_string(gradient_sync_->num_buckets()) + " buckets");
    }
  }
  StartEndpoints();
}

data::LoaderOptions TrainingRun::TrainingData(int64_t start_position) const {
  data::LoaderOptions options = config_.data;
  options.train = true;
  options.split = "train";
  options.num_classes = config_.num_classes;
  options.start_position = start_position;
  if (device_.device.is_cuda()) options.pixel_allocator = data::PinnedHostAllocator();
  return options;
}

// A resumed run takes the checkpoint's weights; a fresh one rank 0's initial weights everywhere.
void TrainingRun::RestoreOrBroadcastWeights(const std::optional<SharedCheckpoint>& resume) {
  if (!resume) {
    comm::BroadcastModule(*comm_, *model_, 0);
    return;
  }
  LoadModelState(*model_, resume->value.model, resume->path);
  if (chief_) LogInfo("train", "resuming from " + resume->path + " at step " + std::to_string(plan_.first_step));
}

// Momentum buffers and rank 0's random generator, as the checkpoint saved them.
void TrainingRun::RestoreOptimizer(const SharedCheckpoint& resume) {
  sgd_->LoadStateDict(resume.value.optimizer);
  if (resume.value.rng_state.defined() && chief_) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global one
    generator.set_state(resume.value.rng_state);
  }
}

void TrainingRun::StartEndpoints() {
  if (config_.metrics_port > 0) {
    metrics_server_ = std::make_unique<http::MetricsServer>(
        ":" + std::to_string(config_.metrics_port + config_.placement.local_rank));
    metrics_server_->Register(train_metrics_.registry());
    metrics_server_->Register(metrics::MakeDataMetrics(loader_->counters(), config_.data.rank));
  }
  if (!config_.log_dir.empty() && chief_) events_ = std::make_unique<metrics::EventWriter>(config_.log_dir);
}

void TrainingRun::PrintHeader() const {
  if (!chief_) return;
  const std::string data = loader_->synthetic()
                               ? "synthetic"
                               : config_.data.data_dir + " (" + std::to_string(plan_.records_per_epoch) + " records, " +
                                     std::to_string(plan_.steps_per_epoch) + " steps per epoch)";
  std::printf("Model:      %s (%lld parameters, %dx%d input)\n", config_.model.c_str(),
              static_cast<long long>(CountModelParameters(*model_)), config_.data.transform.output_size,
              config_.data.transform.output_size);
  std::printf("Batch size: %lld per rank, %lld total\nData:       %s\nSteps:      %lld (from %lld)\nDevice:     %s\n",
              static_cast<long long>(config_.data.batch_size), static_cast<long long>(plan_.global_batch), data.c_str(),
              static_cast<long long>(plan_.total_steps), static_cast<long long>(plan_.first_step),
              device_.device.str().c_str());
  std::printf("%s\n", metrics::StepLogHeader().c_str());
  std::fflush(stdout);
}

StepOutcome TrainingRun::Step(int64_t step, const data::Batch& batch, double lr) {
  StepOutcome outcome;
  const data::DeviceBatch input = data::ToDevice(batch, device_.device, torch::kFloat32, device_.channels_last);
  torch::Tensor loss;
  {
    AutocastScope autocast(device_);
    const models::ModelOutput out = model_->Forward(input.images);
    loss = optim::SmoothedCrossEntropy(out.logits, input.labels, config_.label_smoothing);
    for (size_t i = 0; i < out.aux_logits.size() && i < plan_.aux_loss_weights.size(); ++i) {
      loss = loss + plan_.aux_loss_weights[i] *
                        optim::SmoothedCrossEntropy(out.aux_logits[i], input.labels, config_.label_smoothing);
    }
  }
  (scaler_->scale() == 1.0 ? loss : loss * scaler_->scale()).backward();
  if (gradient_sync_) {
    try {
      gradient_sync_->Finish();
    } catch (const comm::CommError& e) {
      std::fprintf(stderr, "kubecnn-trainer: step %lld: %s\n", static_cast<long long>(step + 1), e.what());
      comm_->AbortJob(1);
    }
    outcome.allreduce_seconds = gradient_sync_->last_step().allreduce_seconds;
    outcome.exposed_allreduce_seconds = gradient_sync_->last_step().exposed_seconds;
  }
  const bool non_finite = optim::UnscaleGradients(optim::GradientsOf(params_), 1.0 / scaler_->scale());
  outcome.applied = scaler_->Update(non_finite);
  if (outcome.applied) sgd_->Step(lr);
  if (gradient_sync_) {
    gradient_sync_->ZeroGradients();  // keeps .grad as views into the all-reduce buckets
  } else {
    sgd_->ZeroGrad();
  }
  outcome.loss = loss.item<double>();  // synchronises with the device
  return outcome;
}

// The log line and TensorBoard scalars every --display_every steps (and on the first and last).
// Sets figures.images_per_second (job-wide, since the last line) when it reports.
void TrainingRun::Report(int64_t step, metrics::StepFigures& figures, bool force) {
  if (!chief_ || !(force || (step + 1) % config_.display_every == 0)) return;
  const double interval = SecondsSince(last_display_);
  const double images_per_second = images_since_display_ * config_.data.world / std::max(interval, 1e-9);
  figures.images_per_second = images_per_second;
  last_display_ = Clock::now();
  images_since_display_ = 0;
  std::printf("%s\n", metrics::StepLogLine(step + 1, figures.epoch + 1, images_per_second, figures.loss,
                                           figures.learning_rate, figures.loss_scale)
                          .c_str());
  std::fflush(stdout);
  if (!events_) return;
  const double now = WallTime();
  events_->AddScalar("train/loss", figures.loss, step + 1, now);
  events_->AddScalar("train/learning_rate", figures.learning_rate, step + 1, now);
  events_->AddScalar("train/images_per_second", images_per_second, step + 1, now);
  events_->AddScalar("train/loss_scale", figures.loss_scale, step + 1, now);
  events_->Flush();
}

void TrainingRun::Save(int64_t steps_done) {
  if (config_.log_dir.empty() || !chief_) return;
  const auto start = Clock::now();
  checkpoint::Checkpoint c;
  c.config = plan_.run;
  c.step = steps_done;
  c.data_position = data_position_;
  c.epoch = EpochAt(plan_, steps_done);
  for (const auto& [name, tensor] : ModelState(*model_)) c.model[name] = tensor;
  c.optimizer = sgd_->StateDict();
  c.scalars["loss_scale"] = scaler_->state().scale;
  c.scalars["loss_scale_good_steps"] = static_cast<double>(scaler_->state().good_steps);
  c.scalars["skipped_steps"] = static_cast<double>(scaler_->state().skipped_steps);
  c.rng_state = at::detail::getDefaultCPUGenerator().get_state();
  c.command_line = command_line_;
  const std::string path = storage::JoinPath(config_.log_dir, checkpoint::CheckpointFileName(steps_done));
  checkpoint::SaveCheckpoint(path, c);
  checkpoint::PruneCheckpoints(config_.log_dir, config_.keep_checkpoints);
  const double seconds = SecondsSince(start);
  train_metrics_.RecordCheckpointSave(seconds);
  result_.last_checkpoint = path;
  std::printf("Checkpoint written to %s (%.2f s)\n", path.c_str(), seconds);
}

TrainResult TrainingRun::Run() {
  PrintHeader();
  result_.first_step = plan_.first_step;
  std::vector<double> step_seconds;
  auto last_save = Clock::now();
  model_->train();
  for (int64_t step = plan_.first_step; step < plan_.total_steps; ++step) {
    const auto start = Clock::now();
    const data::BatchPtr batch = loader_->Next();
    const double lr = optim::LearningRate(plan_.schedule, step);
    const StepOutcome outcome = Step(step, *batch, lr);
    if (!outcome.applied) {
      train_metrics_.RecordSkippedStep();
      LogWarning("train", "step " + std::to_string(step + 1) +
                              ": non-finite gradients, update skipped (loss scale now " +
                              std::to_string(scaler_->scale()) + ")");
    }
    const double elapsed = SecondsSince(start);
    data_position_ = batch->end_position;
    step_seconds.push_back(elapsed);
    result_.losses.push_back(outcome.loss);
    ++result_.steps;
    images_since_display_ += batch->size;

    metrics::StepFigures figures{elapsed, batch->size,      0,        outcome.loss,
                                 lr,      scaler_->scale(), step + 1, EpochAt(plan_, step)};
    figures.allreduce_seconds = outcome.allreduce_seconds;
    figures.exposed_allreduce_seconds = outcome.exposed_allreduce_seconds;
    const bool last = step + 1 == plan_.total_steps;
    Report(step, figures, step == plan_.first_step || last);
    train_metrics_.RecordStep(figures);
    if (last || SecondsSince(last_save) > static_cast<double>(config_.save_interval)) {
      Save(step + 1);
      last_save = Clock::now();
    }
  }
  result_.skipped_steps = scaler_->skipped_steps();
  result_.throughput =
      metrics::SummarizeThroughput(step_seconds, plan_.global_batch, std::min<int64_t>(kBurnIn, result_.steps / 2));
  if (chief_) {
    std::printf("%s\n%s\n%s\n", std::string(64, '-').c_str(),
                metrics::FormatThroughput(result_.throughput, kBurnIn).c_str(), std::string(64, '-').c_str());
  }
  return result_;
}

}  // namespace

TrainResult Train(const TrainConfig& config, const std::string& command_line) {
  return TrainingRun(config, command_line).Run();
}

}  // namespace kubecnn::engine
