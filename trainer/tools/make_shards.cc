// make-shards: flags, input selection, and the split-by-split conversion loop.
#include "trainer/tools/make_shards.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "trainer/common/flags.h"
#include "trainer/common/log.h"
#include "trainer/common/random.h"
#include "trainer/data/data_error.h"
#include "trainer/storage/storage_path.h"
#include "trainer/tools/dataset_source.h"
#include "trainer/tools/fashion_mnist_source.h"
#include "trainer/tools/folder_source.h"
#include "trainer/tools/labels_file.h"
#include "trainer/tools/output_dir.h"
#include "trainer/tools/parallel_for.h"
#include "trainer/tools/progress.h"
#include "trainer/tools/shard_plan.h"
#include "trainer/tools/split_writer.h"

namespace kubecnn::tools {
namespace {

constexpr int kMaxShards = 99999;  // ShardFileName's five digits

constexpr const char* kUsage =
    "usage: kubecnn-trainer make-shards (--input_dir=DIR [--validation_dir=DIR] [--class_names=FILE] |\n"
    "                                    --fashion_mnist=DIR) --output_dir=DIR [flags]\n"
    "\n"
    "Writes <split>-NNNNN-of-NNNNN TFRecord shards (tf.train.Example, ImageNet schema), a DALI .idx\n"
    "file per shard and labels.txt (\"label<TAB>[synset<TAB>]text\", labels 1-based). Images are\n"
    "shuffled with --seed before sharding; the output is byte-identical for the same inputs and seed\n"
    "whatever --num_threads is.\n"
    "  --input_dir: one sub-folder per class (ImageNet's train/ layout). Classes are the sorted folder\n"
    "    names, labelled 1..N. JPEG files are copied unchanged; other files are skipped and reported.\n"
    "    Default shards: 1024 train, 128 validation (at most one per image).\n"
    "  --fashion_mnist: a folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (Debian's\n"
    "    dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist). Images become grayscale\n"
    "    JPEGs; t10k becomes the validation split. Default shards: 16 train, 4 validation.";

std::string Megabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

// An output folder inside an image folder would be listed as one of its classes on the next run.
void CheckOutputOutside(const std::string& output_dir, const std::string& input_dir, const char* flag) {
  if (input_dir.empty() || storage::IsUrl(output_dir)) return;
  namespace fs = std::filesystem;
  std::error_code input_ec, output_ec;  // unresolvable paths fail later with a better message
  const std::string input = fs::weakly_canonical(input_dir, input_ec).string() + "/";
  const std::string output = fs::weakly_canonical(output_dir, output_ec).string() + "/";
  if (!input_ec && !output_ec && output.rfind(input, 0) == 0) {
    throw UsageError("--output_dir " + output_dir + " is inside --" + flag + " " + input_dir +
                     " (it would be read as a class folder; write the shards elsewhere)");
  }
}

}  // namespace

void ValidateMakeShardsOptions(const MakeShardsOptions& o) {
  if (o.input_dir.empty() == o.fashion_mnist.empty()) {
    throw UsageError(o.input_dir.empty() ? "pass --input_dir=DIR (an image folder) or --fashion_mnist=DIR"
                                         : "--input_dir and --fashion_mnist are alternatives; pass one of them");
  }
  if (o.fashion_mnist.rfind("--", 0) == 0) {
    throw UsageError("--fashion_mnist needs a directory, got '" + o.fashion_mnist +
                     "' (Debian's dataset-fashion-mnist installs " + kFashionMnistDebianDir + ")");
  }
  if (!o.fashion_mnist.empty() && (!o.validation_dir.empty() || !o.class_names.empty())) {
    throw UsageError("--validation_dir and --class_names go with --input_dir, not --fashion_mnist");
  }
  if (o.output_dir.empty()) throw UsageError("--output_dir is required");
  if (o.train_shards < 0 || o.train_shards > kMaxShards) {
    throw UsageError("--train_shards=" + std::to_string(o.train_shards) + ": expected 1.." +
                     std::to_string(kMaxShards) + " (0 for the default)");
  }
  if (o.validation_shards < 0 || o.validation_shards > kMaxShards) {
    throw UsageError("--validation_shards=" + std::to_string(o.validation_shards) + ": expected 1.." +
                     std::to_string(kMaxShards) + " (0 for the default)");
  }
  if (o.num_threads < 0) throw UsageError("--num_threads must be >= 0 (0: one per CPU)");
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100) throw UsageError("--jpeg_quality must be in 1..100");
  if (o.max_images_per_split < 0) throw UsageError("--max_images_per_split must be >= 0 (0: all)");
}

int ResolveShardCount(int requested, int default_count, size_t images, const std::string& flag) {
  if (requested == 0)
    return static_cast<int>(std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(default_count), images)));
  if (static_cast<size_t>(requested) > images) {
    throw UsageError("--" + flag + "=" + std::to_string(requested) + " is more than the " + std::to_string(images) +
                     " images to write; some shards would be empty (pass at most " + std::to_string(images) + ")");
  }
  return requested;
}

int MakeShards(const MakeShardsOptions& options) {
  ValidateMakeShardsOptions(options);
  CheckOutputOutside(options.output_dir, options.input_dir, "input_dir");
  CheckOutputOutside(options.output_dir, options.validation_dir, "validation_dir");
  const int num_threads = ResolveThreadCount(options.num_threads);
  const DatasetSource source = options.fashion_mnist.empty()
                                   ? FolderDataset({options.input_dir, options.validation_dir, options.class_names})
                                   : FashionMnistDataset(options.fashion_mnist, options.jpeg_quality);
  // Plan every split before touching --output_dir, so bad flags or inputs leave it as it was.
  std::vector<SplitPlan> plans;
  std::vector<std::string> split_names;
  for (size_t s = 0; s < source.splits.size(); ++s) {
    const SplitSource& split = source.splits[s];
    const bool train = split.name == "train";
    if (split.count == 0) {
      throw data::DataError(split.name + " split: no images found (check --" +
                            (train ? "input_dir" : "validation_dir") + ")");
    }
    SplitPlan plan;
    plan.split = split.name;
    plan.items = ShuffledOrder(split.count, DeriveSeed(static_cast<uint64_t>(options.seed), s));
    if (options.max_images_per_split > 0 && plan.items.size() > static_cast<size_t>(options.max_images_per_split)) {
      plan.items.resize(static_cast<size_t>(options.max_images_per_split));
    }
    plan.num_shards = ResolveShardCount(train ? options.train_shards : options.validation_shards,
                                        train ? source.default_train_shards : source.default_validation_shards,
                                        plan.items.size(), train ? "train_shards" : "validation_shards");
    plans.push_back(std::move(plan));
    split_names.push_back(split.name);
  }
  if (const int removed = PrepareOutputDir(options.output_dir, split_names, options.overwrite)) {
    LogInfo("make-shards", "--overwrite: removed " + std::to_string(removed) + " files of the earlier conversion in " +
                               options.output_dir);
  }
  for (size_t s = 0; s < plans.size(); ++s) {
    const SplitSource& split = source.splits[s];
    const SplitPlan& plan = plans[s];
    const auto start = std::chrono::steady_clock::now();
    SplitSummary summary;
    {
      ProgressBar progress(split.name, "img", static_cast<int64_t>(plan.items.size()));
      summary = WriteSplit(options.output_dir, plan, split.make, num_threads, &progress);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (summary.skipped > 0) {
      std::string examples;
      for (const std::string& reason : summary.skip_examples) examples += "\n  " + reason;
      LogWarning("make-shards",
                 split.name + ": skipped " + std::to_string(summary.skipped) +
                     " files that are not readable JPEGs (convert them to JPEG to include them):" + examples +
                     (summary.skipped > static_cast<int64_t>(summary.skip_examples.size()) ? "\n  ..." : ""));
    }
    if (summary.records == 0) {
      throw data::DataError(split.name + " split: none of the " + std::to_string(plan.items.size()) +
                            " files is a readable JPEG (the shards are empty; check the input folder)");
    }
    std::printf("%s: %d shards, %lld records, %lld skipped, %s in %.1f s -> %s\n", split.name.c_str(), plan.num_shards,
                static_cast<long long>(summary.records), static_cast<long long>(summary.skipped),
                Megabytes(summary.bytes).c_str(), seconds, options.output_dir.c_str());
  }
  // Written last: its presence marks a finished conversion.
  WriteLabelsFile(storage::JoinPath(options.output_dir, kLabelsFileName), source.classes);
  std::printf("labels: %zu classes -> %s/%s\n", source.classes.size(), options.output_dir.c_str(), kLabelsFileName);
  std::fflush(stdout);
  return 0;
}

int RunMakeShards(const std::vector<std::string>& args) {
  MakeShardsOptions o;
  FlagSet flags(kUsage);
  flags.Add("input_dir", &o.input_dir, "image folder with one sub-folder per class (ImageNet train/ layout)");
  flags.Add("validation_dir", &o.validation_dir,
            "optional second image folder, same classes, for the validation split");
  flags.Add("class_names", &o.class_names, "optional file of \"synset<TAB or space>name\" lines for image/class/text");
  flags.Add("fashion_mnist", &o.fashion_mnist,
            "folder with Fashion-MNIST's IDX files (e.g. /usr/share/datasets/fashion-mnist)");
  flags.Add("output_dir", &o.output_dir,
            "folder or s3://bucket/prefix where shards, .idx files and labels.txt go (created if missing)");
  flags.Add("train_shards", &o.train_shards,
            "train shards; 0: 1024 for folders, 16 for Fashion-MNIST (at most one per image)");
  flags.Add("validation_shards", &o.validation_shards, "validation shards; 0: 128 for folders, 4 for Fashion-MNIST");
  flags.Add("num_threads", &o.num_threads, "threads writing shards (each owns whole shards); 0: one per CPU");
  flags.Add("seed", &o.seed, "seed of the shuffle before sharding");
  flags.Add("jpeg_quality", &o.jpeg_quality, "JPEG quality for encoded images (Fashion-MNIST)");
  flags.Add("max_images_per_split", &o.max_images_per_split,
            "write at most this many images per split (after the shuffle); 0: all");
  flags.Add("overwrite", &o.overwrite,
            "replace an earlier conversion in --output_dir (its shards, .idx files, labels.txt)");
  const std::vector<std::string> positional = flags.Parse(args);
  if (flags.help_requested()) {
    std::printf("%s", flags.Usage().c_str());
    return 0;
  }
  if (!positional.empty()) throw UsageError("unexpected argument '" + positional[0] + "' (all inputs are flags)");
  return MakeShards(o);
}

}  // namespace kubecnn::tools
