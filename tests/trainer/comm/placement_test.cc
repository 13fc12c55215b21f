// Placement: OpenMPI's variables, the KUBECNN_* fallback, and refusals that say what is wrong.
#include "trainer/comm/placement.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

namespace kubecnn::comm {
namespace {

Placement From(const std::map<std::string, std::string>& env) {
  return PlacementFromEnvironment([&](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

std::string RefusalOf(const std::map<std::string, std::string>& env) {
  try {
    From(env);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Placement, NoLauncherIsRankZeroOfOne) {
  const Placement p = From({});
  EXPECT_EQ(p.launcher, Launcher::kNone);
  EXPECT_EQ(p.rank, 0);
  EXPECT_EQ(p.world_size, 1);
  EXPECT_EQ(p.local_rank, 0);
}

TEST(Placement, OpenMpiVariablesGiveRankWorldAndLocalRank) {
  const Placement p = From({{"OMPI_COMM_WORLD_SIZE", "16"},
                            {"OMPI_COMM_WORLD_RANK", "11"},
                            {"OMPI_COMM_WORLD_LOCAL_RANK", "3"},
                            {"OMPI_COMM_WORLD_LOCAL_SIZE", "8"},
                            {"KUBECNN_RANK", "0"}});  // OpenMPI wins
  EXPECT_EQ(p.launcher, Launcher::kMpi);
  EXPECT_EQ(p.rank, 11);
  EXPECT_EQ(p.world_size, 16);
  EXPECT_EQ(p.local_rank, 3);
  EXPECT_EQ(p.local_world_size, 8);
}

TEST(Placement, KubecnnVariablesWorkWithoutMpirun) {
  const Placement p = From({{"KUBECNN_WORLD_SIZE", "4"},
                            {"KUBECNN_RANK", "2"},
                            {"KUBECNN_LOCAL_RANK", "0"},
                            {"KUBECNN_MASTER_ADDR", "job-worker-0.job"}});
  EXPECT_EQ(p.launcher, Launcher::kEnv);
  EXPECT_EQ(p.rank, 2);
  EXPECT_EQ(p.world_size, 4);
  EXPECT_EQ(p.master_addr, "job-worker-0.job");
  EXPECT_EQ(p.master_port, 29500);
}

TEST(Placement, RefusalsNameTheVariable) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"OMPI_COMM_WORLD_SIZE", "2"}}, "OMPI_COMM_WORLD_RANK is not set"},
      {{{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "2"}}, "rank 2 is not below the world size 2"},
      {{{"OMPI_COMM_WORLD_SIZE", "two"}}, "OMPI_COMM_WORLD_SIZE=two is not an integer >= 1"},
      {{{"KUBECNN_RANK", "1"}}, "KUBECNN_WORLD_SIZE is not set"},
      {{{"KUBECNN_RANK", "1"}, {"KUBECNN_WORLD_SIZE", "2"}}, "needs KUBECNN_MASTER_ADDR"},
      {{{"KUBECNN_RANK", "-1"}, {"KUBECNN_WORLD_SIZE", "2"}}, "KUBECNN_RANK=-1 is not an integer >= 0"},
      {{{"KUBECNN_RANK", "0"}, {"KUBECNN_WORLD_SIZE", "1"}, {"KUBECNN_MASTER_PORT", "70000"}}, "not a TCP port"},
      {{{"KUBECNN_RANK", "0"},
        {"KUBECNN_WORLD_SIZE", "1"},
        {"KUBECNN_LOCAL_RANK", "1"},
        {"KUBECNN_LOCAL_WORLD_SIZE", "1"}},
       "local rank 1 is not below the local world size 1"},
  };
  for (const Case& c : cases) {
    const std::string refusal = RefusalOf(c.env);
    EXPECT_NE(refusal.find(c.says), std::string::npos) << "got: '" << refusal << "', wanted: " << c.says;
  }
}

}  // namespace
}  // namespace kubecnn::comm
