// Throughput figures as nvcnn_hvd.py reports them: per-step images/s after a burn-in, their mean,
// standard error and jitter (1.4826 x median absolute deviation), and the per-step log line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kubecnn::metrics {

struct ThroughputSummary {
  int64_t steps = 0;       // steps counted (after burn-in)
  double mean = 0;         // images/s
  double uncertainty = 0;  // standard error of the mean; NaN with fewer than 3 steps
  double jitter = 0;       // 1.4826 * MAD
};

// `step_seconds` are wall times of consecutive steps; the first `burn_in` are not counted.
ThroughputSummary SummarizeThroughput(const std::vector<double>& step_seconds, int64_t images_per_step,
                                      int64_t burn_in);

// "Images/sec: 1234.5 +/- 3.2 (jitter = 10.1)", or why there is no figure.
std::string FormatThroughput(const ThroughputSummary& summary, int64_t burn_in);

// The header and one line of the training log, nvcnn's columns plus the loss scale:
// "  Step Epoch Img/sec   Loss   LR       Scale".
std::string StepLogHeader();
std::string StepLogLine(int64_t step, int64_t epoch, double images_per_second, double loss, double learning_rate,
                        double loss_scale);

}  // namespace kubecnn::metrics
