// inspect: record walk with resynchronisation, Example/JPEG description, report formatting.
#include "trainer/tools/inspect.h"

#include <cstdio>
#include <iostream>

#include "trainer/common/flags.h"
#include "trainer/data/data_error.h"
#include "trainer/data/image_example.h"
#include "trainer/storage/storage.h"
#include "trainer/tools/jpeg_info.h"

namespace kubecnn::tools {
namespace {

constexpr const char* kUsage =
    "usage: kubecnn-trainer inspect [--records=N] [--skip_corrupt_records] FILE...\n"
    "\n"
    "For each TFRecord file: record count, size, a CRC check of every record (corrupt ones are listed\n"
    "with their offset; the exit code is 1 if there are any) and the features of the first records.";

std::string Bytes(uint64_t n) {
  char buf[48];
  if (n >= 1000 * 1000) {
    std::snprintf(buf, sizeof buf, "%llu bytes (%.1f MB)", static_cast<unsigned long long>(n),
                  static_cast<double>(n) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
  }
  return buf;
}

}  // namespace

std::vector<std::string> DescribeRecord(const std::string& payload) {
  std::vector<std::string> lines = data::DescribeExample(payload);
  if (lines.empty()) {
    // Protobuf keeps fields it does not know, so other messages (a TensorBoard Event) parse as an empty Example.
    lines.push_back("(no features: an empty tf.train.Example, or another kind of record)");
  }
  data::ImageExample example;
  try {
    example = data::ParseImageExample(payload, {});
  } catch (const data::DataError&) {
    return lines;  // not an ImageNet-style Example; the features above say what it holds
  }
  std::string error;
  const auto info = ReadJpegInfo(example.encoded, &error);
  if (!info) {
    lines.push_back("image/encoded is " + (LooksLikeJpeg(example.encoded) ? error : DescribeNonJpeg(example.encoded)) +
                    " (the trainer decodes JPEG only)");
    return lines;
  }
  lines.push_back("JPEG header: " + std::to_string(info->width) + "x" + std::to_string(info->height) + ", " +
                  std::to_string(info->channels) + (info->channels == 1 ? " channel (" : " channels (") +
                  info->colorspace + ")");
  if ((example.width != 0 && example.width != info->width) || (example.height != 0 && example.height != info->height)) {
    lines.push_back("WARNING: image/width x image/height = " + std::to_string(example.width) + "x" +
                    std::to_string(example.height) + " disagrees with the JPEG header");
  }
  return lines;
}

FileInspection InspectFile(const std::string& path, const InspectOptions& options) {
  const data::RecordFile file(path, storage::Access::kSequential);
  FileInspection result;
  result.path = path;
  result.size = file.size();
  std::string payload;
  uint64_t offset = 0;
  while (true) {
    const data::RecordRead r = data::ReadRecordAt(file, offset, &payload);
    if (r.status == data::RecordStatus::kEndOfFile) break;
    if (r.status == data::RecordStatus::kOk) {
      if (result.records < options.records_to_show) {
        result.shown.push_back("record " + std::to_string(result.records) + " at offset " + std::to_string(offset) +
                               ": " + std::to_string(payload.size()) + " bytes");
        for (const std::string& line : DescribeRecord(payload)) result.shown.push_back("  " + line);
      }
      ++result.records;
      result.payload_bytes += payload.size();
      offset = r.next_offset;
      continue;
    }
    result.corrupt.push_back({offset, r.status});
    if (!options.skip_corrupt) {
      result.stopped_early = true;
      break;
    }
    switch (r.status) {  // the same resynchronisation as TfRecordReader
      case data::RecordStatus::kBadDataCrc: offset = r.next_offset; break;
      case data::RecordStatus::kBadLengthCrc: offset = data::FindNextValidRecord(file, offset + 1); break;
      default: offset = file.size(); break;
    }
  }
  return result;
}

std::string FormatInspection(const FileInspection& inspection) {
  std::string out = inspection.path + ": " + std::to_string(inspection.records) + " records, " + Bytes(inspection.size);
  if (inspection.corrupt.empty()) {
    out += ", all CRCs ok\n";
  } else {
    out += ", " + std::to_string(inspection.corrupt.size()) + " corrupt";
    if (inspection.stopped_early) {
      out += " (stopped at the first; pass --skip_corrupt_records to resynchronise and count the rest)";
    }
    out += "\n";
  }
  if (inspection.records == 0 && !inspection.corrupt.empty() && inspection.corrupt[0].offset == 0) {
    out += "  (no valid record at the start: probably not a TFRecord file)\n";
  }
  for (const CorruptRecord& c : inspection.corrupt) {
    out +=
        "  CORRUPT: " + std::string(data::RecordStatusText(c.status)) + " at offset " + std::to_string(c.offset) + "\n";
  }
  for (const std::string& line : inspection.shown) out += "  " + line + "\n";
  return out;
}

int Inspect(const std::vector<std::string>& paths, const InspectOptions& options, std::ostream& out) {
  int exit_code = 0;
  int64_t records = 0, corrupt = 0;
  for (const std::string& path : paths) {
    try {
      const FileInspection inspection = InspectFile(path, options);
      out << FormatInspection(inspection);
      records += inspection.records;
      corrupt += static_cast<int64_t>(inspection.corrupt.size());
      if (!inspection.corrupt.empty()) exit_code = 1;
    } catch (const data::DataError& e) {
      out << path << ": ERROR: " << e.what() << "\n";
      exit_code = 1;
    }
  }
  if (paths.size() > 1) {
    out << "total: " << paths.size() << " files, " << records << " records, " << corrupt << " corrupt\n";
  }
  out.flush();
  return exit_code;
}

int RunInspect(const std::vector<std::string>& args) {
  InspectOptions options;
  FlagSet flags(kUsage);
  flags.Add("records", &options.records_to_show, "how many records per file to show as features");
  flags.Add("skip_corrupt_records", &options.skip_corrupt,
            "after a corrupt record, resynchronise and keep counting instead of stopping");
  const std::vector<std::string> paths = flags.Parse(args);
  if (flags.help_requested()) {
    std::printf("%s", flags.Usage().c_str());
    return 0;
  }
  if (options.records_to_show < 0) throw UsageError("--records must be >= 0");
  if (paths.empty()) throw UsageError("name at least one TFRecord file");
  return Inspect(paths, options, std::cout);
}

}  // namespace kubecnn::tools
