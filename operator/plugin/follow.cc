// A get followed by a watch on one job's name, resumed from the last resourceVersion when the
// server ends the stream, and from a fresh get when that version is gone (410).
#include "operator/plugin/follow.h"

#include <ostream>
#include <thread>

#include "operator/kube/api_error.h"
#include "operator/kube/resource.h"
#include "operator/plugin/job_view.h"

namespace kubecnn::plugin {
namespace {

class Drawer {
 public:
  explicit Drawer(Terminal& terminal) : t_(terminal) {}
  void Show(const api::TrainingJob& job) {
    const std::string line = ProgressLine(job);
    if (line == last_) return;
    last_ = line;
    if (t_.tty) {
      t_.out << Redraw(line, t_.width);
      drawn_ = true;
    } else {
      t_.out << line << "\n";
    }
    t_.out.flush();
  }
  void Finish(const api::TrainingJob& job) {
    if (drawn_) t_.out << "\n";
    t_.out << OutcomeLine(job) << "\n";
    t_.out.flush();
  }

 private:
  Terminal& t_;
  std::string last_;
  bool drawn_ = false;
};

}  // namespace

std::string Redraw(const std::string& line, int width) {
  std::string shown = line;
  if (width > 1 && static_cast<int>(shown.size()) >= width) shown = shown.substr(0, static_cast<size_t>(width - 1));
  return "\r\x1b[2K" + shown;
}

int ExitCodeOf(const api::TrainingJob& job) { return job.status.phase == "Succeeded" ? 0 : 1; }

api::TrainingJob FollowJob(kube::Client& client, Terminal& terminal, const std::string& ns, const std::string& name) {
  const kube::Resource& jobs = kube::resources::kTrainingJobs;
  Drawer drawer(terminal);
  nlohmann::json object = client.Get(jobs, ns, name);
  api::TrainingJob job = api::TrainingJobFromJson(object);
  drawer.Show(job);
  std::string version = kube::ResourceVersionOf(object);
  int broken = 0;  // consecutive failed watches
  while (!IsFinished(job)) {
    bool deleted = false, gone = false;
    kube::WatchOptions options;
    options.resource_version = version;
    options.field_selector = "metadata.name=" + name;
    options.timeout_seconds = 300;
    try {
      client.Watch(jobs, ns, options, [&](const kube::WatchEvent& event) {
        broken = 0;
        switch (event.type) {
          case kube::WatchEventType::kBookmark: version = kube::ResourceVersionOf(event.object); return true;
          case kube::WatchEventType::kError: gone = true; return false;
          case kube::WatchEventType::kDeleted: deleted = true; return false;
          default: break;
        }
        version = kube::ResourceVersionOf(event.object);
        job = api::TrainingJobFromJson(event.object);
        drawer.Show(job);
        return !IsFinished(job);
      });
    } catch (const kube::ApiError& e) {
      if (e.code() != 410) throw;
      gone = true;
    } catch (const kube::TransportError&) {
      if (++broken >= 5) throw;
      std::this_thread::sleep_for(std::chrono::seconds(broken));
      gone = true;  // the stream may have missed changes: read the object again
    }
    if (deleted) throw std::runtime_error("trainingjob \"" + name + "\" was deleted while being watched");
    if (gone) {
      object = client.Get(jobs, ns, name);
      job = api::TrainingJobFromJson(object);
      version = kube::ResourceVersionOf(object);
      drawer.Show(job);
    }
  }
  drawer.Finish(job);
  return job;
}

}  // namespace kubecnn::plugin
