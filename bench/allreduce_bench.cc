// Gradient all-reduce between MPI ranks (run under mpirun -np 2): kubecnn's fused-bucket path
// for ResNet-50's gradients against one raw MPI_Allreduce of the same bytes in the same run, and
// how much of the all-reduce a real backward hides (step time with and without the sync).
//
// Usage: mpirun -np 2 allreduce_bench [--repeats 10] [--fusion_mb 64] [--model resnet18 --image_size 64 --batch 32]
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "trainer/comm/communicator.h"
#include "trainer/comm/gradient_sync.h"
#include "trainer/comm/placement.h"
#include "trainer/models/model_registry.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace kubecnn;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Args {
  int repeats = 10;
  double fusion_mb = 64;
  std::string model = "resnet18";
  int image_size = 64;
  int batch = 32;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--repeats") a.repeats = std::stoi(v);
    if (k == "--fusion_mb") a.fusion_mb = std::stod(v);
    if (k == "--model") a.model = v;
    if (k == "--image_size") a.image_size = std::stoi(v);
    if (k == "--batch") a.batch = std::stoi(v);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  auto comm = comm::CreateCommunicator(comm::PlacementFromProcessEnvironment(), torch::kCPU, {});
  const bool chief = comm->rank() == 0;
  if (comm->world_size() < 2) {
    std::fprintf(stderr, "allreduce_bench: start it with mpirun -np 2 (or more)\n");
    return 2;
  }
  torch::manual_seed(1);

  // 1. ResNet-50's gradients (25,557,032 floats): our path vs one raw MPI_Allreduce.
  auto resnet50 = models::CreateModel(models::ModelSpec{.name = "resnet50"});
  std::vector<torch::Tensor> params = resnet50->parameters();
  int64_t numel = 0;
  for (auto& p : params) {
    p.mutable_grad() = torch::randn_like(p);
    numel += p.numel();
  }
  comm::GradientSyncOptions sync;
  sync.fusion_threshold_bytes = static_cast<int64_t>(args.fusion_mb * (1 << 20));
  std::vector<double> ours, raw;
  {
    comm::GradientAllReducer reducer(*comm, params, sync);
    torch::Tensor flat = torch::randn({numel});
    for (int r = 0; r < args.repeats + 1; ++r) {  // the first round warms up both
      comm->Barrier();
      auto start = Clock::now();
      for (size_t i = params.size(); i-- > 0;) reducer.OnGradient(i);  // as backward would, last layer first
      reducer.Finish();
      if (r > 0) ours.push_back(Since(start));
      comm->Barrier();
      start = Clock::now();
      MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      flat.div_(comm->world_size());
      if (r > 0) raw.push_back(Since(start));
    }
    if (chief) {
      const double mb = numel * 4.0 / (1 << 20);
      std::printf("resnet50 gradients: %.1f MiB in %zu buckets of <= %.0f MiB, %d ranks, median of %d\n", mb,
                  reducer.num_buckets(), args.fusion_mb, comm->world_size(), args.repeats);
      std::printf("  raw MPI_Allreduce (one buffer): %8.1f ms  %7.0f MiB/s\n", 1e3 * Median(raw), mb / Median(raw));
      std::printf("  kubecnn GradientAllReducer:     %8.1f ms  %7.0f MiB/s\n", 1e3 * Median(ours), mb / Median(ours));
      std::printf("  ratio (raw time / ours, target >= 0.9): %.2f\n", Median(raw) / Median(ours));
    }
  }

  // 2. Overlap: a real training step with and without gradient averaging.
  auto model = models::CreateModel(models::ModelSpec{.name = args.model});
  model->train();
  const torch::Tensor images = torch::randn({args.batch, 3, args.image_size, args.image_size});
  const torch::Tensor labels = torch::randint(0, 1000, {args.batch}, torch::kInt64);
  const auto step = [&](comm::GradientAllReducer* reducer) {
    torch::nn::functional::cross_entropy(model->Forward(images).logits, labels).backward();
    if (reducer) {
      reducer->Finish();
      reducer->ZeroGradients();
    } else {
      for (auto& p : model->parameters()) p.mutable_grad().reset();
    }
  };
  std::vector<double> alone, synced, exposed, in_allreduce;
  for (int r = 0; r < args.repeats + 1; ++r) {
    comm->Barrier();
    auto start = Clock::now();
    step(nullptr);
    if (r > 0) alone.push_back(Since(start));
  }
  {
    comm::GradientAllReducer reducer(*comm, model->parameters(), sync);
    for (int r = 0; r < args.repeats + 1; ++r) {
      comm->Barrier();
      auto start = Clock::now();
      step(&reducer);
      if (r > 0) {
        synced.push_back(Since(start));
        exposed.push_back(reducer.last_step().exposed_seconds);
        in_allreduce.push_back(reducer.last_step().allreduce_seconds);
      }
    }
  }
  if (chief) {
    const double hidden = 1 - Median(exposed) / std::max(Median(in_allreduce), 1e-9);
    std::printf("%s step (batch %d, %dpx, %d threads): alone %.1f ms, with gradient sync %.1f ms (+%.1f%%)\n",
                args.model.c_str(), args.batch, args.image_size, torch::get_num_threads(), 1e3 * Median(alone),
                1e3 * Median(synced), 100 * (Median(synced) / Median(alone) - 1));
    std::printf("  all-reduce %.1f ms per step, %.1f ms of it exposed after backward: %.0f%% hidden\n",
                1e3 * Median(in_allreduce), 1e3 * Median(exposed), 100 * std::max(0.0, hidden));
  }
  return 0;
}
