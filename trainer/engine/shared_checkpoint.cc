// LoadCheckpointOnRank0: one broadcast of "<kind><path>\n<file bytes>".
#include "trainer/engine/shared_checkpoint.h"

#include "trainer/checkpoint/checkpoint_files.h"

namespace kubecnn::engine {
namespace {

constexpr char kFound = 'C', kNone = 'N', kError = 'E';

}  // namespace

std::optional<SharedCheckpoint> LoadCheckpointOnRank0(comm::Communicator& comm, const std::string& path,
                                                      const std::string& log_dir) {
  std::string message;
  if (comm.rank() == 0) {
    try {
      std::string chosen = path;
      if (chosen.empty() && !log_dir.empty()) chosen = checkpoint::NewestCheckpoint(log_dir).value_or("");
      message =
          chosen.empty() ? std::string(1, kNone) : kFound + chosen + "\n" + checkpoint::ReadCheckpointFile(chosen);
    } catch (const std::exception& e) {
      message = kError + std::string(e.what());
    }
  }
  comm::BroadcastBytes(comm, message, 0);
  if (message.empty() || message[0] == kNone) return std::nullopt;
  if (message[0] == kError) {
    throw checkpoint::CheckpointError(message.substr(1) + (comm.rank() == 0 ? "" : " (reported by rank 0)"));
  }
  const size_t newline = message.find('\n');
  SharedCheckpoint out;
  out.path = message.substr(1, newline - 1);
  out.value = checkpoint::ParseCheckpoint(message.substr(newline + 1), out.path);
  return out;
}

}  // namespace kubecnn::engine
