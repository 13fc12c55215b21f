// Single-thread throughput of DecodeAndTransform on in-memory JPEGs, per transform configuration.
//
// Usage: data_pipeline_bench [image_dir] [seconds_per_config] [config,config,...]
// Prints one "RESULT <config> <images/s>" line per configuration for bench/run_data_bench.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "trainer/common/random.h"
#include "trainer/data/image_transform.h"

namespace {

using kubecnn::data::TransformOptions;

struct Config {
  const char* name;
  TransformOptions options;
};

TransformOptions Options(bool train, bool dct_scaling, bool fast_dct) {
  TransformOptions options;
  options.train = train;
  options.dct_scaling = dct_scaling;
  options.fast_dct = fast_dct;
  return options;
}

std::vector<std::vector<uint8_t>> LoadJpegs(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file() && (ext == ".jpeg" || ext == ".jpg")) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::vector<uint8_t>> images;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    images.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return images;
}

// Runs whole passes over the images until `seconds` have passed; returns images per second.
// Counts failures and samples decoded at a DCT-domain downscale over the timed passes.
double Measure(const std::vector<std::vector<uint8_t>>& images, const TransformOptions& options, double seconds,
               int* failures, double* dct_scaled_fraction) {
  std::vector<uint8_t> out(static_cast<size_t>(options.output_size) * options.output_size * 3);
  using Clock = std::chrono::steady_clock;
  uint64_t sample = 0;
  uint64_t dct_scaled = 0;
  auto run_pass = [&] {
    for (const auto& jpeg : images) {
      const auto result =
          kubecnn::data::DecodeAndTransform(jpeg, {}, options, kubecnn::DeriveSeed(2024, sample++), out.data());
      if (result.status != kubecnn::data::TransformStatus::kOk) ++*failures;
      dct_scaled += result.dct_scale_denom > 1;
    }
  };
  run_pass();  // warm-up: page in the images, grow the scratch buffers
  *failures = 0;
  dct_scaled = 0;
  const auto start = Clock::now();
  uint64_t done = 0;
  double elapsed = 0.0;
  do {
    run_pass();
    done += images.size();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  *dct_scaled_fraction = static_cast<double>(dct_scaled) / static_cast<double>(done);
  return static_cast<double>(done) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef KUBECNN_BENCH_IMAGES
  std::string dir = KUBECNN_BENCH_IMAGES;
#else
  std::string dir = "../shared/testdata/jpeg-imagenet-samples";
#endif
  if (argc > 1) dir = argv[1];
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const std::string only = argc > 3 ? argv[3] : "";

  std::vector<std::vector<uint8_t>> images;
  try {
    images = LoadJpegs(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "data_pipeline_bench: reading %s: %s\n", dir.c_str(), e.what());
    return 1;
  }
  if (images.empty()) {
    std::fprintf(stderr, "data_pipeline_bench: no .jpg/.jpeg files in %s (pass the image folder)\n", dir.c_str());
    return 1;
  }
  size_t bytes = 0;
  for (const auto& image : images) bytes += image.size();
  std::printf("data_pipeline_bench: %zu JPEGs (%.1f MB) from %s, 1 thread, >= %.1f s per config\n", images.size(),
              bytes / 1e6, dir.c_str(), seconds);

  const Config configs[] = {
      {"train_dct_fast", Options(true, true, true)},  // the loader's defaults
      {"train_nodct_fast", Options(true, false, true)},   {"train_dct_exact", Options(true, true, false)},
      {"train_nodct_exact", Options(true, false, false)},  // closest to what PIL does
      {"eval_dct_fast", Options(false, true, true)},      {"eval_dct_exact", Options(false, true, false)},
  };
  for (const Config& config : configs) {
    if (!only.empty() && ("," + only + ",").find("," + std::string(config.name) + ",") == std::string::npos) {
      continue;
    }
    int failures = 0;
    double dct_scaled = 0.0;
    const double rate = Measure(images, config.options, seconds, &failures, &dct_scaled);
    std::printf("RESULT %s %.1f dct_scaled=%.0f%%\n", config.name, rate, 100.0 * dct_scaled);
    if (failures > 0) std::printf("  %s: %d images failed to decode\n", config.name, failures);
    std::fflush(stdout);
  }
  return 0;
}
