// The training metrics as a Prometheus scrape shows them.
#include "trainer/metrics/training_metrics.h"

#include <gtest/gtest.h>

#include "tests/support/http_get.h"
#include "trainer/common/metrics_server.h"

namespace kubecnn::metrics {
namespace {

TEST(TrainingMetrics, ScrapeShowsStepLossLrSkipsCheckpointsAndAccuracy) {
  TrainingMetrics metrics(0);
  metrics.RecordStep({0.25, 64, 512.0, 2.5, 0.1, 128, 10, 1});
  metrics.RecordStep({0.5, 64, 0, 2.25, 0.1, 128, 11, 1});
  metrics.RecordSkippedStep();
  metrics.RecordCheckpointSave(1.5);
  metrics.RecordEvaluation(0.75, 0.95);
  http::MetricsServer server("127.0.0.1:0");
  server.Register(metrics.registry());
  const std::string body = kubecnn::testing::HttpGet(server.port(), "/metrics").body;
  for (const char* expected : {
           "kubecnn_train_step_seconds_count{rank=\"0\"} 2",
           "kubecnn_train_step_seconds_sum{rank=\"0\"} 0.75",
           "kubecnn_train_images_total{rank=\"0\"} 128",
           "kubecnn_train_images_per_second{rank=\"0\"} 512",  // a step without a figure keeps the last one
           "kubecnn_train_loss{rank=\"0\"} 2.25",
           "kubecnn_train_learning_rate{rank=\"0\"} 0.1",
           "kubecnn_train_loss_scale{rank=\"0\"} 128",
           "kubecnn_train_step{rank=\"0\"} 11",
           "kubecnn_train_epoch{rank=\"0\"} 1",
           "kubecnn_train_skipped_steps_total{rank=\"0\"} 1",
           "kubecnn_checkpoint_save_seconds_count{rank=\"0\"} 1",
           "kubecnn_eval_top1_ratio{rank=\"0\"} 0.75",
           "kubecnn_eval_top5_ratio{rank=\"0\"} 0.95",
       }) {
    EXPECT_NE(body.find(expected), std::string::npos) << expected << "\n" << body;
  }
}

}  // namespace
}  // namespace kubecnn::metrics
