// The communicator of a world of one: every collective is the identity.
#pragma once

#include "trainer/comm/communicator.h"

namespace kubecnn::comm {

class SingleCommunicator final : public Communicator {
 public:
  explicit SingleCommunicator(torch::Device device) : device_(device) {}
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string name() const override { return "single"; }
  torch::Device device() const override { return device_; }
  void AllReduce(torch::Tensor&, ReduceOp, const std::optional<c10::Event>&) override {}
  void Broadcast(torch::Tensor&, int) override {}
  void Barrier() override {}
  [[noreturn]] void AbortJob(int exit_code) override;

 private:
  torch::Device device_;
};

}  // namespace kubecnn::comm
