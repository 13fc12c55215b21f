// TensorBoard event files: scalar summaries written as Event protos in TFRecord framing, and read
// back (also from files TensorFlow, Keras and PyTorch wrote).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kubecnn::storage {
class AppendableObject;
}

namespace kubecnn::metrics {

// "events.out.tfevents.<unix seconds>.<host>", the name TensorBoard looks for.
std::string EventFileName(int64_t unix_seconds, const std::string& host);

// Appends scalars to a new event file in `log_dir` (a folder or an s3:// prefix). Each Flush()
// makes what was written visible to TensorBoard; the file stays valid TFRecord at every record
// boundary (in a bucket, each Flush() uploads the whole file again, as TensorFlow does).
class EventWriter {
 public:
  explicit EventWriter(const std::string& log_dir);  // throws std::runtime_error naming the path
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void AddScalar(const std::string& tag, double value, int64_t step, double wall_time);
  void Flush();
  const std::string& path() const { return path_; }

 private:
  void WriteEvent(const std::string& serialized);
  std::string path_;
  std::unique_ptr<storage::AppendableObject> file_;
};

struct ScalarEvent {
  std::string tag;
  int64_t step = 0;
  double wall_time = 0;
  float value = 0;
};

struct EventFileContents {
  std::string file_version;          // "brain.Event:2"
  int64_t events = 0;                // all records
  int64_t summaries = 0;             // events holding a Summary
  std::vector<ScalarEvent> scalars;  // simple_value entries, in file order
};

// Reads a whole event file. Throws DataError on a corrupt record or undecodable Event.
EventFileContents ReadEventFile(const std::string& path);

}  // namespace kubecnn::metrics
