// main of the end-to-end suite: enters a private network and mount namespace (the test node)
// before GoogleTest starts any thread, so every pod, the operator and the API-server fixture live
// on a network of their own and nothing touches the machine's interfaces or its /run.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/e2e_cluster.h"
#include "tests/e2e/pod_network.h"

namespace kubecnn::e2e {
namespace {
std::string g_unavailable = "not initialised";
}
const std::string& NodeUnavailableReason() { return g_unavailable; }
}  // namespace kubecnn::e2e

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing |= std::string(argv[i]) == "--gtest_list_tests";
  if (!listing) kubecnn::e2e::g_unavailable = kubecnn::e2e::EnterPrivateNode();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
