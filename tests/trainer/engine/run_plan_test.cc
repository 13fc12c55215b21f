// The run plan as a table: steps, epochs, schedule, optimizer and loss-scale options, and every
// configuration or resume the trainer refuses before its first step.
#include "trainer/engine/run_plan.h"

#include <gtest/gtest.h>

#include <functional>

namespace kubecnn::engine {
namespace {

TrainConfig Config(const std::string& model = "resnet50", int64_t batch = 32, int world = 4) {
  TrainConfig c;
  c.model = model;
  c.data.batch_size = batch;
  c.placement.world_size = world;
  c.data.transform.output_size = 0;  // as the CLI leaves it without --image_size: the model's size
  return c;
}

ResumePoint Resume(const RunPlan& plan, int64_t step) {
  ResumePoint r;
  r.path = "/logs/model.ckpt-" + std::to_string(step) + ".pt";
  r.config = plan.run;
  r.step = step;
  r.loss_scale = optim::LossScalerState{1.0, 0, 0};
  return r;
}

TEST(RunPlan, EpochsBecomeWholeGlobalBatchesAndTheEpochOfAStepFollows) {
  TrainConfig c = Config("resnet50", 10, 4);  // global batch 40
  c.num_epochs = 3;
  const RunPlan plan = PlanRun(c, 1000, std::nullopt);
  EXPECT_EQ(plan.global_batch, 40);
  EXPECT_EQ(plan.steps_per_epoch, 25);
  EXPECT_EQ(plan.total_steps, 75);
  EXPECT_EQ(plan.first_step, 0);
  EXPECT_EQ(plan.run, (checkpoint::RunConfig{"resnet50", 1000, 224, 4, 10}));
  EXPECT_EQ(EpochAt(plan, 0), 0);
  EXPECT_EQ(EpochAt(plan, 24), 0);
  EXPECT_EQ(EpochAt(plan, 25), 1);
  EXPECT_EQ(EpochAt(plan, 74), 2);
  EXPECT_EQ(EpochAt(plan, 75), 3);  // after the last step: the next sample's epoch
}

TEST(RunPlan, EpochsOfARaggedDatasetDropTheLastPartialBatch) {
  TrainConfig c = Config("resnet18", 7, 3);  // global batch 21
  c.num_epochs = 2;
  const RunPlan plan = PlanRun(c, 100, std::nullopt);
  EXPECT_EQ(plan.steps_per_epoch, 4);  // 100 / 21
  EXPECT_EQ(plan.total_steps, 9);      // 200 / 21: the epochs' samples, not 2 x 4 steps
  EXPECT_EQ(EpochAt(plan, 4), 0);      // step 4 starts at sample 84 < 100
  EXPECT_EQ(EpochAt(plan, 5), 1);
}

TEST(RunPlan, NumBatchesOnSyntheticDataHasNoEpochs) {
  TrainConfig c = Config();
  c.num_batches = 17;
  c.num_epochs = 0;
  const RunPlan plan = PlanRun(c, 0, std::nullopt);
  EXPECT_EQ(plan.total_steps, 17);
  EXPECT_EQ(plan.steps_per_epoch, 0);
  EXPECT_EQ(EpochAt(plan, 16), 0);
}

TEST(RunPlan, ScheduleIsCompletedFromTheRunAndNvcnnDefaults) {
  TrainConfig c = Config("resnet50", 64, 4);  // global 256: nvcnn's resnet lr is 1.0 * 256 / 1024
  c.num_epochs = 2;
  c.lr_schedule = optim::ParseLrSchedule("step_epochs:1;warmup_steps=10");
  RunPlan plan = PlanRun(c, 25600, std::nullopt);
  EXPECT_DOUBLE_EQ(plan.schedule.base_lr, 0.25);
  EXPECT_EQ(plan.schedule.total_steps, 200);
  EXPECT_EQ(plan.schedule.steps_per_epoch, 100);
  EXPECT_EQ(optim::BoundarySteps(plan.schedule), std::vector<int64_t>{100});
  EXPECT_DOUBLE_EQ(optim::LearningRate(plan.schedule, 150), 0.025);

  c.learning_rate = 0.1;
  c.lr_scaling_reference_batch = 128;
  plan = PlanRun(c, 25600, std::nullopt);
  EXPECT_DOUBLE_EQ(optim::ScaledBaseLr(plan.schedule), 0.2);
}

TEST(RunPlan, OptimizerAndAuxiliaryLossesFollowTheFlags) {
  TrainConfig c = Config("inception3");
  c.momentum = 0;
  c.weight_decay_exclude_bn_bias = true;
  c.aux_logits = true;
  const RunPlan plan = PlanRun(c, 0, std::nullopt);
  EXPECT_FALSE(plan.optimizer.nesterov);  // Nesterov without momentum is plain SGD
  EXPECT_TRUE(plan.optimizer.groups.weight_decay_exclude_bn_bias);
  EXPECT_EQ(plan.run.image_size, 299);
  EXPECT_EQ(plan.aux_loss_weights, std::vector<double>{0.4});
  c.aux_logits = false;
  EXPECT_TRUE(PlanRun(c, 0, std::nullopt).aux_loss_weights.empty());
}

TEST(RunPlan, ResumeStartsAtTheCheckpointsStepAndLossScale) {
  TrainConfig c = Config();
  c.num_batches = 100;
  c.loss_scale = optim::DynamicLossScale(1024);
  const RunPlan fresh = PlanRun(c, 0, std::nullopt);
  EXPECT_EQ(fresh.loss_scale_state, (optim::LossScalerState{1024, 0, 0}));
  ResumePoint r = Resume(fresh, 40);
  r.loss_scale = optim::LossScalerState{256, 7, 3};
  const RunPlan resumed = PlanRun(c, 0, r);
  EXPECT_EQ(resumed.first_step, 40);
  EXPECT_EQ(resumed.loss_scale_state, (optim::LossScalerState{256, 7, 3}));
}

TEST(RunPlan, ResumePointReadsTheScalerOnlyWhenAllItsScalarsAreThere) {
  checkpoint::Checkpoint saved;
  saved.step = 9;
  saved.scalars = {{"loss_scale", 8}, {"loss_scale_good_steps", 2}, {"skipped_steps", 1}};
  EXPECT_EQ(ResumePointOf("a.pt", saved).loss_scale, (optim::LossScalerState{8, 2, 1}));
  saved.scalars.erase("loss_scale_good_steps");
  EXPECT_FALSE(ResumePointOf("a.pt", saved).loss_scale.has_value());
  EXPECT_EQ(ResumePointOf("a.pt", saved).missing_scalars, "loss_scale_good_steps");
}

struct Refusal {
  const char* name;
  std::function<void(TrainConfig&)> change;
  int64_t records;
  std::function<void(ResumePoint&)> resume;  // null: a fresh start
  const char* says;
  bool checkpoint_error = false;
};

TEST(RunPlan, RefusesWhatTheRunCannotDoBeforeItsFirstStep) {
  const auto base_plan = PlanRun(Config(), 0, std::nullopt);
  const std::vector<Refusal> table = {
      {"epochs on synthetic data", [](TrainConfig& c) { c.num_epochs = 1; }, 0, nullptr,
       "synthetic data has no epochs"},
      {"batch above the dataset", [](TrainConfig&) {}, 100, nullptr, "larger than the 100 training records"},
      {"epochs shorter than a batch",
       [](TrainConfig& c) {
         c.data.batch_size = 1;
         c.num_epochs = 1;
       },
       3, nullptr, "larger than the 3 training records"},
      {"unknown model", [](TrainConfig& c) { c.model = "resnet51"; }, 0, nullptr, "unknown --model=resnet51"},
      {"aux heads on a resnet", [](TrainConfig& c) { c.aux_logits = true; }, 0, nullptr, "no auxiliary heads"},
      {"warm-up longer than the run",
       [](TrainConfig& c) {
         c.num_batches = 10;
         c.lr_schedule = optim::ParseLrSchedule("poly;warmup_steps=10");
       },
       0, nullptr, "--lr_schedule="},
      {"epoch boundaries on synthetic data",
       [](TrainConfig& c) { c.lr_schedule = optim::ParseLrSchedule("step_epochs:30,60"); }, 0, nullptr,
       "--lr_schedule="},
      {"dynamic scale below its floor", [](TrainConfig& c) { c.loss_scale = optim::DynamicLossScale(0.5); }, 0, nullptr,
       "--loss_scale"},
      {"resume of another model", [](TrainConfig&) {}, 0, [](ResumePoint& r) { r.config.model = "resnet18"; },
       "cannot resume from /logs/model.ckpt-5.pt"},
      {"resume at another world size", [](TrainConfig&) {}, 0, [](ResumePoint& r) { r.config.world_size = 8; },
       "cannot resume"},
      {"resume with an impossible scale", [](TrainConfig&) {}, 0,
       [](ResumePoint& r) {
         r.loss_scale = optim::LossScalerState{0, 0, 0};
       },
       "with this --loss_scale"},
      {"resume without scaler state", [](TrainConfig&) {}, 0,
       [](ResumePoint& r) {
         r.loss_scale.reset();
         r.missing_scalars = "skipped_steps";
       },
       "missing scalars: skipped_steps", true},
  };
  for (const Refusal& row : table) {
    SCOPED_TRACE(row.name);
    TrainConfig c = Config();
    row.change(c);
    std::optional<ResumePoint> resume;
    if (row.resume) {
      resume = Resume(base_plan, 5);
      row.resume(*resume);
    }
    try {
      PlanRun(c, row.records, resume);
      ADD_FAILURE() << "accepted";
    } catch (const PermanentError& e) {
      EXPECT_NE(std::string(e.what()).find(row.says), std::string::npos) << e.what();
      EXPECT_EQ(dynamic_cast<const checkpoint::CheckpointError*>(&e) != nullptr, row.checkpoint_error) << e.what();
    }
  }
}

}  // namespace
}  // namespace kubecnn::engine
