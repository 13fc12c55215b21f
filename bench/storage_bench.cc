// Object storage against local files, same shards, same run: the data pipeline's images/s and the
// raw read MiB/s from a local folder and from an s3:// prefix, and saving and restoring a
// ResNet-50-sized checkpoint (random bytes through the same atomic writer checkpoints use).
//
// Usage: storage_bench LOCAL_DIR S3_PREFIX [seconds] [threads] [checkpoint_mb] [rounds]
//   credentials and endpoint from the AWS_* environment (bench/run_storage_bench.sh sets them).
// Each figure is the best of `rounds` (default 3) runs, local and S3 alternating, so that other
// work on the machine, which only ever slows a run down, does not decide the ratio.
// Prints "RESULT <what> <local> <s3> <unit>" lines. For profiling, STORAGE_BENCH_ONLY=<pipeline
// config>[,local] runs one pipeline configuration against S3 (or the local folder) and nothing else.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "trainer/data/dataset_files.h"
#include "trainer/data/loader.h"
#include "trainer/storage/s3_client.h"
#include "trainer/storage/storage.h"
#include "trainer/storage/storage_path.h"

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct PipelineRun {
  double images_per_second = 0;
  double storage_wait = 0;         // fraction of the workers' time spent waiting for remote bytes
  double first_batch_seconds = 0;  // from opening the data set (listing, indexes) to the first batch
};

// Images/s of the whole pipeline (read, parse, decode, augment) in training mode, in its steady
// state: measured after a read-ahead budget's worth of records, whose first fill of fresh buffers
// costs the kernel a page fault every 4 KiB once per run (the time to the first batch is reported
// on its own).
PipelineRun LoaderImagesPerSecond(const std::string& data_dir, double seconds, int threads, int64_t shuffle_buffer,
                                  int64_t read_ahead_mb) {
  kubecnn::data::LoaderOptions options;
  options.data_dir = data_dir;
  options.batch_size = 32;
  options.num_threads = threads;
  options.prefetch_batches = 2 * threads;
  options.shuffle_buffer = shuffle_buffer;
  options.read_ahead_mb = read_ahead_mb;
  options.label_offset = 0;
  options.transform.output_size = 224;
  const auto opened = Clock::now();
  kubecnn::data::Loader loader(options);
  loader.Next();
  const double first_batch = Since(opened);
  for (int i = 0; i < 3 || loader.counters().bytes_read.load() < (read_ahead_mb << 20); ++i) loader.Next();
  int64_t images = 0;
  const int64_t waited_before = loader.counters().storage_wait_nanos.load();
  const auto start = Clock::now();
  while (Since(start) < seconds) images += loader.Next()->size;
  const double elapsed = Since(start);
  const double waited = (loader.counters().storage_wait_nanos.load() - waited_before) * 1e-9;
  return {static_cast<double>(images) / elapsed, waited / (elapsed * threads), first_batch};
}

// MiB/s reading every shard once, front to back, several at a time.
double RawMibPerSecond(const std::string& dir, int threads) {
  const auto shards = kubecnn::data::FindShards(dir, "train");
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes{0};
  const auto start = Clock::now();
  std::vector<std::thread> readers;
  for (int t = 0; t < threads; ++t) {
    readers.emplace_back([&] {
      std::string buffer(8 << 20, '\0');
      for (size_t i = next++; i < shards.size(); i = next++) {
        auto object = kubecnn::storage::StorageFor(shards[i]).Open(shards[i], kubecnn::storage::Access::kSequential);
        for (uint64_t offset = 0; offset < object->size(); offset += buffer.size()) {
          const uint64_t n = std::min<uint64_t>(buffer.size(), object->size() - offset);
          object->ReadAt(offset, buffer.data(), n);
          bytes += n;
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  return static_cast<double>(bytes.load()) / (1 << 20) / Since(start);
}

struct SaveRestore {
  double save_seconds = 0;
  double restore_seconds = 0;
};

SaveRestore TimeCheckpoint(const std::string& dir, const std::string& payload) {
  const std::string path = kubecnn::storage::JoinPath(dir, "bench-checkpoint.pt");
  kubecnn::storage::StorageFor(dir).MakeFolders(dir);
  SaveRestore r;
  auto start = Clock::now();
  kubecnn::storage::WriteAtomically(path, {payload});
  r.save_seconds = Since(start);
  start = Clock::now();
  const std::string back = kubecnn::storage::StorageFor(path).ReadAll(path);
  r.restore_seconds = Since(start);
  if (back != payload) {
    std::fprintf(stderr, "storage_bench: %s came back different\n", path.c_str());
    std::exit(1);
  }
  kubecnn::storage::StorageFor(path).Delete(path);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: storage_bench LOCAL_DIR S3_PREFIX [seconds] [threads] [checkpoint_mb]\n");
    return 2;
  }
  const std::string local = argv[1], remote = argv[2];
  const double seconds = argc > 3 ? std::atof(argv[3]) : 10;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  const int checkpoint_mb = argc > 5 ? std::atoi(argv[5]) : 98;  // ResNet-50: 25.6 M fp32 parameters
  const int rounds = argc > 6 ? std::max(1, std::atoi(argv[6])) : 3;
  try {
    // The third: a read-ahead budget far below the data set, as with ImageNet's 150 GB: the records
    // of a window are rarely neighbours, so most are one ranged GET each.
    const struct {
      const char* name;
      int64_t shuffle_buffer;
      int64_t read_ahead_mb;
    } configs[] = {{"permutation", 0, 256}, {"shard_order", 1024, 256}, {"permutation_small_budget", 0, 16}};
    if (const char* only = std::getenv("STORAGE_BENCH_ONLY")) {
      const std::string wanted(only);
      const bool on_local = wanted.size() > 6 && wanted.substr(wanted.size() - 6) == ",local";
      for (const auto& config : configs) {
        if (wanted.substr(0, wanted.size() - (on_local ? 6 : 0)) != config.name) continue;
        const PipelineRun run = LoaderImagesPerSecond(on_local ? local : remote, seconds, threads,
                                                      config.shuffle_buffer, config.read_ahead_mb);
        std::printf("pipeline_%s %s: %.1f images/s, workers waited for S3 bytes %.1f%% of the time\n", config.name,
                    on_local ? "local" : "s3", run.images_per_second, 100 * run.storage_wait);
        return 0;
      }
      std::fprintf(stderr, "storage_bench: STORAGE_BENCH_ONLY=%s names no configuration\n", only);
      return 2;
    }
    double start_local = 1e9, start_s3 = 1e9;  // the first configuration's time to a first batch
    for (const auto& config : configs) {
      double a = 0, b = 0;
      std::vector<double> paired;  // each round's s3/local: the two ran one after the other
      for (int r = 0; r < rounds; ++r) {
        const PipelineRun here =
            LoaderImagesPerSecond(local, seconds, threads, config.shuffle_buffer, config.read_ahead_mb);
        const PipelineRun s3 =
            LoaderImagesPerSecond(remote, seconds, threads, config.shuffle_buffer, config.read_ahead_mb);
        std::printf(
            "pipeline_%s round %d: local %.1f images/s, s3 %.1f images/s (first batch after %.2f s, workers "
            "waited for S3 bytes %.1f%% of the time)\n",
            config.name, r + 1, here.images_per_second, s3.images_per_second, s3.first_batch_seconds,
            100 * s3.storage_wait);
        a = std::max(a, here.images_per_second);
        b = std::max(b, s3.images_per_second);
        paired.push_back(s3.images_per_second / here.images_per_second);
        if (&config == &configs[0]) {
          start_local = std::min(start_local, here.first_batch_seconds);
          start_s3 = std::min(start_s3, s3.first_batch_seconds);
        }
      }
      std::sort(paired.begin(), paired.end());
      std::printf("pipeline_%s: s3/local of each round, paired, median %.2fx (best of each side below)\n", config.name,
                  paired[paired.size() / 2]);
      std::printf("RESULT pipeline_%s %.1f %.1f images/s\n", config.name, a, b);
    }
    std::printf("RESULT first_batch %.2f %.2f seconds\n", start_local, start_s3);
    double raw_local = 0, raw_s3 = 0;
    for (int r = 0; r < rounds; ++r) {
      raw_local = std::max(raw_local, RawMibPerSecond(local, threads));
      raw_s3 = std::max(raw_s3, RawMibPerSecond(remote, threads));
    }
    std::printf("RESULT raw_read %.1f %.1f MiB/s\n", raw_local, raw_s3);
    std::string payload(static_cast<size_t>(checkpoint_mb) << 20, '\0');
    std::mt19937_64 random(7);
    for (size_t i = 0; i + 8 <= payload.size(); i += 8) {
      const uint64_t v = random();
      std::memcpy(payload.data() + i, &v, 8);
    }
    SaveRestore a{1e9, 1e9}, b{1e9, 1e9};
    for (int r = 0; r < rounds; ++r) {
      const SaveRestore x = TimeCheckpoint(local, payload);
      const SaveRestore y = TimeCheckpoint(kubecnn::storage::JoinPath(remote, "bench-checkpoints"), payload);
      a = {std::min(a.save_seconds, x.save_seconds), std::min(a.restore_seconds, x.restore_seconds)};
      b = {std::min(b.save_seconds, y.save_seconds), std::min(b.restore_seconds, y.restore_seconds)};
    }
    std::printf("RESULT checkpoint_save %.2f %.2f seconds\n", a.save_seconds, b.save_seconds);
    std::printf("RESULT checkpoint_restore %.2f %.2f seconds\n", a.restore_seconds, b.restore_seconds);
    const auto& counters = kubecnn::storage::GlobalS3Counters();
    std::printf("S3 requests %lld, retries %lld\n", static_cast<long long>(counters.requests.load()),
                static_cast<long long>(counters.retries.load()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
