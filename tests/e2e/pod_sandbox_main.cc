// kubecnn-e2e-pod-sandbox SPEC.json: runs one pod's container the way a container runtime would,
// for the end-to-end suite's node agent. The pod gets its network namespace (prepared by the agent),
// its own mount, UTS, IPC and PID namespaces, a root filesystem that is an overlay over the host's
// (or an image's) root with the pod's volumes bind-mounted in, and the container's user, groups,
// environment and argv unchanged. Nothing outside the pod's directory is written.
//
// This process stays outside the pod's PID namespace as its supervisor: SIGTERM kills the whole
// pod (SIGKILL to its PID 1 takes every process of the pod with it), and the exit status is the
// container's (its code, or 128 + signal).
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_stop = 0;  // SIGTERM came before the pod's first process existed

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "kubecnn-e2e-pod-sandbox: %s: %s\n", what.c_str(), std::strerror(errno));
  std::fflush(stderr);
  _exit(125);  // as container runtimes report a failed start
}

void Check(bool ok, const std::string& what) {
  if (!ok) Die(what);
}

void Mount(const std::string& source, const std::string& target, const char* type, unsigned long flags,
           const std::string& data = "") {
  Check(::mount(source.c_str(), target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) == 0,
        "mount " + source + " on " + target);
}

// A mount point for `source` inside the new root: a directory, or an empty file for a file.
void MakeMountPoint(const std::string& target, bool file) {
  std::error_code ec;
  if (file) {
    fs::create_directories(fs::path(target).parent_path(), ec);
    if (!fs::exists(target)) std::ofstream(target).close();
  } else {
    fs::create_directories(target, ec);
  }
  Check(fs::exists(target), "creating mount point " + target);
}

void BindMount(const std::string& source, const std::string& target, bool read_only) {
  MakeMountPoint(target, !fs::is_directory(source));
  Mount(source, target, nullptr, MS_BIND | MS_REC);
  if (read_only) Mount("none", target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC);
}

// /dev as a container sees it: a tmpfs with the harmless device nodes bound from the host.
void MountDev(const std::string& root) {
  const std::string dev = root + "/dev";
  MakeMountPoint(dev, false);
  Mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k");
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    BindMount(std::string("/dev/") + node, dev + "/" + node, false);
  }
  MakeMountPoint(dev + "/shm", false);
  MakeMountPoint(dev + "/pts", false);
  Check(::symlink("/proc/self/fd", (dev + "/fd").c_str()) == 0, "symlink /dev/fd");
  Check(::symlink("/proc/self/fd/0", (dev + "/stdin").c_str()) == 0, "symlink /dev/stdin");
  Check(::symlink("/proc/self/fd/1", (dev + "/stdout").c_str()) == 0, "symlink /dev/stdout");
  Check(::symlink("/proc/self/fd/2", (dev + "/stderr").c_str()) == 0, "symlink /dev/stderr");
}

// Runs as PID 1 of the pod: builds the root, becomes the container's user, execs its argv.
[[noreturn]] void RunContainer(const json& spec) {
  const std::string pod_dir = spec.at("pod_dir");
  const std::string root = pod_dir + "/rootfs";
  MakeMountPoint(root, false);
  MakeMountPoint(pod_dir + "/upper", false);
  MakeMountPoint(pod_dir + "/work", false);
  Mount("overlay", root, "overlay", 0,
        "lowerdir=" + spec.at("lower_root").get<std::string>() + ",upperdir=" + pod_dir + "/upper,workdir=" + pod_dir +
            "/work");
  MakeMountPoint(root + "/proc", false);
  Mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
  MakeMountPoint(root + "/sys", false);
  Mount("/sys", root + "/sys", nullptr, MS_BIND | MS_REC);
  MountDev(root);
  MakeMountPoint(root + "/tmp", false);
  Mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  for (const json& m : spec.at("mounts")) {
    BindMount(m.at("source"), root + m.at("target").get<std::string>(), m.value("read_only", false));
  }
  if (spec.value("read_only_root", false)) {  // securityContext.readOnlyRootFilesystem
    Mount("none", root, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY);
  }
  Check(::chdir(root.c_str()) == 0 && ::chroot(".") == 0, "chroot " + root);
  const std::string workdir = spec.value("working_dir", "/");
  Check(::chdir(workdir.c_str()) == 0, "chdir " + workdir);
  const std::string hostname = spec.at("hostname");
  Check(::sethostname(hostname.c_str(), hostname.size()) == 0, "sethostname " + hostname);

  std::vector<gid_t> groups;
  for (const json& g : spec.at("groups")) groups.push_back(g.get<gid_t>());
  Check(::setgroups(groups.size(), groups.data()) == 0, "setgroups");
  Check(::setgid(spec.at("gid").get<gid_t>()) == 0, "setgid");
  Check(::setuid(spec.at("uid").get<uid_t>()) == 0, "setuid");

  std::vector<std::string> env = spec.at("env").get<std::vector<std::string>>();
  std::vector<std::string> args = spec.at("argv").get<std::vector<std::string>>();
  std::vector<char*> envp, argv;
  for (std::string& e : env) envp.push_back(e.data());
  for (std::string& a : args) argv.push_back(a.data());
  envp.push_back(nullptr);
  argv.push_back(nullptr);
  ::clearenv();
  for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
  ::execvpe(argv[0], argv.data(), envp.data());
  std::fprintf(stderr, "kubecnn-e2e-pod-sandbox: exec %s: %s\n", argv[0], std::strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

void ForwardKill(int) {
  g_stop = 1;
  if (g_child > 0) ::kill(g_child, SIGKILL);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kubecnn-e2e-pod-sandbox SPEC.json (written by the e2e node agent)\n");
    return 2;
  }
  json spec;
  try {
    std::ifstream in(argv[1]);
    spec = json::parse(in);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kubecnn-e2e-pod-sandbox: reading %s: %s\n", argv[1], e.what());
    return 2;
  }
  const std::string log = spec.at("log");
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  Check(log_fd >= 0, "opening " + log);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  Check(::dup2(null_fd, STDIN_FILENO) >= 0 && ::dup2(log_fd, STDOUT_FILENO) >= 0 && ::dup2(log_fd, STDERR_FILENO) >= 0,
        "redirecting output to " + log);

  const std::string netns = spec.value("netns", "");  // "": the node's network (hostNetwork)
  if (!netns.empty()) {
    const int ns_fd = ::open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    Check(ns_fd >= 0 && ::setns(ns_fd, CLONE_NEWNET) == 0, "joining network namespace " + netns);
    ::close(ns_fd);
  }
  Check(::unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) == 0, "unshare");
  Mount("none", "/", nullptr, MS_REC | MS_PRIVATE);

  struct sigaction forward = {};
  forward.sa_handler = ForwardKill;
  ::sigaction(SIGTERM, &forward, nullptr);
  ::sigaction(SIGINT, &forward, nullptr);
  const pid_t child = ::fork();
  Check(child >= 0, "fork");
  if (child == 0) {
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    RunContainer(spec);
  }
  g_child = child;
  if (g_stop) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) Die("waitpid");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}
