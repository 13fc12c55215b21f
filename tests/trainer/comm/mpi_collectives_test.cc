// Run under `mpirun -np 2`: MPI collectives by dtype, broadcasts, and gradient averaging that
// keeps every rank's parameters identical and equals one rank training on the whole batch.
#include <gtest/gtest.h>

#include "trainer/comm/communicator.h"
#include "trainer/comm/gradient_sync.h"
#include "trainer/comm/module_broadcast.h"
#include "trainer/comm/placement.h"
#include "trainer/optim/sgd.h"

namespace kubecnn::comm {
namespace {

Communicator& Comm() {
  static std::unique_ptr<Communicator> comm =
      CreateCommunicator(PlacementFromProcessEnvironment(), torch::kCPU, CommOptions{});
  return *comm;
}

TEST(MpiCollectives, RunsOnTwoRanks) {
  ASSERT_EQ(Comm().world_size(), 2) << "start this test with mpirun -np 2";
  EXPECT_EQ(Comm().name(), "mpi");
}

TEST(MpiCollectives, AllReduceSumsAndAveragesEachDtype) {
  const int r = Comm().rank();
  torch::Tensor f = torch::tensor({1.0f + r, 10.0f * r});
  Comm().AllReduce(f, ReduceOp::kAverage);
  EXPECT_TRUE(torch::equal(f, torch::tensor({1.5f, 5.0f})));
  torch::Tensor i = torch::tensor({int64_t{1} << 40, int64_t{r}});
  Comm().AllReduce(i, ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(i, torch::tensor({int64_t{1} << 41, int64_t{1}})));
  for (const auto dtype : {torch::kHalf, torch::kBFloat16}) {
    torch::Tensor h = torch::tensor({0.5f + r, -2.0f}).to(dtype);
    Comm().AllReduce(h, ReduceOp::kSum);
    EXPECT_TRUE(torch::equal(h.to(torch::kFloat32), torch::tensor({2.0f, -4.0f}))) << h;
  }
  torch::Tensor integer = torch::ones({2}, torch::kInt64);
  EXPECT_THROW(Comm().AllReduce(integer, ReduceOp::kAverage), CommError);
}

TEST(MpiCollectives, BroadcastGivesEveryRankTheRootsValues) {
  torch::Tensor t = torch::full({3}, static_cast<float>(Comm().rank() + 7));
  Comm().Broadcast(t, 1);
  EXPECT_TRUE(torch::equal(t, torch::full({3}, 8.0f)));
  std::string bytes = Comm().rank() == 0 ? std::string(100000, 'k') + "end" : "something else";
  BroadcastBytes(Comm(), bytes, 0);
  EXPECT_EQ(bytes.size(), 100003u);
  EXPECT_EQ(bytes.substr(99998), "kkend");
  Comm().Barrier();
}

// A small network without batch norm, so per-rank statistics cannot make the runs differ.
struct NetImpl : torch::nn::Module {
  NetImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)));
    fc = register_module("fc", torch::nn::Linear(8 * 8 * 8, 5));
    unused = register_module("unused", torch::nn::Linear(4, 4));  // never produces a gradient
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc(torch::relu(conv(x)).flatten(1)); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc{nullptr}, unused{nullptr};
};
TORCH_MODULE(Net);

optim::SgdOptions Recipe() {
  optim::SgdOptions o;
  o.momentum = 0.9;
  o.nesterov = true;
  o.groups.weight_decay = 1e-4;
  return o;
}

void ExpectIdenticalAcrossRanks(const Net& net) {
  for (const auto& p : net->named_parameters()) {
    torch::Tensor root = p.value().detach().contiguous().clone();
    Comm().Broadcast(root, 0);
    EXPECT_TRUE(torch::equal(root, p.value().detach())) << p.key() << " differs from rank 0's";
  }
}

// The trainer's --channels_last: 4-d weights in NHWC memory (engine/model_setup.cc does the same).
void ToChannelsLast(Net& net) {
  for (torch::Tensor p : net->parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

// zero_with_reducer: .grad are views into the buckets (the trainer's way); otherwise the optimizer
// resets them and the reducer copies them in and out.
void TrainTwoRanksAgainstOneBigBatch(const GradientSyncOptions& sync, double tolerance, bool zero_with_reducer,
                                     bool channels_last = false) {
  constexpr int kPerRank = 6, kSteps = 5;
  torch::manual_seed(99 + Comm().rank());  // different initial weights: the broadcast must fix them
  Net ours;
  BroadcastModule(Comm(), *ours, 0);
  Net reference;  // trained by this process alone on both ranks' samples
  {
    torch::NoGradGuard no_grad;
    const auto src = ours->parameters();
    const auto dst = reference->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  if (channels_last) {
    ToChannelsLast(ours);
    ToChannelsLast(reference);
  }
  optim::Sgd sgd(optim::NamedParameters(*ours), Recipe());
  optim::Sgd reference_sgd(optim::NamedParameters(*reference), Recipe());
  GradientAllReducer reducer(Comm(), ours->parameters(), sync);
  for (int step = 0; step < kSteps; ++step) {
    torch::manual_seed(1000 + step);  // the same global batch on both ranks
    const torch::Tensor images = torch::randn({2 * kPerRank, 3, 8, 8});
    const torch::Tensor labels = torch::randint(0, 5, {2 * kPerRank}, torch::kInt64);
    const int64_t from = Comm().rank() * kPerRank;
    torch::nn::functional::cross_entropy(ours->forward(images.narrow(0, from, kPerRank)),
                                         labels.narrow(0, from, kPerRank))
        .backward();
    reducer.Finish();
    for (const auto& p : ours->named_parameters()) {
      // CUDA's fused SGD refuses a gradient laid out unlike its parameter (found on an H200).
      if (p.value().grad().defined()) {
        EXPECT_EQ(p.value().grad().strides(), p.value().strides()) << p.key() << "'s gradient is laid out otherwise";
      }
    }
    sgd.Step(0.1);
    if (zero_with_reducer) {
      reducer.ZeroGradients();
    } else {
      sgd.ZeroGrad();
    }
    torch::nn::functional::cross_entropy(reference->forward(images), labels).backward();
    reference_sgd.Step(0.1);
    reference_sgd.ZeroGrad();

    ExpectIdenticalAcrossRanks(ours);
    const auto a = ours->named_parameters();
    const auto b = reference->named_parameters();
    for (const auto& p : a) {
      const torch::Tensor diff = (p.value() - b[p.key()]).abs().max();
      EXPECT_LE(diff.item<double>(), tolerance) << p.key() << " after step " << step + 1;
    }
  }
  EXPECT_GT(reducer.last_step().bytes, 0);
}

TEST(GradientAllReducer, TwoRanksOfBatchBEqualOneRankOfBatch2BStepByStep) {
  TrainTwoRanksAgainstOneBigBatch({/*fusion_threshold_bytes=*/2048, /*compress_fp16=*/false}, 1e-6, true);
}

TEST(GradientAllReducer, GradientsResetByTheOptimizerAreCopiedInAndOut) {
  TrainTwoRanksAgainstOneBigBatch({/*fusion_threshold_bytes=*/2048, /*compress_fp16=*/false}, 1e-6, false);
}

TEST(GradientAllReducer, OneBucketPerTensorGivesTheSameResult) {
  TrainTwoRanksAgainstOneBigBatch({/*fusion_threshold_bytes=*/0, /*compress_fp16=*/false}, 1e-6, true);
}

TEST(GradientAllReducer, ChannelsLastWeightsGetChannelsLastGradients) {
  TrainTwoRanksAgainstOneBigBatch({/*fusion_threshold_bytes=*/2048, /*compress_fp16=*/false}, 1e-6, true, true);
  TrainTwoRanksAgainstOneBigBatch({/*fusion_threshold_bytes=*/2048, /*compress_fp16=*/false}, 1e-6, false, true);
}

TEST(GradientAllReducer, Fp16CompressionStaysCloseAndIdenticalAcrossRanks) {
  TrainTwoRanksAgainstOneBigBatch({/*fusion_threshold_bytes=*/int64_t{64} << 20, /*compress_fp16=*/true}, 1e-2, true);
}

}  // namespace
}  // namespace kubecnn::comm
