// Progress and evaluation results: Prometheus text as the trainer exposes it, a real prometheus-cpp
// endpoint scraped over HTTP, unreachable endpoints, and the eval JSON contract.
#include "operator/controller/progress.h"

#include <gtest/gtest.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace kubecnn::controller {
namespace {

TEST(TrainerMetrics, ParsesTheTrainerFamilies) {
  const std::string text =
      "# HELP kubecnn_train_step Optimizer steps taken\n"
      "# TYPE kubecnn_train_step gauge\n"
      "kubecnn_train_step{rank=\"0\"} 1200\n"
      "kubecnn_train_epoch{rank=\"0\"} 3\n"
      "kubecnn_train_images_per_second{rank=\"0\"} 2812.5\n"
      "kubecnn_train_loss{rank=\"0\"} 3.25 1700000000000\n"
      "kubecnn_train_learning_rate{rank=\"0\"} 0.4\r\n"
      "kubecnn_train_step_seconds_bucket{rank=\"0\",le=\"0.1\"} 7\n"
      "kubecnn_train_loss_scale{rank=\"0\"} 128\n";
  const auto p = ParseTrainerMetrics(text);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->step, 1200);
  EXPECT_EQ(*p->epoch, 3);
  EXPECT_DOUBLE_EQ(*p->images_per_second, 2812.5);
  EXPECT_DOUBLE_EQ(*p->loss, 3.25);
  EXPECT_DOUBLE_EQ(*p->learning_rate, 0.4);
  EXPECT_FALSE(ParseTrainerMetrics("# nothing\nother_metric 1\n"));
  EXPECT_FALSE(ParseTrainerMetrics("kubecnn_train_loss NaN\n")) << "a NaN loss is not progress to report";
}

TEST(TrainerMetrics, ScrapesALivePrometheusEndpoint) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& step = prometheus::BuildGauge().Name("kubecnn_train_step").Help("h").Register(*registry).Add({{"rank", "0"}});
  auto& ips = prometheus::BuildGauge()
                  .Name("kubecnn_train_images_per_second")
                  .Help("h")
                  .Register(*registry)
                  .Add({{"rank", "0"}});
  step.Set(42);
  ips.Set(99.5);
  prometheus::Exposer exposer("127.0.0.1:0");
  exposer.RegisterCollectable(registry);
  const int port = exposer.GetListeningPorts().at(0);
  HttpProgressScraper scraper;
  const auto p = scraper.Scrape("127.0.0.1", port);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p->step, 42);
  EXPECT_DOUBLE_EQ(*p->images_per_second, 99.5);
  EXPECT_FALSE(p->loss);
}

TEST(TrainerMetrics, UnreachableEndpointIsNoProgressNotAnError) {
  HttpProgressScraper scraper(std::chrono::milliseconds(300));
  EXPECT_FALSE(scraper.Scrape("127.0.0.1", 1));
  EXPECT_FALSE(scraper.Scrape("no-such-host.invalid", 9400));
}

TEST(EvaluationResult, ReadsTheTrainersJson) {
  const api::EvaluationResult r = ParseEvaluationResult(
      R"({"top1": 0.761200, "top5": 0.930100, "images": 50000, "top1_correct": 38060, "top5_correct": 46505, )"
      R"("step": 112590, "model": "resnet50", "checkpoint": "/checkpoints/ckpt-112590.kcnn"})");
  EXPECT_DOUBLE_EQ(*r.top1, 0.7612);
  EXPECT_DOUBLE_EQ(*r.top5, 0.9301);
  EXPECT_EQ(*r.images, 50000);
  EXPECT_EQ(*r.step, 112590);
  EXPECT_EQ(*r.checkpoint, "/checkpoints/ckpt-112590.kcnn");
  EXPECT_THROW(ParseEvaluationResult("Error: out of memory"), std::invalid_argument);
  try {
    ParseEvaluationResult(R"({"top1": 0.5})");
    FAIL() << "no top5";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"top5\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kubecnn::controller
