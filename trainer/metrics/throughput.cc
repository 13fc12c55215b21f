// Throughput statistics and log formatting.
#include "trainer/metrics/throughput.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace kubecnn::metrics {
namespace {

double Median(std::vector<double> v) {
  const size_t n = v.size();
  std::nth_element(v.begin(), v.begin() + static_cast<long>(n / 2), v.end());
  const double upper = v[n / 2];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<long>(n / 2));
  return (lower + upper) / 2;
}

}  // namespace

ThroughputSummary SummarizeThroughput(const std::vector<double>& step_seconds, int64_t images_per_step,
                                      int64_t burn_in) {
  ThroughputSummary s;
  std::vector<double> speeds;
  for (size_t i = static_cast<size_t>(std::max<int64_t>(burn_in, 0)); i < step_seconds.size(); ++i) {
    if (step_seconds[i] > 0) speeds.push_back(static_cast<double>(images_per_step) / step_seconds[i]);
  }
  s.steps = static_cast<int64_t>(speeds.size());
  if (speeds.empty()) return s;
  double sum = 0;
  for (double v : speeds) sum += v;
  s.mean = sum / static_cast<double>(speeds.size());
  if (speeds.size() > 2) {
    double ss = 0;
    for (double v : speeds) ss += (v - s.mean) * (v - s.mean);
    s.uncertainty =
        std::sqrt(ss / static_cast<double>(speeds.size() - 1)) / std::sqrt(static_cast<double>(speeds.size()));
  } else {
    s.uncertainty = std::numeric_limits<double>::quiet_NaN();
  }
  const double median = Median(speeds);
  std::vector<double> deviations;
  for (double v : speeds) deviations.push_back(std::abs(v - median));
  s.jitter = 1.4826 * Median(deviations);
  return s;
}

std::string FormatThroughput(const ThroughputSummary& s, int64_t burn_in) {
  char buf[128];
  if (s.steps == 0) {
    std::snprintf(buf, sizeof buf, "No results, did not get past burn-in phase (%lld steps)",
                  static_cast<long long>(burn_in));
  } else {
    std::snprintf(buf, sizeof buf, "Images/sec: %.1f +/- %.1f (jitter = %.1f)", s.mean, s.uncertainty, s.jitter);
  }
  return buf;
}

std::string StepLogHeader() { return "  Step Epoch Img/sec   Loss   LR        Scale"; }

std::string StepLogLine(int64_t step, int64_t epoch, double images_per_second, double loss, double learning_rate,
                        double loss_scale) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%6lld %5lld %7.1f %7.3f %7.5f %8g", static_cast<long long>(step),
                static_cast<long long>(epoch), images_per_second, loss, learning_rate, loss_scale);
  return buf;
}

}  // namespace kubecnn::metrics
