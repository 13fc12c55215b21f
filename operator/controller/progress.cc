// Prometheus text parsing and eval JSON parsing.
#include "operator/controller/progress.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace kubecnn::controller {
namespace {

// "name{labels} value [timestamp]" -> (name, value) when it parses.
bool ParseSample(const std::string& line, std::string* name, double* value) {
  if (line.empty() || line[0] == '#') return false;
  size_t end = line.find_first_of("{ ");
  if (end == std::string::npos) return false;
  *name = line.substr(0, end);
  size_t pos = end;
  if (line[pos] == '{') {
    pos = line.find('}', pos);
    if (pos == std::string::npos) return false;
    ++pos;
  }
  std::istringstream rest(line.substr(pos));
  std::string number;
  if (!(rest >> number)) return false;
  try {
    size_t used = 0;
    *value = std::stod(number, &used);
    return used == number.size();
  } catch (const std::exception&) {
    return false;
  }
}

// A step or epoch count: whole, not negative, and exact in a double (casting 1e300 to int64_t is
// undefined behaviour; the fuzzer found it).
bool IsCount(double value) { return value >= 0 && value <= 9007199254740992.0 && value == std::floor(value); }

}  // namespace

std::optional<api::Progress> ParseTrainerMetrics(const std::string& text) {
  api::Progress p;
  bool any = false;
  std::istringstream in(text);
  std::string line, name;
  double value = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!ParseSample(line, &name, &value) || !std::isfinite(value)) continue;
    if (name == "kubecnn_train_step" && !p.step) {
      if (!IsCount(value)) continue;
      p.step = static_cast<int64_t>(value);
    } else if (name == "kubecnn_train_epoch" && !p.epoch) {
      if (!IsCount(value)) continue;
      p.epoch = static_cast<int64_t>(value);
    } else if (name == "kubecnn_train_images_per_second" && !p.images_per_second) {
      p.images_per_second = std::round(value * 10) / 10;  // `kubectl get`'s IMG/S column: 6675.4, not 6675.350323949537
    } else if (name == "kubecnn_train_loss" && !p.loss) {
      p.loss = value;
    } else if (name == "kubecnn_train_learning_rate" && !p.learning_rate) {
      p.learning_rate = value;
    } else {
      continue;
    }
    any = true;
  }
  if (!any) return std::nullopt;
  return p;
}

api::EvaluationResult ParseEvaluationResult(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    throw std::invalid_argument("the evaluation launcher's termination message is not a JSON object (\"" +
                                text.substr(0, 80) + "\"); the trainer writes <log_dir>/eval-<step>.json");
  }
  api::EvaluationResult r;
  for (const char* key : {"top1", "top5"}) {
    if (!j.contains(key) || !j[key].is_number()) {
      throw std::invalid_argument(std::string("the evaluation result has no numeric \"") + key +
                                  "\": " + text.substr(0, 120));
    }
  }
  r.top1 = j["top1"].get<double>();
  r.top5 = j["top5"].get<double>();
  if (j.contains("images") && j["images"].is_number_integer()) r.images = j["images"].get<int64_t>();
  if (j.contains("step") && j["step"].is_number_integer()) r.step = j["step"].get<int64_t>();
  if (j.contains("checkpoint") && j["checkpoint"].is_string()) r.checkpoint = j["checkpoint"].get<std::string>();
  return r;
}

}  // namespace kubecnn::controller
