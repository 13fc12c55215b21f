// PodNetwork: iproute2 commands on a bridge inside the test's private network namespace.
#include "tests/e2e/pod_network.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kubecnn::e2e {
namespace {

constexpr const char* kBridge = "kubecnn0";
constexpr int kMaxPods = 250;  // one /24

std::string Join(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

std::string EnterPrivateNode() {
  if (::geteuid() != 0) return "needs root (network namespaces, bind mounts, sshd as another user)";
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return std::string("unshare(net, mount): ") + std::strerror(errno);
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("making / private: ") + std::strerror(errno);
  }
  // `ip netns add` keeps its namespaces under /run/netns; a tmpfs keeps them out of the machine's /run.
  ::mkdir("/run", 0755);
  if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") != 0) {
    return std::string("mounting a private /run: ") + std::strerror(errno);
  }
  try {
    RunCommand({"ip", "link", "set", "lo", "up"});
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

std::string RunCommand(const std::vector<std::string>& argv) {
  // Close-on-exec: a pod's sandbox forked by another thread meanwhile must not inherit the write
  // end, or this read would wait for the pod to end (seen: `ip` exited, its reader hung).
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(fds[1]);
  std::string output;
  std::array<char, 4096> buf;
  for (;;) {
    const ssize_t n = ::read(fds[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("`" + Join(argv) + "` failed: " + output);
  }
  return output;
}

PodNetwork::PodNetwork() {
  RunCommand({"ip", "link", "add", kBridge, "type", "bridge"});
  RunCommand({"ip", "addr", "add", std::string(kNodeIp) + "/24", "dev", kBridge});
  RunCommand({"ip", "link", "set", kBridge, "up"});
}

PodNetwork::~PodNetwork() {
  std::vector<PodEndpoint> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left = endpoints_;
  }
  for (const PodEndpoint& e : left) Remove(e);
  try {
    RunCommand({"ip", "link", "del", kBridge});
  } catch (const std::exception&) {
    // the namespace goes away with the test process anyway
  }
}

PodEndpoint PodNetwork::Add() {
  int n = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_ > kMaxPods)
      throw std::runtime_error("the test node's pod network is full (" + std::to_string(kMaxPods) + " pods)");
    n = next_++;
  }
  const std::string ns = "kubecnn-pod-" + std::to_string(n);
  PodEndpoint e{"10.244.0." + std::to_string(n), "/run/netns/" + ns, "kveth" + std::to_string(n)};
  RunCommand({"ip", "netns", "add", ns});
  RunCommand({"ip", "link", "add", e.host_veth, "type", "veth", "peer", "name", "eth0", "netns", ns});
  RunCommand({"ip", "link", "set", e.host_veth, "master", kBridge, "up"});
  RunCommand({"ip", "-n", ns, "addr", "add", e.ip + "/24", "dev", "eth0"});
  RunCommand({"ip", "-n", ns, "link", "set", "eth0", "up"});
  RunCommand({"ip", "-n", ns, "link", "set", "lo", "up"});
  RunCommand({"ip", "-n", ns, "route", "add", "default", "via", kNodeIp});
  std::lock_guard<std::mutex> lock(mu_);
  endpoints_.push_back(e);
  return e;
}

void PodNetwork::Remove(const PodEndpoint& endpoint) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(endpoints_.begin(), endpoints_.end(),
                           [&](const PodEndpoint& e) { return e.netns_path == endpoint.netns_path; });
    if (it == endpoints_.end()) return;
    endpoints_.erase(it);
  }
  const std::string ns = endpoint.netns_path.substr(endpoint.netns_path.rfind('/') + 1);
  try {
    RunCommand({"ip", "netns", "del", ns});  // takes eth0 and so its peer with it
  } catch (const std::exception&) {
    // already gone
  }
}

}  // namespace kubecnn::e2e
