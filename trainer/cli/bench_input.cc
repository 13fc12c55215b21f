// bench-input: runs the loader alone (no model) and prints images/s and per-thread rates.
#include "trainer/cli/bench_input.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "trainer/cli/data_flags.h"
#include "trainer/common/metrics_server.h"
#include "trainer/data/loader.h"
#include "trainer/metrics/data_metrics.h"

namespace kubecnn::cli {

int RunBenchInput(const std::vector<std::string>& args) {
  data::LoaderOptions options;
  int64_t num_batches = 50;
  int64_t warmup_batches = 3;
  bool eval = false;
  int metrics_port = 0;
  FlagSet flags(
      "usage: kubecnn-trainer bench-input --data_dir=DIR [flags]\n"
      "Reads, decodes and augments batches as training would, without a model, and prints images/s.");
  AddDataFlags(flags, options);
  flags.Add("num_batches", &num_batches, "batches to time (after the warm-up)");
  flags.Add("warmup_batches", &warmup_batches, "batches read before timing starts");
  flags.Add("eval", &eval, "time the evaluation transform over the validation split instead");
  flags.Add("metrics_port", &metrics_port, "serve the data metrics on this port while running (0: off)");
  const auto positional = flags.Parse(args);
  if (flags.help_requested()) {
    std::printf("%s", flags.Usage().c_str());
    return 0;
  }
  if (!positional.empty()) throw UsageError("unexpected argument '" + positional[0] + "'");
  ValidateDataOptions(options);
  if (num_batches <= 0) throw UsageError("--num_batches must be positive");
  options.train = !eval;
  options.split = eval ? "validation" : "train";

  data::Loader loader(options);
  std::unique_ptr<http::MetricsServer> metrics_server;
  if (metrics_port > 0) {
    metrics_server = std::make_unique<http::MetricsServer>(":" + std::to_string(metrics_port));
    metrics_server->Register(metrics::MakeDataMetrics(loader.counters(), options.rank));
  }
  for (int64_t i = 0; i < warmup_batches; ++i) {
    if (!loader.Next()) break;
  }
  const int64_t wait_before = loader.counters().wait_nanos.load();
  const int64_t storage_wait_before = loader.counters().storage_wait_nanos.load();
  const auto start = std::chrono::steady_clock::now();
  int64_t images = 0, batches = 0;
  for (; batches < num_batches; ++batches) {
    const data::BatchPtr batch = loader.Next();
    if (!batch) break;
    images += batch->size;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double waited = (loader.counters().wait_nanos.load() - wait_before) * 1e-9;
  const auto& c = loader.counters();
  std::printf("bench-input: %s, %s transform, %lld batches of %lld at %dx%d, %d threads\n",
              loader.synthetic() ? "synthetic data" : options.data_dir.c_str(), eval ? "eval" : "train",
              static_cast<long long>(batches), static_cast<long long>(options.batch_size),
              options.transform.output_size, options.transform.output_size, options.num_threads);
  std::printf("  %.1f images/s (%.1f per thread), %.3f s, consumer waited %.0f%% of the time\n", images / seconds,
              images / seconds / options.num_threads, seconds, 100.0 * waited / seconds);
  if (const int64_t storage_waited = c.storage_wait_nanos.load() - storage_wait_before; storage_waited > 0) {
    std::printf("  workers waited for object-store bytes %.0f%% of their time\n",
                100.0 * storage_waited * 1e-9 / (seconds * options.num_threads));
  }
  std::printf("  records read %lld (%.1f MB), corrupt records %lld, undecodable images %lld\n",
              static_cast<long long>(c.records_read.load()), c.bytes_read.load() / 1e6,
              static_cast<long long>(c.corrupt_records.load()), static_cast<long long>(c.undecodable_images.load()));
  return 0;
}

}  // namespace kubecnn::cli
