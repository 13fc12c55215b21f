// Layer-wise adaptive rate control (LARC) and LARS: the per-parameter trust ratio as a pure
// function of norms, and the flags that select it.
//
// Both follow You et al., "Large Batch Training of Convolutional Networks" (LARS, 2017), with the
// local lr of a parameter tensor w with gradient g and weight decay wd:
//
//     local_lr = eta * ||w|| / (||g|| + wd * ||w|| + epsilon)
//
// and a ratio of 1 when ||w|| or ||g|| is 0 (a freshly zeroed bias, a parameter without signal).
// The ratio multiplies the weight-decayed gradient (g + wd * w) of that tensor.
//
// LARC (NVIDIA apex's apex.parallel.LARC, nvcnn_hvd.py's --larc_mode) is a gradient transform in
// front of plain SGD with momentum; the lr stays outside the momentum buffer:
//   clip:  ratio = min(local_lr / lr, 1), i.e. the effective lr is min(local_lr, lr)
//   scale: ratio = local_lr, i.e. the effective lr is lr * local_lr
// LARS (--optimizer=lars) is the paper's own update with the lr inside the momentum buffer:
//   v = m * v + lr * local_lr * (g + wd * w);  w -= v
// It differs from LARC scale only when the lr changes between steps (the buffer then keeps the
// old lr), which is how the MLPerf ResNet-50 LARS reference behaves.
//
// Differences from nvcnn_hvd.py v1.1, where LARC went in the graph by hand: nvcnn's ||g|| is the
// norm of the gradient with the L2 term already in it and has no wd * ||w|| or epsilon term
// (apex's denominator is the triangle-inequality bound of the same thing); and where a norm is 0
// nvcnn used a local lr of 1 before clipping (so a ratio of min(1 / lr, 1)), apex and kubecnn a
// ratio of 1. nvcnn's FLAGS.larc_epsilon = 1.0 is that fallback local lr, not a denominator term:
// passing 1.0 as LayerwiseOptions::epsilon would swamp ||g|| (typically well below 1).
#pragma once

#include <string_view>

namespace kubecnn::optim {

enum class LayerwiseKind {
  kNone,       // plain SGD with momentum
  kLarcClip,   // --larc_mode=clip (with --larc_eta)
  kLarcScale,  // --larc_mode=scale (with --larc_eta)
  kLars,       // --optimizer=lars
};

struct LayerwiseOptions {
  LayerwiseKind kind = LayerwiseKind::kNone;
  double eta = 0.0;       // trust coefficient: 0.003 with nvcnn's LARC, 0.001 in the LARS paper
  double epsilon = 1e-8;  // apex's default; keeps the ratio finite
};

inline constexpr double kLarsDefaultEta = 0.001;

// The paper's local lr; 1 where either norm is 0.
double LocalLr(double eta, double epsilon, double weight_norm, double grad_norm, double weight_decay);

// What multiplies (g + wd * w) of one parameter tensor before the momentum update, for the
// current lr. kNone gives 1; kLars gives local_lr (the lr itself is applied by the optimizer).
double TrustRatio(const LayerwiseOptions& options, double weight_norm, double grad_norm, double weight_decay,
                  double lr);

// From nvcnn-style flags: --optimizer (sgd|lars), --larc_mode (clip|scale) and --larc_eta
// (0 or unset: LARC off, as in nvcnn where it defaults to None). LARS takes its eta from
// --larc_eta too, or kLarsDefaultEta when that is 0. Throws std::invalid_argument with the bad
// value and the accepted ones.
LayerwiseOptions LayerwiseFromFlags(std::string_view optimizer, std::string_view larc_mode, double larc_eta);

std::string_view LayerwiseKindName(LayerwiseKind kind);  // "none", "larc_clip", "larc_scale", "lars"

}  // namespace kubecnn::optim
