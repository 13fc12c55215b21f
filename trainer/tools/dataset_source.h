// What make-shards converts: the classes, and per split a count of images and a function that
// turns image i into a serialized tf.train.Example (or says why it was skipped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kubecnn::tools {

struct RecordOutcome {
  std::string serialized;   // the Example, when written
  std::string skip_reason;  // non-empty when the image was skipped, naming its file

  bool skipped() const { return !skip_reason.empty(); }
};

// Makes the record for item i of a split. Called from several threads at once, each with its own i.
// Throws DataError for problems that should stop the run (an unreadable file).
using RecordMaker = std::function<RecordOutcome(size_t item)>;

struct SplitSource {
  std::string name;  // "train", "validation"
  size_t count = 0;
  RecordMaker make;
};

struct ClassEntry {
  int64_t label = 0;   // 1-based, as written to image/class/label
  std::string synset;  // folder name; empty for Fashion-MNIST
  std::string text;    // image/class/text
};

struct DatasetSource {
  std::vector<ClassEntry> classes;  // in label order
  std::vector<SplitSource> splits;
  int default_train_shards = 1;
  int default_validation_shards = 1;
};

}  // namespace kubecnn::tools
