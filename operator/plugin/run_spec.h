// `kubectl kubecnn run`: a one-machine command line and the run's options turned into a
// TrainingJob. Pure: the same input gives the same object, refused before anything is created when
// the trainer or the operator would refuse it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kubecnn::plugin {

// Annotation holding the command line the job was made from (describe shows it).
inline constexpr const char* kCommandLineAnnotation = "kubecnn.io/command-line";

struct RunOptions {
  std::string name;
  std::string ns;
  std::optional<int64_t> workers;
  std::optional<int64_t> gpus_per_worker;  // slots, and nvidia.com/gpu of each worker pod
  std::optional<int64_t> slots;            // ranks per worker without GPUs
  std::string image;
  std::string data;            // a PersistentVolumeClaim (mounted at /data) or s3://bucket/prefix
  std::string checkpoints;     // a PersistentVolumeClaim (mounted at /checkpoints) or s3://bucket/prefix
  std::string s3_credentials;  // Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
  std::string s3_endpoint;
  std::string s3_region;
  bool evaluate = false;             // evaluate the final checkpoint after training
  std::string gang;                  // None | Volcano | SchedulerPlugins; "": the operator's default
  std::vector<std::string> command;  // what followed `--`
};

struct RunPlan {
  nlohmann::json job;                 // the TrainingJob to create
  std::vector<std::string> warnings;  // printed on stderr, the object is still made
};

// Throws UsageError: with the trainer's own message for flags kubecnn-trainer would refuse, and
// with the operator's validation message for a job it would refuse.
RunPlan BuildRun(const RunOptions& options);

}  // namespace kubecnn::plugin
