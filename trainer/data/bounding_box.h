// A normalised object bounding box, as tf.train.Example stores it (image/object/bbox/*).
#pragma once

namespace kubecnn::data {

// Coordinates are fractions of the image size in [0, 1]; xmin < xmax and ymin < ymax.
struct BoundingBox {
  float xmin = 0.0f;
  float ymin = 0.0f;
  float xmax = 1.0f;
  float ymax = 1.0f;
};

}  // namespace kubecnn::data
