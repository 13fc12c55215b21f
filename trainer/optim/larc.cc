// LARC/LARS trust ratios on norms, and the flag mapping.
#include "trainer/optim/larc.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "trainer/optim/text_parsing.h"

namespace kubecnn::optim {

double LocalLr(double eta, double epsilon, double weight_norm, double grad_norm, double weight_decay) {
  if (weight_norm == 0 || grad_norm == 0) return 1.0;
  return eta * weight_norm / (grad_norm + weight_decay * weight_norm + epsilon);
}

double TrustRatio(const LayerwiseOptions& options, double weight_norm, double grad_norm, double weight_decay,
                  double lr) {
  if (options.kind == LayerwiseKind::kNone) return 1.0;
  if (weight_norm == 0 || grad_norm == 0) return 1.0;
  const double local_lr = LocalLr(options.eta, options.epsilon, weight_norm, grad_norm, weight_decay);
  switch (options.kind) {
    case LayerwiseKind::kLarcClip: return lr > 0 ? std::min(local_lr / lr, 1.0) : 1.0;
    case LayerwiseKind::kLarcScale:
    case LayerwiseKind::kLars: return local_lr;
    case LayerwiseKind::kNone: break;
  }
  return 1.0;
}

LayerwiseOptions LayerwiseFromFlags(std::string_view optimizer, std::string_view larc_mode, double larc_eta) {
  if (!std::isfinite(larc_eta) || larc_eta < 0) {
    throw std::invalid_argument("--larc_eta=" + FormatDouble(larc_eta) + " must be >= 0 (0 turns LARC off)");
  }
  LayerwiseOptions options;
  if (optimizer == "lars") {
    options.kind = LayerwiseKind::kLars;
    options.eta = larc_eta > 0 ? larc_eta : kLarsDefaultEta;
    return options;
  }
  if (optimizer != "sgd" && optimizer != "momentum") {
    throw std::invalid_argument("--optimizer=" + std::string(optimizer) +
                                " is not known; use sgd (SGD with momentum, LARC via --larc_eta) or lars");
  }
  if (larc_mode != "clip" && larc_mode != "scale") {
    throw std::invalid_argument("--larc_mode=" + std::string(larc_mode) +
                                " is not known; use clip or scale (for LARS pass --optimizer=lars)");
  }
  if (larc_eta == 0) return options;
  options.kind = larc_mode == "clip" ? LayerwiseKind::kLarcClip : LayerwiseKind::kLarcScale;
  options.eta = larc_eta;
  return options;
}

std::string_view LayerwiseKindName(LayerwiseKind kind) {
  switch (kind) {
    case LayerwiseKind::kNone: return "none";
    case LayerwiseKind::kLarcClip: return "larc_clip";
    case LayerwiseKind::kLarcScale: return "larc_scale";
    case LayerwiseKind::kLars: return "lars";
  }
  return "?";
}

}  // namespace kubecnn::optim
