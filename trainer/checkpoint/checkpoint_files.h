// Where checkpoints live in --log_dir and which ones to keep: "model.ckpt-000012000.pt".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecnn::checkpoint {

// "model.ckpt-<step, 9 digits>.pt", so names sort in step order.
std::string CheckpointFileName(int64_t step);
// The step of a checkpoint file name; nullopt for anything else (temp files included).
std::optional<int64_t> ParseCheckpointFileName(std::string_view file_name);

// Pure selection over a directory listing: checkpoint names sorted by step, oldest first.
std::vector<std::string> SortCheckpoints(const std::vector<std::string>& file_names);
// The names to delete so that only the newest `keep` remain (keep <= 0 keeps all).
std::vector<std::string> CheckpointsToPrune(const std::vector<std::string>& file_names, int keep);

// Shells over the above for a folder or an s3:// prefix (storage/storage.h).
std::vector<std::string> ListCheckpoints(const std::string& log_dir);  // full paths, oldest first
std::optional<std::string> NewestCheckpoint(const std::string& log_dir);
void PruneCheckpoints(const std::string& log_dir, int keep);

}  // namespace kubecnn::checkpoint
