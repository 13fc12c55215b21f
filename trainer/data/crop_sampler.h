// Where to crop: the train-time distorted crop and the eval-time centre crop, as pure functions.
#pragma once

#include <span>

#include "trainer/common/random.h"
#include "trainer/data/bounding_box.h"
#include "trainer/data/image_transform.h"

namespace kubecnn::data {

// A rectangle in source-image pixels. Pixel i covers [i, i + 1), so a window from x to x + width
// covers exactly `width` pixels when both are integers. Sampled train crops are always
// integer-valued; eval crops are fractional so that they describe a resampling grid exactly.
struct CropWindow {
  double x = 0.0;
  double y = 0.0;
  double width = 0.0;
  double height = 0.0;
};

// Train crop. Without boxes: torchvision RandomResizedCrop.get_params, draw for draw (area fraction
// uniform in [area_min, area_max], aspect ratio log-uniform in [aspect_min, aspect_max], sides
// rounded half-to-even like Python's round(), up to max_attempts, then a centre crop whose aspect
// ratio is clamped to the range). With boxes: TF's sample_distorted_bounding_box acceptance rule on
// the same candidates -- a candidate counts only if it holds at least min_object_covered of some
// box's area -- and the whole image when no candidate qualifies, as TF does.
CropWindow SampleDistortedCrop(int width, int height, std::span<const BoundingBox> boxes, const CropOptions& options,
                               Rng& rng);

// Eval crop: torchvision Resize(round(output_size / crop_fraction)) then CenterCrop(output_size),
// expressed as the source window that, resampled to output_size^2, reproduces that sampling grid
// exactly (same pixel centres, same filter scale). crop_fraction is in (0, 1].
CropWindow EvalCrop(int width, int height, int output_size, double crop_fraction);

// Fraction of the box's area (box in normalised coordinates of a width x height image) that lies
// inside `window`; 0 for an empty box.
double BoxCoverage(const CropWindow& window, const BoundingBox& box, int width, int height);

}  // namespace kubecnn::data
