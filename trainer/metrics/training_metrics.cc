// Training metric families and their updates.
#include "trainer/metrics/training_metrics.h"

#include <string>

namespace kubecnn::metrics {
namespace {

prometheus::Histogram::BucketBoundaries ExponentialBuckets(double start, double factor, int count) {
  prometheus::Histogram::BucketBoundaries b;
  for (int i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

}  // namespace

TrainingMetrics::TrainingMetrics(int rank) : registry_(std::make_shared<prometheus::Registry>()) {
  const prometheus::Labels labels{{"rank", std::to_string(rank)}};
  auto& r = *registry_;
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add(labels);
  };
  auto counter = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add(labels);
  };
  step_seconds_ = &prometheus::BuildHistogram()
                       .Name("kubecnn_train_step_seconds")
                       .Help("Wall time of a training step, waiting for data included")
                       .Register(r)
                       .Add(labels, ExponentialBuckets(0.005, 2, 14));
  images_ = counter("kubecnn_train_images_total", "Images this rank has trained on");
  images_per_second_ = gauge("kubecnn_train_images_per_second", "Job-wide training throughput at the last log line");
  loss_ = gauge("kubecnn_train_loss", "Training loss of the last step");
  learning_rate_ = gauge("kubecnn_train_learning_rate", "Learning rate of the last step");
  loss_scale_ = gauge("kubecnn_train_loss_scale", "Current loss scale (1 without loss scaling)");
  step_ = gauge("kubecnn_train_step", "Optimizer steps taken");
  epoch_ = gauge("kubecnn_train_epoch", "Epoch being trained (0-based)");
  skipped_steps_ = counter("kubecnn_train_skipped_steps_total", "Steps skipped because gradients were not finite");
  allreduce_seconds_ = &prometheus::BuildHistogram()
                            .Name("kubecnn_train_allreduce_seconds")
                            .Help("Time per step spent all-reducing gradients (overlapping backward)")
                            .Register(r)
                            .Add(labels, ExponentialBuckets(0.0005, 2, 16));
  exposed_allreduce_seconds_ = counter("kubecnn_train_allreduce_exposed_seconds_total",
                                       "Time the training thread waited for gradient all-reduces after backward");
  checkpoint_save_seconds_ = &prometheus::BuildHistogram()
                                  .Name("kubecnn_checkpoint_save_seconds")
                                  .Help("Time to write one checkpoint")
                                  .Register(r)
                                  .Add(labels, ExponentialBuckets(0.01, 2, 14));
  eval_top1_ = gauge("kubecnn_eval_top1_ratio", "Top-1 accuracy of the last evaluation");
  eval_top5_ = gauge("kubecnn_eval_top5_ratio", "Top-5 accuracy of the last evaluation");
}

void TrainingMetrics::RecordStep(const StepFigures& f) {
  step_seconds_->Observe(f.seconds);
  images_->Increment(static_cast<double>(f.images));
  if (f.images_per_second > 0) images_per_second_->Set(f.images_per_second);
  loss_->Set(f.loss);
  learning_rate_->Set(f.learning_rate);
  loss_scale_->Set(f.loss_scale);
  step_->Set(static_cast<double>(f.step));
  epoch_->Set(static_cast<double>(f.epoch));
  if (f.allreduce_seconds > 0) {
    allreduce_seconds_->Observe(f.allreduce_seconds);
    exposed_allreduce_seconds_->Increment(f.exposed_allreduce_seconds);
  }
}

void TrainingMetrics::RecordSkippedStep() { skipped_steps_->Increment(); }

void TrainingMetrics::RecordCheckpointSave(double seconds) { checkpoint_save_seconds_->Observe(seconds); }

void TrainingMetrics::RecordEvaluation(double top1, double top5) {
  eval_top1_->Set(top1);
  eval_top5_->Set(top5);
}

}  // namespace kubecnn::metrics
