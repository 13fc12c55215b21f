// Single-image inference with timing.
#include "trainer/engine/infer.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "trainer/data/batch.h"
#include "trainer/data/device_batch.h"
#include "trainer/engine/train_loop.h"

namespace kubecnn::engine {
namespace {

double Millis(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

std::map<int64_t, std::string> ReadClassNames(const std::string& path, int64_t label_offset) {
  std::ifstream in(path);
  if (!in) throw ConfigError("reading --labels " + path + ": cannot open it");
  std::map<int64_t, std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string label, rest;
    if (!std::getline(fields, label, '\t') || !std::getline(fields, rest)) continue;
    const size_t tab = rest.rfind('\t');
    try {
      names[std::stoll(label) - label_offset] = tab == std::string::npos ? rest : rest.substr(tab + 1);
    } catch (const std::exception&) {
      throw ConfigError("reading --labels " + path + ": line '" + line + "' does not start with a label number");
    }
  }
  return names;
}

std::vector<ImageResult> Classify(models::Model& model, const std::vector<std::string>& paths,
                                  const data::TransformOptions& transform, const RunDevice& device, int top_k) {
  torch::NoGradGuard no_grad;
  std::vector<ImageResult> results;
  data::Batch batch;
  batch.image_size = transform.output_size;
  batch.labels.assign(1, 0);
  batch.size = 1;
  batch.images.resize(batch.image_bytes());
  for (const std::string& path : paths) {
    ImageResult r;
    r.path = path;
    const auto start = std::chrono::steady_clock::now();
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      r.error = "cannot read the file";
      results.push_back(r);
      continue;
    }
    const data::TransformResult decoded = data::DecodeAndTransform(
        {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, {}, transform, 0, batch.image(0));
    if (decoded.status != data::TransformStatus::kOk) {
      r.error = decoded.error.empty() ? "not a JPEG" : decoded.error;
      results.push_back(r);
      continue;
    }
    const data::DeviceBatch input = data::ToDevice(batch, device.device, torch::kFloat32, device.channels_last);
    const auto uploaded = std::chrono::steady_clock::now();
    torch::Tensor probabilities;
    {
      AutocastScope autocast(device);
      probabilities = torch::softmax(model.Forward(input.images).logits.to(torch::kFloat32), 1)[0];
    }
    const auto [values, indices] = probabilities.topk(std::min<int64_t>(top_k, probabilities.size(0)));
    const torch::Tensor v = values.cpu(), i = indices.cpu();  // synchronises: the latency is real
    const auto done = std::chrono::steady_clock::now();
    for (int64_t k = 0; k < v.size(0); ++k) r.top.push_back({i[k].item<int64_t>(), v[k].item<double>()});
    r.preprocess_ms = Millis(start, uploaded);
    r.model_ms = Millis(uploaded, done);
    results.push_back(r);
  }
  return results;
}

}  // namespace kubecnn::engine
