// Guarding --output_dir: a conversion never silently mixes with or overwrites an earlier one.
#pragma once

#include <string>
#include <vector>

namespace kubecnn::tools {

// Of the file names in a directory, those a conversion writing `splits` would replace or leave
// stale: shards of those splits with any shard count, their .idx files, leftover .partial files,
// and labels.txt. Pure; sorted as given.
std::vector<std::string> ExistingDataSetFiles(const std::vector<std::string>& file_names,
                                              const std::vector<std::string>& splits);

// Creates `dir` if missing. When it already holds files of a data set (ExistingDataSetFiles),
// throws DataError listing them, or with `overwrite` removes them so no shard of another count
// lingers. Returns the number of files removed.
int PrepareOutputDir(const std::string& dir, const std::vector<std::string>& splits, bool overwrite);

}  // namespace kubecnn::tools
