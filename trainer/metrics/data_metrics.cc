// Data metrics as a prometheus-cpp Collectable: no bookkeeping on the hot path, only atomic reads.
#include "trainer/metrics/data_metrics.h"

#include <prometheus/metric_family.h>

#include <string>

#include "trainer/storage/s3_client.h"

namespace kubecnn::metrics {
namespace {

class DataMetrics : public prometheus::Collectable {
 public:
  DataMetrics(const data::LoaderCounters& counters, int rank) : counters_(counters), rank_(std::to_string(rank)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const data::LoaderCounters& c = counters_;
    const storage::S3Counters& s3 = storage::GlobalS3Counters();
    return {
        Family("kubecnn_data_records_read_total", "TFRecord records read by the input pipeline",
               prometheus::MetricType::Counter, static_cast<double>(c.records_read.load())),
        Family("kubecnn_data_read_bytes_total", "Payload bytes of the records read", prometheus::MetricType::Counter,
               static_cast<double>(c.bytes_read.load())),
        Family("kubecnn_data_corrupt_records_total",
               "Records skipped for CRC, framing or tf.train.Example errors (--skip_corrupt_records)",
               prometheus::MetricType::Counter, static_cast<double>(c.corrupt_records.load())),
        Family("kubecnn_data_undecodable_images_total", "Images skipped because they are not JPEG or fail to decode",
               prometheus::MetricType::Counter, static_cast<double>(c.undecodable_images.load())),
        Family("kubecnn_data_wait_seconds_total", "Time the consumer spent waiting for a batch (input-bound time)",
               prometheus::MetricType::Counter, c.wait_nanos.load() * 1e-9),
        Family("kubecnn_data_storage_wait_seconds_total",
               "Time decode workers spent waiting for object-store bytes not yet read ahead (summed over workers)",
               prometheus::MetricType::Counter, c.storage_wait_nanos.load() * 1e-9),
        Family("kubecnn_data_ready_batches", "Batches prepared and waiting for the consumer",
               prometheus::MetricType::Gauge, static_cast<double>(c.ready_batches.load())),
        // Object storage (s3:// paths), process-wide: shards, checkpoints, events, results.
        Family("kubecnn_storage_requests_total", "Requests sent to the object store, retries included",
               prometheus::MetricType::Counter, static_cast<double>(s3.requests.load())),
        Family("kubecnn_storage_retries_total",
               "Object-store requests tried again after a fault that may pass (5xx, SlowDown, timeout, reset, "
               "truncated body)",
               prometheus::MetricType::Counter, static_cast<double>(s3.retries.load())),
        Family("kubecnn_storage_failures_total", "Object-store requests given up on (refused, or out of tries)",
               prometheus::MetricType::Counter, static_cast<double>(s3.failures.load())),
        Family("kubecnn_storage_read_bytes_total", "Bytes read from the object store by ranged reads",
               prometheus::MetricType::Counter, static_cast<double>(s3.bytes_read.load())),
        Family("kubecnn_storage_written_bytes_total", "Bytes uploaded to the object store",
               prometheus::MetricType::Counter, static_cast<double>(s3.bytes_written.load())),
    };
  }

 private:
  prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type, double value) const {
    prometheus::ClientMetric metric;
    metric.label.push_back({"rank", rank_});
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    return {name, help, type, {metric}};
  }

  const data::LoaderCounters& counters_;
  std::string rank_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> MakeDataMetrics(const data::LoaderCounters& counters, int rank) {
  return std::make_shared<DataMetrics>(counters, rank);
}

}  // namespace kubecnn::metrics
