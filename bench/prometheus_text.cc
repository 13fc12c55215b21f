// Prometheus text format 0.0.4, the subset prometheus-cpp writes: name{label="value",...} value.
#include "bench/prometheus_text.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace kubecnn::bench {
namespace {

std::invalid_argument Malformed(const std::string& line, const std::string& why) {
  return std::invalid_argument("metrics line \"" + line + "\": " + why);
}

double ParseValue(const std::string& text, const std::string& line) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used != text.size()) throw Malformed(line, "trailing text after the value");
    return value;
  } catch (const std::logic_error&) {
    throw Malformed(line, "value \"" + text + "\" is not a number");
  }
}

}  // namespace

std::vector<Sample> ParsePrometheusText(const std::string& text) {
  std::vector<Sample> samples;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    Sample sample;
    size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) throw Malformed(line, "no value");
    sample.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          throw Malformed(line, "a label is not name=\"value\"");
        }
        const std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) throw Malformed(line, "unterminated label value");
        sample.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) throw Malformed(line, "unterminated label set");
      ++i;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t value_end = line.find(' ', i);  // a timestamp may follow
    sample.value = ParseValue(line.substr(i, value_end == std::string::npos ? std::string::npos : value_end - i), line);
    samples.push_back(std::move(sample));
  }
  return samples;
}

double SumOf(const std::vector<Sample>& samples, const std::string& name,
             const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    const bool all = std::all_of(match.begin(), match.end(), [&](const auto& want) {
      auto it = s.labels.find(want.first);
      return it != s.labels.end() && it->second == want.second;
    });
    if (all) sum += s.value;
  }
  return sum;
}

std::map<std::string, double> SumBy(const std::vector<Sample>& samples, const std::string& name,
                                    const std::string& label) {
  std::map<std::string, double> sums;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    auto it = s.labels.find(label);
    sums[it == s.labels.end() ? "" : it->second] += s.value;
  }
  return sums;
}

double HistogramQuantile(const std::vector<Sample>& samples, const std::string& name, double q) {
  std::map<double, double> cumulative;  // upper bound -> observations at or below it
  for (const Sample& s : samples) {
    if (s.name != name + "_bucket") continue;
    auto le = s.labels.find("le");
    if (le == s.labels.end()) throw std::invalid_argument(name + "_bucket has a sample without an le label");
    cumulative[ParseValue(le->second, name + "_bucket le=" + le->second)] += s.value;
  }
  if (cumulative.empty() || cumulative.rbegin()->second <= 0) return std::numeric_limits<double>::quiet_NaN();
  const double total = cumulative.rbegin()->second;
  const double rank = q * total;
  double lower = 0, below = 0;
  for (const auto& [upper, count] : cumulative) {
    if (count >= rank) {
      if (std::isinf(upper)) return upper;
      if (count == below) return upper;
      return lower + (upper - lower) * (rank - below) / (count - below);
    }
    lower = upper;
    below = count;
  }
  return cumulative.rbegin()->first;
}

}  // namespace kubecnn::bench
