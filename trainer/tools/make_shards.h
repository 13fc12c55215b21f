// `kubecnn-trainer make-shards`: converts an image folder or Fashion-MNIST into TFRecord shards
// (+ .idx files and labels.txt) that the trainer's loader reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kubecnn::tools {

struct MakeShardsOptions {
  std::string input_dir;       // (a) class-per-folder tree
  std::string validation_dir;  // (a) optional second tree for the validation split
  std::string class_names;     // (a) optional "synset name" file
  std::string fashion_mnist;   // (b) folder of Fashion-MNIST IDX files
  std::string output_dir;
  int train_shards = 0;  // 0: the input's default, at most one shard per image
  int validation_shards = 0;
  int num_threads = 0;   // 0: hardware concurrency
  int64_t seed = 12345;  // build_imagenet_data's seed
  int jpeg_quality = 95;
  int64_t max_images_per_split = 0;  // 0: all
  bool overwrite = false;
};

// Checks flag combinations and ranges; throws UsageError naming the flag.
void ValidateMakeShardsOptions(const MakeShardsOptions& options);

// The shard count for a split: `requested` if set (must not exceed `images`), else the default
// capped at `images` so no shard is empty. Throws UsageError.
int ResolveShardCount(int requested, int default_count, size_t images, const std::string& flag);

// Does the conversion; prints a summary per split on stdout and progress on stderr.
// Throws DataError for input/output problems. Returns the exit code (0).
int MakeShards(const MakeShardsOptions& options);

// The subcommand: parses `args` (without "make-shards") into MakeShardsOptions and runs it.
int RunMakeShards(const std::vector<std::string>& args);

}  // namespace kubecnn::tools
