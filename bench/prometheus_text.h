// Reading a scraped Prometheus text exposition in a benchmark: samples by name and labels, sums,
// and quantiles of a histogram from its cumulative buckets (as PromQL's histogram_quantile).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace kubecnn::bench {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample line of `text` (comments and blank lines skipped). Throws std::invalid_argument
// naming the line when one does not parse.
std::vector<Sample> ParsePrometheusText(const std::string& text);

// The sum of the samples named `name` whose labels include every pair of `match`.
double SumOf(const std::vector<Sample>& samples, const std::string& name,
             const std::map<std::string, std::string>& match = {});

// The sums of `name` grouped by the value of `label`.
std::map<std::string, double> SumBy(const std::vector<Sample>& samples, const std::string& name,
                                    const std::string& label);

// The q-quantile (0..1) of histogram `name` (its `name_bucket` series, summed over other labels),
// interpolated linearly inside the bucket it falls in, as histogram_quantile does. +Inf when it
// falls in the +Inf bucket, NaN when the histogram has no observations.
double HistogramQuantile(const std::vector<Sample>& samples, const std::string& name, double q);

}  // namespace kubecnn::bench
