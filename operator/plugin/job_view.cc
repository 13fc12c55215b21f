// Columns, progress line and outcome of a TrainingJob.
#include "operator/plugin/job_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "operator/api/time_format.h"
#include "trainer/cli/train_flags.h"

namespace kubecnn::plugin {
namespace {

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

const api::Condition* Find(const api::TrainingJobStatus& status, const std::string& type) {
  for (const api::Condition& c : status.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

std::string Phase(const api::TrainingJob& job) { return job.status.phase.empty() ? "Pending" : job.status.phase; }

int64_t GlobalBatch(const api::TrainingJob& job) {
  const int64_t per_rank = job.spec.trainer.batch_size.value_or(cli::TrainFlags::DefaultDataOptions().batch_size);
  return per_rank * job.spec.workers.value_or(1) * job.spec.slots_per_worker.value_or(1);
}

}  // namespace

std::string HumanDuration(double seconds) {
  const int64_t s = std::max<int64_t>(0, static_cast<int64_t>(seconds));
  const int64_t m = s / 60, h = s / 3600, d = s / 86400;
  const auto str = [](int64_t v) { return std::to_string(v); };
  if (s < 120) return str(s) + "s";
  if (m < 10) return str(m) + "m" + (s % 60 ? str(s % 60) + "s" : "");
  if (m < 180) return str(m) + "m";
  if (h < 8) return str(h) + "h" + (m % 60 ? str(m % 60) + "m" : "");
  if (h < 48) return str(h) + "h";
  if (h < 24 * 8) return str(d) + "d" + (h % 24 ? str(h % 24) + "h" : "");
  return str(d) + "d";
}

std::string Percent(double ratio) { return Fixed(ratio * 100, 2) + "%"; }

bool IsFinished(const api::TrainingJob& job) { return job.status.phase == "Succeeded" || job.status.phase == "Failed"; }

std::optional<double> EtaSeconds(const api::TrainingJob& job) {
  if (job.status.phase != "Running" || !job.status.progress) return std::nullopt;
  const api::Progress& p = *job.status.progress;
  if (!p.step || !p.total_steps || !p.images_per_second || *p.images_per_second <= 0) return std::nullopt;
  const double steps_per_second = *p.images_per_second / static_cast<double>(GlobalBatch(job));
  return static_cast<double>(std::max<int64_t>(0, *p.total_steps - *p.step)) / steps_per_second;
}

JobRow RowOf(const api::TrainingJob& job, kube::WallTime now) {
  JobRow row;
  row.ns = job.Namespace();
  row.name = job.Name();
  row.phase = Phase(job);
  row.step = row.epoch = row.images_per_second = row.loss = row.eta = row.top1 = row.top5 = "-";
  if (job.status.progress) {
    const api::Progress& p = *job.status.progress;
    if (p.step) row.step = std::to_string(*p.step) + (p.total_steps ? "/" + std::to_string(*p.total_steps) : "");
    if (p.epoch) {
      row.epoch = std::to_string(*p.epoch) +
                  (job.spec.trainer.num_epochs ? "/" + std::to_string(*job.spec.trainer.num_epochs) : "");
    }
    // The operator writes zeros before the trainer's first report: unknown, not zero.
    if (p.images_per_second && *p.images_per_second > 0) row.images_per_second = Fixed(*p.images_per_second, 1);
    if (p.loss && p.step.value_or(1) > 0) row.loss = Fixed(*p.loss, 4);
  }
  if (const std::optional<double> eta = EtaSeconds(job)) row.eta = HumanDuration(*eta);
  row.restarts = std::to_string(job.status.restarts);
  if (job.status.evaluation) {
    if (job.status.evaluation->top1) row.top1 = Percent(*job.status.evaluation->top1);
    if (job.status.evaluation->top5) row.top5 = Percent(*job.status.evaluation->top5);
  }
  row.age = "<unknown>";
  const std::optional<kube::WallTime> created = api::ParseTime(job.metadata.value("creationTimestamp", ""));
  if (created) row.age = HumanDuration(std::chrono::duration<double>(now - *created).count());
  return row;
}

std::string FormatTable(const std::vector<JobRow>& rows, bool with_namespace) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header = {"NAME", "PHASE",    "STEP", "EPOCH", "IMG/S", "LOSS",
                                     "ETA",  "RESTARTS", "TOP1", "TOP5",  "AGE"};
  if (with_namespace) header.insert(header.begin(), "NAMESPACE");
  cells.push_back(header);
  for (const JobRow& r : rows) {
    std::vector<std::string> line = {r.name,     r.phase, r.step, r.epoch, r.images_per_second, r.loss, r.eta,
                                     r.restarts, r.top1,  r.top5, r.age};
    if (with_namespace) line.insert(line.begin(), r.ns);
    cells.push_back(line);
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text += std::string(width[i] - line[i].size() + 3, ' ');
    }
    out += text + "\n";
  }
  return out;
}

std::string ProgressLine(const api::TrainingJob& job) {
  const JobRow r = RowOf(job, kube::WallTime{});
  std::string line = r.name + "  " + r.phase;
  if (r.step != "-") line += "  step " + r.step;
  if (r.epoch != "-") line += "  epoch " + r.epoch;
  if (r.images_per_second != "-") line += "  " + r.images_per_second + " img/s";
  if (r.loss != "-") line += "  loss " + r.loss;
  if (r.eta != "-") line += "  ETA " + r.eta;
  line += "  restarts " + r.restarts;
  if (job.status.phase == "Scheduling" || job.status.phase == "Pending" || job.status.phase.empty()) {
    const api::WorkerCounts& w = job.status.workers;
    line +=
        "  workers " + std::to_string(w.scheduled) + "/" + std::to_string(job.spec.workers.value_or(1)) + " scheduled";
  }
  if (r.top1 != "-") line += "  top-1 " + r.top1;
  if (r.top5 != "-") line += "  top-5 " + r.top5;
  return line;
}

std::string OutcomeLine(const api::TrainingJob& job) {
  std::string line = job.Name() + " " + Phase(job);
  const std::optional<kube::WallTime> start = api::ParseTime(job.status.start_time.value_or(""));
  const std::optional<kube::WallTime> end = api::ParseTime(job.status.completion_time.value_or(""));
  if (start && end) line += " in " + HumanDuration(std::chrono::duration<double>(*end - *start).count());
  if (job.status.phase == "Failed") {
    if (const api::Condition* failed = Find(job.status, "Failed")) {
      line += " (" + failed->reason + "): " + failed->message;
    }
    return line;
  }
  if (job.status.evaluation && job.status.evaluation->top1) {
    const api::EvaluationResult& e = *job.status.evaluation;
    line += ": top-1 " + Percent(*e.top1);
    if (e.top5) line += ", top-5 " + Percent(*e.top5);
    std::string detail;
    if (e.images) detail += std::to_string(*e.images) + " images";
    if (e.step) detail += (detail.empty() ? "" : ", ") + std::string("step ") + std::to_string(*e.step);
    if (!detail.empty()) line += " (" + detail + ")";
  } else if (job.status.progress && job.status.progress->step) {
    line += ": " + std::to_string(*job.status.progress->step) + " steps";
    if (job.status.progress->last_checkpoint) line += ", last checkpoint " + *job.status.progress->last_checkpoint;
  }
  return line;
}

}  // namespace kubecnn::plugin
