// A real scrape of /metrics on a loopback port shows the loader's counters under STYLE names.
#include "trainer/metrics/data_metrics.h"

#include <gtest/gtest.h>

#include "tests/support/http_get.h"
#include "tests/support/test_files.h"
#include "trainer/common/metrics_server.h"
#include "trainer/data/dataset_files.h"
#include "trainer/data/image_example.h"
#include "trainer/data/loader.h"
#include "trainer/data/tfrecord_writer.h"

namespace kubecnn::metrics {
namespace {

TEST(DataMetrics, ScrapeShowsRecordsAndUndecodableImagesWithTheRankLabel) {
  kubecnn::testing::ScratchDir dir;
  data::TfRecordWriter writer(dir / data::ShardFileName("validation", 0, 1));
  for (int i = 0; i < 5; ++i) {
    data::ImageExampleFields fields;
    fields.encoded = "definitely not a JPEG";
    fields.label = 1;
    writer.Write(data::SerializeImageExample(fields));
  }
  writer.Close();

  data::LoaderOptions options;
  options.data_dir = dir.path();
  options.split = "validation";
  options.train = false;
  options.batch_size = 2;
  options.num_threads = 2;
  data::Loader loader(options);
  EXPECT_EQ(loader.Next(), nullptr);  // every image skipped: the pass ends empty

  http::MetricsServer server("127.0.0.1:0");
  server.Register(MakeDataMetrics(loader.counters(), 3));
  ASSERT_GT(server.port(), 0);
  const auto response = kubecnn::testing::HttpGet(server.port(), "/metrics");
  ASSERT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("kubecnn_data_records_read_total{rank=\"3\"} 5"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("kubecnn_data_undecodable_images_total{rank=\"3\"} 5"), std::string::npos);
  EXPECT_NE(response.body.find("kubecnn_data_corrupt_records_total{rank=\"3\"} 0"), std::string::npos);
  EXPECT_NE(response.body.find("# TYPE kubecnn_data_ready_batches gauge"), std::string::npos);
  EXPECT_NE(response.body.find("# HELP kubecnn_data_wait_seconds_total"), std::string::npos);
  // Local shards: the object store's counters are there, at zero.
  EXPECT_NE(response.body.find("kubecnn_data_storage_wait_seconds_total{rank=\"3\"} 0\n"), std::string::npos);
  EXPECT_NE(response.body.find("kubecnn_storage_retries_total{rank=\"3\"} 0"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("# TYPE kubecnn_storage_read_bytes_total counter"), std::string::npos);
}

TEST(MetricsServer, TakenPortIsAClearError) {
  http::MetricsServer first("127.0.0.1:0");
  try {
    http::MetricsServer second("127.0.0.1:" + std::to_string(first.port()));
    FAIL() << "second server bound the same port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--metrics_port"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kubecnn::metrics
