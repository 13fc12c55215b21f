// BroadcastModule: parameters then buffers, one collective each, in place.
#include "trainer/comm/module_broadcast.h"

namespace kubecnn::comm {

void BroadcastModule(Communicator& comm, torch::nn::Module& module, int root) {
  if (comm.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  const auto broadcast = [&](const std::string& name, torch::Tensor t) {
    if (t.device() == comm.device() && t.is_contiguous()) {
      comm.Broadcast(t, root);
      return;
    }
    torch::Tensor staged = t.to(comm.device(), /*non_blocking=*/false, /*copy=*/true).contiguous();
    comm.Broadcast(staged, root);
    t.copy_(staged);
  };
  for (const auto& item : module.named_parameters(/*recurse=*/true)) broadcast(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) broadcast(item.key(), item.value());
}

}  // namespace kubecnn::comm
