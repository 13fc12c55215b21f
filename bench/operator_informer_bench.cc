// operator_informer_bench: an informer lists and watches 10,000 pods from the fake API server.
// Prints seconds to sync, watch events applied per second, and this process's RSS. The fake
// server runs in a forked child, so the RSS is the client's (cache + libcurl) alone.
//   operator_informer_bench [pods=10000] [updates=10000]
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "operator/kube/informer.h"
#include "tests/support/fake_apiserver.h"

namespace {

using nlohmann::json;

json Pod(int i) {
  const std::string name = "worker-" + std::to_string(i);
  return {{"metadata",
           {{"name", name},
            {"labels", {{"kubecnn.io/job", "job-" + std::to_string(i / 16)}, {"kubecnn.io/role", "worker"}}},
            {"annotations", {{"kubecnn.io/index", std::to_string(i % 16)}}}}},
          {"spec",
           {{"containers",
             {{{"name", "trainer"},
               {"image", "ghcr.io/kubecnn/trainer:0.1"},
               {"command", {"/usr/sbin/sshd", "-D", "-e"}},
               {"resources", {{"limits", {{"nvidia.com/gpu", "8"}, {"memory", "512Gi"}}}}},
               {"volumeMounts", {{{"name", "data"}, {"mountPath", "/data"}}}}}}},
            {"volumes", {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "imagenet"}}}}}},
            {"restartPolicy", "Never"}}}};
}

long RssKiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "operator_informer_bench: %s\n", what);
    std::exit(1);
  }
}

// The child: serve `pods` pods; on a byte from `go`, update each pod `updates` times in a round.
[[noreturn]] void ServeFixture(int pods, int updates, int port_out, int go_in) {
  kubecnn::testing::FakeApiServer server;
  const kubecnn::testing::ApiKind& kind = *kubecnn::testing::FindKind("", "v1", "pods");
  for (int i = 0; i < pods; ++i) server.store().Create(kind, "bench", Pod(i));
  const int port = server.port();
  Check(::write(port_out, &port, sizeof port) == sizeof port, "cannot report the port");
  char c;
  if (::read(go_in, &c, 1) == 1) {
    for (int u = 0; u < updates; ++u) {
      const std::string name = "worker-" + std::to_string(u % pods);
      json pod = server.store().Get(kind, "bench", name);
      pod["metadata"]["annotations"]["kubecnn.io/step"] = std::to_string(u);
      server.store().Update(kind, "bench", name, pod, false);
    }
    ::read(go_in, &c, 1);  // until the parent is done
  }
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  const int pods = argc > 1 ? std::stoi(argv[1]) : 10000;
  const int updates = argc > 2 ? std::stoi(argv[2]) : 10000;
  int port_pipe[2], go_pipe[2];
  Check(::pipe(port_pipe) == 0 && ::pipe(go_pipe) == 0, "pipe failed");
  const auto setup_start = std::chrono::steady_clock::now();
  const pid_t child = ::fork();
  Check(child >= 0, "fork failed");
  if (child == 0) ServeFixture(pods, updates, port_pipe[1], go_pipe[0]);
  int port = 0;
  Check(::read(port_pipe[0], &port, sizeof port) == sizeof port, "the fixture did not start");
  const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count();
  const long rss_before = RssKiB();

  kubecnn::kube::RestConfig rc;
  rc.server = "http://127.0.0.1:" + std::to_string(port);
  rc.qps = 0;
  rc.timeout = std::chrono::seconds(60);
  kubecnn::kube::Client client(rc);
  kubecnn::kube::InformerOptions options;
  options.reflector.ns = "bench";
  options.reflector.page_size = 500;
  kubecnn::kube::Informer informer(client, kubecnn::kube::resources::kPods, options);
  std::atomic<int> updated{0};
  informer.AddHandlers({nullptr, [&](const json&, const json&) { ++updated; }, nullptr});

  const auto start = std::chrono::steady_clock::now();
  informer.Start();
  Check(informer.WaitForSync(std::chrono::minutes(5)), "the informer did not sync within 5 minutes");
  const double sync_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Check(informer.store().Size() == static_cast<size_t>(pods), "the cache does not hold every pod");
  const long rss_synced = RssKiB();

  const auto watch_start = std::chrono::steady_clock::now();
  Check(::write(go_pipe[1], "g", 1) == 1, "cannot start the updates");
  while (updated < updates) {
    Check(std::chrono::steady_clock::now() - watch_start < std::chrono::minutes(5), "updates did not arrive");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double watch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - watch_start).count();
  informer.Stop();
  ::write(go_pipe[1], "q", 1);
  ::waitpid(child, nullptr, 0);

  std::printf("fixture: %d pods created in a child process in %.2f s\n", pods, setup_s);
  std::printf("list+watch sync: %d pods in %.3f s (%.0f objects/s, pages of %lld)\n", pods, sync_s, pods / sync_s,
              static_cast<long long>(options.reflector.page_size));
  std::printf("watch: %d MODIFIED events applied in %.3f s (%.0f events/s, includes the server producing them)\n",
              updates, watch_s, updates / watch_s);
  std::printf("rss: %.1f MiB before the informer, %.1f MiB synced, %.1f MiB after the updates (%.2f KiB/pod)\n",
              rss_before / 1024.0, rss_synced / 1024.0, RssKiB() / 1024.0,
              static_cast<double>(rss_synced - rss_before) / pods);
  return 0;
}
