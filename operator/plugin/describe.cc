// The describe text, section by section.
#include "operator/plugin/describe.h"

#include <algorithm>
#include <sstream>

#include "operator/api/defaults.h"
#include "operator/api/time_format.h"
#include "operator/api/training_job.h"
#include "operator/api/validation.h"
#include "operator/controller/names.h"
#include "operator/controller/trainer_args.h"
#include "operator/plugin/job_view.h"
#include "operator/plugin/run_spec.h"

namespace kubecnn::plugin {
namespace {

using nlohmann::json;

std::string Ago(const std::string& stamp, kube::WallTime now) {
  const std::optional<kube::WallTime> t = api::ParseTime(stamp);
  if (!t) return "<unknown>";
  return HumanDuration(std::chrono::duration<double>(now - *t).count());
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string VolumeText(const json& source) {
  if (!source.is_object()) return "";
  if (source.contains("persistentVolumeClaim")) {
    return "claim " + source["persistentVolumeClaim"].value("claimName", "?");
  }
  if (source.contains("emptyDir")) return "emptyDir (gone with the pods)";
  if (source.contains("hostPath")) return "hostPath " + source["hostPath"].value("path", "?");
  return source.begin().key();
}

void Table(std::ostringstream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line = "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

void Spec(std::ostringstream& out, const api::TrainingJob& job) {
  const api::TrainingJobSpec defaulted_input = api::WithDefaults(job.spec);
  api::TrainingJob checked = job;
  checked.spec = defaulted_input;
  const std::vector<api::FieldError> errors = api::Validate(checked);
  const api::TrainingJobSpec& s = defaulted_input;
  out << "Image:        " << s.image << "\n";
  out << "Mode:         " << s.mode.value_or("Train")
      << (s.evaluation.enabled.value_or(false) ? " (then evaluation of the final checkpoint)" : "") << "\n";
  std::string gpus;
  if (s.resources.is_object() && s.resources.contains("limits") && s.resources["limits"].contains("nvidia.com/gpu")) {
    gpus = ", " + s.resources["limits"]["nvidia.com/gpu"].dump() + " GPUs each";
  }
  const int64_t workers = s.workers.value_or(1), slots = s.slots_per_worker.value_or(1);
  out << "Gang:         " << workers << " worker(s) x " << slots << " slot(s) = " << workers * slots << " ranks" << gpus
      << "; gang scheduling " << s.scheduling.gang.value_or("None") << "\n";
  out << "Data:         " << s.trainer.data_dir.value_or("(synthetic)");
  if (!VolumeText(s.volumes.data).empty()) out << " on " << VolumeText(s.volumes.data);
  out << "\n";
  out << "Checkpoints:  " << s.trainer.log_dir.value_or("?");
  if (!VolumeText(s.volumes.checkpoints).empty()) out << " on " << VolumeText(s.volumes.checkpoints);
  out << "\n";
  if (s.storage.s3) {
    out << "Object store: " << s.storage.s3->endpoint.value_or("AWS S3") << ", credentials from Secret "
        << s.storage.s3->credentials_secret << "\n";
  }
  const std::string command_line = job.metadata.value("annotations", json::object()).value(kCommandLineAnnotation, "");
  if (!command_line.empty()) out << "Command line: " << command_line << "\n";
  if (errors.empty()) {
    const api::DefaultedSpec d = api::Defaulted(s);
    const bool evaluate_only = d.mode == api::Mode::kEvaluate;
    out << "Launcher:     "
        << Joined(controller::MpirunArgs(d, evaluate_only ? controller::kStageEvaluate : controller::kStageTrain))
        << "\n";
  } else {
    out << "Invalid:      " << api::Describe(errors) << "\n";
  }
  out << "Backoff:      " << s.run_policy.backoff_limit.value_or(api::kDefaultBackoffLimit)
      << " gang restarts allowed\n";
}

void Status(std::ostringstream& out, const api::TrainingJob& job, kube::WallTime now) {
  const api::TrainingJobStatus& st = job.status;
  out << "Phase:        " << (st.phase.empty() ? "Pending (not yet seen by the operator)" : st.phase) << "\n";
  if (st.start_time) out << "Started:      " << *st.start_time << " (" << Ago(*st.start_time, now) << " ago)\n";
  if (st.completion_time) out << "Completed:    " << *st.completion_time << "\n";
  out << "Workers:      " << st.workers.ready << " ready, " << st.workers.scheduled << " scheduled, "
      << st.workers.failed << " failed of " << job.spec.workers.value_or(1) << "\n";
  out << "Restarts:     " << st.restarts << " (gang attempt " << st.attempt << ")\n";
  if (st.progress) {
    const api::Progress& p = *st.progress;
    const JobRow row = RowOf(job, now);
    out << "Progress:     step " << row.step << ", epoch " << row.epoch << ", " << row.images_per_second
        << " img/s, loss " << row.loss;
    if (p.learning_rate) out << ", lr " << *p.learning_rate;
    if (row.eta != "-") out << ", ETA " << row.eta;
    out << "\n";
    if (p.last_checkpoint) out << "Checkpoint:   " << *p.last_checkpoint << "\n";
    if (p.updated_at) out << "Updated:      " << *p.updated_at << " (" << Ago(*p.updated_at, now) << " ago)\n";
  }
  if (st.evaluation && st.evaluation->top1) {
    const api::EvaluationResult& e = *st.evaluation;
    out << "Evaluation:   top-1 " << Percent(*e.top1);
    if (e.top5) out << ", top-5 " << Percent(*e.top5);
    if (e.images) out << " on " << *e.images << " images";
    if (e.step) out << ", step " << *e.step;
    if (e.checkpoint) out << " (" << *e.checkpoint << ")";
    if (e.completed_at) out << ", " << *e.completed_at;
    out << "\n";
  }
}

}  // namespace

std::string DescribeJob(const json& object, const std::vector<json>& events, kube::WallTime now) {
  const api::TrainingJob job = api::TrainingJobFromJson(object);
  std::ostringstream out;
  out << "Name:         " << job.Name() << "\n";
  out << "Namespace:    " << job.Namespace() << "\n";
  const std::string created = job.metadata.value("creationTimestamp", "");
  if (!created.empty()) out << "Created:      " << created << " (" << Ago(created, now) << " ago)\n";
  Spec(out, job);
  Status(out, job, now);

  out << "Conditions:\n";
  if (job.status.conditions.empty()) {
    out << "  <none>\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"}};
    for (const api::Condition& c : job.status.conditions) {
      rows.push_back({c.type, c.status, c.reason, Ago(c.last_transition_time, now), c.message});
    }
    Table(out, rows);
  }

  std::vector<json> sorted = events;
  const auto when = [](const json& e) {
    const std::string last = e.value("lastTimestamp", "");
    return last.empty() ? e.value("eventTime", e.value("firstTimestamp", "")) : last;
  };
  std::stable_sort(sorted.begin(), sorted.end(), [&](const json& a, const json& b) { return when(a) < when(b); });
  out << "Restart history:\n";
  std::vector<std::vector<std::string>> restarts = {{"WHEN", "REASON", "MESSAGE"}};
  for (const json& e : sorted) {
    const std::string reason = e.value("reason", "");
    if (reason == "GangRestart" || reason == "GangRunning" || reason == "ScheduleTimeout") {
      restarts.push_back({Ago(when(e), now) + " ago", reason, e.value("message", "")});
    }
  }
  if (restarts.size() == 1) {
    out << "  <none>\n";
  } else {
    Table(out, restarts);
  }
  out << "Events:\n";
  if (sorted.empty()) {
    out << "  <none>\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"TYPE", "REASON", "AGE", "COUNT", "MESSAGE"}};
    for (const json& e : sorted) {
      rows.push_back({e.value("type", ""), e.value("reason", ""), Ago(when(e), now),
                      std::to_string(e.value("count", 1)), e.value("message", "")});
    }
    Table(out, rows);
  }
  return out.str();
}

}  // namespace kubecnn::plugin
