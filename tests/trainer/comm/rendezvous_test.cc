// The TCP rendezvous of KUBECNN_* runs: rank 0's bytes reach every rank; a rank that never shows
// up is named in rank 0's error within the timeout.
#include "trainer/comm/rendezvous.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "trainer/comm/communicator.h"

namespace kubecnn::comm {
namespace {

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

Placement Rank(int rank, int world, int port) {
  Placement p;
  p.launcher = Launcher::kEnv;
  p.rank = rank;
  p.world_size = world;
  p.master_addr = "localhost";
  p.master_port = port;
  return p;
}

TEST(Rendezvous, EveryRankReceivesRankZerosBytes) {
  const int port = FreePort();
  const std::string id(128, '\x7f');
  std::vector<std::string> got(4);
  std::vector<std::thread> ranks;
  for (int r = 3; r >= 0; --r) {  // the others may start before rank 0 listens: they retry
    ranks.emplace_back([&, r] {
      got[r] = r == 0 ? id : "stale";
      RendezvousBroadcast(Rank(r, 4, port), got[r], std::chrono::seconds(20));
    });
    if (r == 2) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  for (auto& t : ranks) t.join();
  for (const std::string& g : got) EXPECT_EQ(g, id);
}

TEST(Rendezvous, RankZeroNamesTheRanksThatNeverConnected) {
  const int port = FreePort();
  std::string joined;
  std::thread rank1([&] { RendezvousBroadcast(Rank(1, 3, port), joined, std::chrono::seconds(20)); });
  std::string id = "id";
  try {
    RendezvousBroadcast(Rank(0, 3, port), id, std::chrono::seconds(2));
    ADD_FAILURE() << "rank 0 returned although rank 2 never came";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("rank(s) 2 did not connect within 2 s"), std::string::npos) << e.what();
  }
  rank1.join();
  EXPECT_EQ(joined, "id");  // the rank that came was served
}

TEST(Rendezvous, ARankWithoutRankZeroGivesUpWithTheAddress) {
  std::string id;
  try {
    RendezvousBroadcast(Rank(1, 2, FreePort()), id, std::chrono::seconds(1));
    ADD_FAILURE() << "joined a rendezvous nobody serves";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("could not reach rank 0 at localhost:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kubecnn::comm
