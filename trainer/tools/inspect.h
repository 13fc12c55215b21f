// `kubecnn-trainer inspect`: counts and CRC-checks every record of TFRecord files and shows the
// first few as tf.train.Example features.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "trainer/data/tfrecord_reader.h"

namespace kubecnn::tools {

struct InspectOptions {
  int records_to_show = 3;    // --records
  bool skip_corrupt = false;  // --skip_corrupt_records: resynchronise after a corrupt record
};

struct CorruptRecord {
  uint64_t offset = 0;
  data::RecordStatus status = data::RecordStatus::kOk;
};

struct FileInspection {
  std::string path;
  uint64_t size = 0;
  int64_t records = 0;  // records with both CRCs good
  uint64_t payload_bytes = 0;
  std::vector<CorruptRecord> corrupt;
  bool stopped_early = false;      // a corrupt record ended the walk before the end of the file
  std::vector<std::string> shown;  // human-readable lines for the first records
};

// Walks every record of `path`, verifying both CRCs. Throws DataError if it cannot be opened.
FileInspection InspectFile(const std::string& path, const InspectOptions& options);

// Lines describing one record payload: DescribeExample's features, and for a JPEG image/encoded
// the size its header gives (flagging a disagreement with image/height and image/width).
std::vector<std::string> DescribeRecord(const std::string& payload);

// The report for one file, several lines ending in a newline.
std::string FormatInspection(const FileInspection& inspection);

// Inspects each file, printing reports to `out` (errors opening a file are reported there too).
// Returns 1 when any record is corrupt or a file could not be read, else 0.
int Inspect(const std::vector<std::string>& paths, const InspectOptions& options, std::ostream& out);

// The subcommand: `inspect [--records=N] [--skip_corrupt_records] FILE...`.
int RunInspect(const std::vector<std::string>& args);

}  // namespace kubecnn::tools
