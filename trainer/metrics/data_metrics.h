// Prometheus view of the input pipeline, read from the loader's counters at scrape time.
#pragma once

#include <prometheus/collectable.h>

#include <memory>

#include "trainer/data/loader_counters.h"

namespace kubecnn::metrics {

// Families (all labelled with the rank):
//   kubecnn_data_records_read_total, kubecnn_data_read_bytes_total,
//   kubecnn_data_corrupt_records_total, kubecnn_data_undecodable_images_total,
//   kubecnn_data_wait_seconds_total, kubecnn_data_ready_batches; and the object store's, counted
//   process-wide: kubecnn_storage_{requests,retries,failures}_total,
//   kubecnn_storage_{read,written}_bytes_total.
// The counters (the loader's) must outlive the returned collectable's registration.
std::shared_ptr<prometheus::Collectable> MakeDataMetrics(const data::LoaderCounters& counters, int rank);

}  // namespace kubecnn::metrics
