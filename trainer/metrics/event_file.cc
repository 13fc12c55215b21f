// Event files: Event/Summary protos framed with the TFRecord writer's CRCs; the reader reuses the
// data pipeline's TfRecordReader.
#include "trainer/metrics/event_file.h"

#include <unistd.h>

#include <chrono>

#include "trainer/data/data_error.h"
#include "trainer/data/tfrecord_reader.h"
#include "trainer/data/tfrecord_writer.h"
#include "trainer/metrics/event.pb.h"
#include "trainer/storage/storage.h"
#include "trainer/storage/storage_path.h"

namespace kubecnn::metrics {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "localhost";
  return host;
}

}  // namespace

std::string EventFileName(int64_t unix_seconds, const std::string& host) {
  return "events.out.tfevents." + std::to_string(unix_seconds) + "." + host;
}

EventWriter::EventWriter(const std::string& log_dir) {
  storage::Storage& store = storage::StorageFor(log_dir);
  const double now = NowSeconds();
  const std::string name = EventFileName(static_cast<int64_t>(now), HostName());
  try {
    store.MakeFolders(log_dir);
    path_ = storage::JoinPath(log_dir, name);
    // Several writers started in the same second (a restart, an eval job) must not share a file.
    for (int n = 1; store.Size(path_).has_value(); ++n)
      path_ = storage::JoinPath(log_dir, name + "." + std::to_string(n));
    file_ = store.CreateAppendable(path_);
  } catch (const std::exception& e) {
    throw std::runtime_error("creating a TensorBoard event file in " + log_dir + ": " + e.what() +
                             " (is --log_dir writable?)");
  }
  tb::Event header;
  header.set_wall_time(now);
  header.set_file_version("brain.Event:2");
  WriteEvent(header.SerializeAsString());
  Flush();
}

EventWriter::~EventWriter() = default;

void EventWriter::AddScalar(const std::string& tag, double value, int64_t step, double wall_time) {
  tb::Event event;
  event.set_wall_time(wall_time);
  event.set_step(step);
  tb::Summary::Value* v = event.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  WriteEvent(event.SerializeAsString());
}

void EventWriter::WriteEvent(const std::string& serialized) { file_->Append(data::FrameRecord(serialized)); }

void EventWriter::Flush() { file_->Flush(); }

EventFileContents ReadEventFile(const std::string& path) {
  data::TfRecordReader reader(path);
  EventFileContents contents;
  std::string record;
  while (reader.Next(&record)) {
    tb::Event event;
    if (!event.ParseFromString(record)) {
      throw data::DataError("reading " + path + ": record at offset " + std::to_string(reader.record_offset()) +
                            " is not a tensorflow.Event (is this a TensorBoard event file?)");
    }
    ++contents.events;
    if (event.what_case() == tb::Event::kFileVersion) contents.file_version = event.file_version();
    if (event.what_case() != tb::Event::kSummary) continue;
    ++contents.summaries;
    for (const tb::Summary::Value& v : event.summary().value()) {
      if (v.value_case() == tb::Summary::Value::kSimpleValue) {
        contents.scalars.push_back({v.tag(), event.step(), event.wall_time(), v.simple_value()});
      }
    }
  }
  return contents;
}

}  // namespace kubecnn::metrics
