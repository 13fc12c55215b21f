// How a TrainingJob reads on a terminal: the columns `list` prints and `watch` redraws (phase,
// step/total, epoch, img/s, loss, ETA, restarts, top-1/top-5), and the closing outcome line.
// Pure: everything comes from the object and the time passed in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "operator/api/training_job.h"
#include "operator/kube/clock.h"

namespace kubecnn::plugin {

struct JobRow {
  std::string ns;
  std::string name;
  std::string phase;  // "Pending" until the operator has written one
  std::string step;   // "1200/112590", "1200" or "-"
  std::string epoch;  // "3/90", "3" or "-"
  std::string images_per_second;
  std::string loss;
  std::string eta;  // remaining steps at the current throughput: "2h05m", or "-"
  std::string restarts;
  std::string top1;  // "76.12%" or "-"
  std::string top5;
  std::string age;  // kubectl's form: "45s", "7m", "3h12m", "4d"
};

JobRow RowOf(const api::TrainingJob& job, kube::WallTime now);

// The rows as kubectl prints a table: a header, columns padded to their widest cell plus three
// spaces, NAMESPACE first with `with_namespace`.
std::string FormatTable(const std::vector<JobRow>& rows, bool with_namespace);

// One line for `watch`: the row's cells with their names ("resnet50  Running  step 1200/112590 ...").
// The same job gives the same line (no clock), so a pipe gets a line per change only.
std::string ProgressLine(const api::TrainingJob& job);

bool IsFinished(const api::TrainingJob& job);  // Succeeded or Failed

// "resnet50 Succeeded in 3h12m: top-1 76.12%, top-5 92.91% (50000 images, step 112590)" or
// "resnet50 Failed (BackoffLimitExceeded): <the condition's message>".
std::string OutcomeLine(const api::TrainingJob& job);

// Seconds left at the current throughput, from the job's progress and its global batch; nullopt
// when unknown (not running, no throughput, no total).
std::optional<double> EtaSeconds(const api::TrainingJob& job);

// kubectl's short duration: "45s", "7m30s", "42m", "3h12m", "20h", "4d3h", "12d".
std::string HumanDuration(double seconds);

std::string Percent(double ratio);  // 0.76123 -> "76.12%"

}  // namespace kubecnn::plugin
