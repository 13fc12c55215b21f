// Input-pipeline flags and their validation.
#include "trainer/cli/data_flags.h"

#include <algorithm>
#include <thread>

namespace kubecnn::cli {

void AddDataFlags(FlagSet& flags, data::LoaderOptions& o) {
  o.num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  flags.Add(
      "data_dir", &o.data_dir,
      "directory or s3://bucket/prefix of train-NNNNN-of-NNNNN / validation-NNNNN-of-NNNNN TFRecord shards; empty: "
      "synthetic data");
  flags.Add("batch_size", &o.batch_size, "images per batch per rank");
  flags.Add("num_data_threads", &o.num_threads, "decode/augment threads per rank");
  flags.Add("prefetch_batches", &o.prefetch_batches,
            "batches being prepared or ready ahead of the consumer (bounds memory)");
  flags.Add("image_size", &o.transform.output_size, "output image side in pixels (224; 299 for inception3)");
  flags.Add("shuffle_buffer", &o.shuffle_buffer,
            "0: shuffle each epoch as one permutation of all records across shards (reads by offset); N: read "
            "shards in a shuffled order through an N-record buffer per rank (sequential reads; 1: no record shuffle)");
  flags.Add("seed", &o.seed, "seed of shard order, shuffling and augmentation");
  flags.Add("read_ahead_mb", &o.read_ahead_mb,
            "s3:// shards: MiB of records fetched ahead of the loader (per rank; a budget, not a cache)");
  flags.Add("read_connections", &o.read_connections, "s3:// shards: ranged GETs in flight per rank");
  flags.Add("skip_corrupt_records", &o.skip_corrupt_records,
            "count and skip records with CRC/framing/Example errors instead of stopping");
  flags.Add("label_offset", &o.label_offset,
            "subtracted from image/class/label (1 for ImageNet build scripts, 0 for TF-slim sets)");
  flags.Add("image_key", &o.schema.image_key, "tf.train.Example feature holding the JPEG bytes");
  flags.Add("label_key", &o.schema.label_key, "tf.train.Example int64 feature holding the class label");
  flags.Add("crop_area_min", &o.transform.crop.area_min, "distorted crop: smallest fraction of the image area");
  flags.Add("crop_area_max", &o.transform.crop.area_max, "distorted crop: largest fraction of the image area");
  flags.Add("crop_aspect_min", &o.transform.crop.aspect_min, "distorted crop: smallest width/height ratio");
  flags.Add("crop_aspect_max", &o.transform.crop.aspect_max, "distorted crop: largest width/height ratio");
  flags.Add("min_object_covered", &o.transform.crop.min_object_covered,
            "distorted crop: fraction of some bounding box the crop must cover (records with boxes only)");
  flags.Add("random_flip", &o.transform.random_flip, "random horizontal flips in training");
  flags.Add("dct_scaling", &o.transform.dct_scaling,
            "let the JPEG decoder downscale in the DCT domain when the crop is >= 2x the output");
  flags.Add("fast_dct", &o.transform.fast_dct,
            "fast integer IDCT and plain chroma upsampling (nvcnn's INTEGER_FAST decode)");
}

void ValidateDataOptions(const data::LoaderOptions& o) {
  const auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  require(o.batch_size > 0, "--batch_size must be positive");
  require(o.num_threads > 0, "--num_data_threads must be at least 1");
  require(o.prefetch_batches > 0, "--prefetch_batches must be at least 1");
  require(o.transform.output_size == 0 || (o.transform.output_size >= 8 && o.transform.output_size <= 4096),
          "--image_size must be in [8, 4096] (0: the model's size)");
  require(o.read_ahead_mb >= 1, "--read_ahead_mb must be at least 1");
  require(o.read_connections >= 1 && o.read_connections <= 256, "--read_connections must be in [1, 256]");
  require(o.shuffle_buffer >= 0, "--shuffle_buffer must not be negative");
  const auto& c = o.transform.crop;
  require(c.area_min > 0 && c.area_min <= c.area_max && c.area_max <= 1,
          "--crop_area_min/--crop_area_max must satisfy 0 < min <= max <= 1");
  require(c.aspect_min > 0 && c.aspect_min <= c.aspect_max,
          "--crop_aspect_min/--crop_aspect_max must satisfy 0 < min <= max");
  require(c.min_object_covered >= 0 && c.min_object_covered <= 1, "--min_object_covered must be in [0, 1]");
}

}  // namespace kubecnn::cli
