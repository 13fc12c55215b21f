// Making every rank start from rank 0's weights.
#pragma once

#include <torch/torch.h>

#include "trainer/comm/communicator.h"

namespace kubecnn::comm {

// Overwrites every parameter and buffer of `module` with rank `root`'s, in registration order.
void BroadcastModule(Communicator& comm, torch::nn::Module& module, int root);

}  // namespace kubecnn::comm
