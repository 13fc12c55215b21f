// The trainer's Prometheus metrics, declared together (STYLE: kubecnn_<component>_<noun>_<unit>).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <memory>

namespace kubecnn::metrics {

struct StepFigures {
  double seconds = 0;            // wall time of the step, data wait included
  int64_t images = 0;            // images this rank processed
  double images_per_second = 0;  // job-wide (all ranks), as logged
  double loss = 0;
  double learning_rate = 0;
  double loss_scale = 1;
  int64_t step = 0;
  int64_t epoch = 0;
  double allreduce_seconds = 0;          // gradient all-reduces of this step (0 on one rank)
  double exposed_allreduce_seconds = 0;  // the part backward did not hide
};

class TrainingMetrics {
 public:
  explicit TrainingMetrics(int rank);

  void RecordStep(const StepFigures& figures);
  void RecordSkippedStep();  // non-finite gradients: the loss scaler skipped the update
  void RecordCheckpointSave(double seconds);
  void RecordEvaluation(double top1, double top5);  // fractions in [0, 1]

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram* step_seconds_;
  prometheus::Counter* images_;
  prometheus::Gauge* images_per_second_;
  prometheus::Gauge* loss_;
  prometheus::Gauge* learning_rate_;
  prometheus::Gauge* loss_scale_;
  prometheus::Gauge* step_;
  prometheus::Gauge* epoch_;
  prometheus::Counter* skipped_steps_;
  prometheus::Histogram* allreduce_seconds_;
  prometheus::Counter* exposed_allreduce_seconds_;
  prometheus::Histogram* checkpoint_save_seconds_;
  prometheus::Gauge* eval_top1_;
  prometheus::Gauge* eval_top5_;
};

}  // namespace kubecnn::metrics
