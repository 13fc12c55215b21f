// kubecnn-e2e-pod-sandbox SPEC.json: runs one pod's container the way a container runtime would,
// for the end-to-end suite's node agent. The pod gets its network namespace (prepared by the agent),
// its own mount, UTS, IPC and PID namespaces, a root filesystem that is an overlay over the host's
// (or an image's) root with the pod's volumes bind-mounted in, and the container's user, groups,
// environment and argv unchanged. Nothing outside the pod's directory is written.
//
// The container's securityContext is applied as a runtime does: the capability bounding set (the
// runtime's default set, less `drop`, plus `add`), no_new_privs for allowPrivilegeEscalation:
// false, and a seccomp filter for seccompProfile RuntimeDefault.
//
// This process stays outside the pod's PID namespace as its supervisor: SIGTERM is passed on to
// the container's PID 1 (which, as in any container, ignores it unless it handles it), SIGUSR1
// kills the whole pod (SIGKILL to its PID 1 takes every process of the pod with it): the kubelet's
// graceful deletion. The exit status is the container's (its code, or 128 + signal).
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
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

// The capabilities a container runtime (containerd, CRI-O) leaves a container by default.
const std::map<std::string, int>& DefaultCapabilities() {
  static const std::map<std::string, int> caps = {{"CHOWN", CAP_CHOWN},
                                                  {"DAC_OVERRIDE", CAP_DAC_OVERRIDE},
                                                  {"FSETID", CAP_FSETID},
                                                  {"FOWNER", CAP_FOWNER},
                                                  {"MKNOD", CAP_MKNOD},
                                                  {"NET_RAW", CAP_NET_RAW},
                                                  {"SETGID", CAP_SETGID},
                                                  {"SETUID", CAP_SETUID},
                                                  {"SETFCAP", CAP_SETFCAP},
                                                  {"SETPCAP", CAP_SETPCAP},
                                                  {"NET_BIND_SERVICE", CAP_NET_BIND_SERVICE},
                                                  {"SYS_CHROOT", CAP_SYS_CHROOT},
                                                  {"KILL", CAP_KILL},
                                                  {"AUDIT_WRITE", CAP_AUDIT_WRITE}};
  return caps;
}

// Capability numbers by Kubernetes' names (no CAP_ prefix).
int CapabilityNumber(const std::string& name) {
  static const char* const kNames[] = {
      "CHOWN",
      "DAC_OVERRIDE",
      "DAC_READ_SEARCH",
      "FOWNER",
      "FSETID",
      "KILL",
      "SETGID",
      "SETUID",
      "SETPCAP",
      "LINUX_IMMUTABLE",
      "NET_BIND_SERVICE",
      "NET_BROADCAST",
      "NET_ADMIN",
      "NET_RAW",
      "IPC_LOCK",
      "IPC_OWNER",
      "SYS_MODULE",
      "SYS_RAWIO",
      "SYS_CHROOT",
      "SYS_PTRACE",
      "SYS_PACCT",
      "SYS_ADMIN",
      "SYS_BOOT",
      "SYS_NICE",
      "SYS_RESOURCE",
      "SYS_TIME",
      "SYS_TTY_CONFIG",
      "MKNOD",
      "LEASE",
      "AUDIT_WRITE",
      "AUDIT_CONTROL",
      "SETFCAP",
      "MAC_OVERRIDE",
      "MAC_ADMIN",
      "SYSLOG",
      "WAKE_ALARM",
      "BLOCK_SUSPEND",
      "AUDIT_READ",
      "PERFMON",
      "BPF",
      "CHECKPOINT_RESTORE",
  };
  for (int i = 0; i < static_cast<int>(sizeof kNames / sizeof kNames[0]); ++i) {
    if (name == kNames[i]) return i;
  }
  return -1;
}

// Leaves in the bounding set only what the securityContext keeps: the default set less `drop`
// ("ALL": everything) plus `add` (names without the CAP_ prefix, as Kubernetes writes them).
void LimitCapabilities(const json& capabilities) {
  std::set<int> keep;
  const std::vector<std::string> drop = capabilities.value("drop", std::vector<std::string>{});
  const bool drop_all = std::find(drop.begin(), drop.end(), "ALL") != drop.end();
  for (const auto& [name, cap] : DefaultCapabilities()) {
    if (!drop_all && std::find(drop.begin(), drop.end(), name) == drop.end()) keep.insert(cap);
  }
  for (const std::string& name : capabilities.value("add", std::vector<std::string>{})) {
    const int cap = CapabilityNumber(name);
    if (cap >= 0) keep.insert(cap);
  }
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (!keep.count(cap))
      Check(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 || errno == EINVAL, "dropping a capability");
  }
  Check(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 || errno == EINVAL,
        "clearing ambient capabilities");
}

// seccompProfile RuntimeDefault: what the runtimes' default profile refuses (EPERM) to a container
// without extra capabilities — kernel modules, mounts, namespaces, reboot, clock and key
// management, BPF, perf and the like — everything else allowed.
void LoadRuntimeDefaultSeccomp() {
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_ALLOW);
  Check(ctx != nullptr, "seccomp_init");
  // Loaded as root before becoming the container's user: no_new_privs stays the securityContext's.
  ::seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (const char* name : {"acct",
                           "add_key",
                           "bpf",
                           "clock_adjtime",
                           "clock_settime",
                           "create_module",
                           "delete_module",
                           "finit_module",
                           "fsconfig",
                           "fsmount",
                           "fsopen",
                           "fspick",
                           "get_kernel_syms",
                           "init_module",
                           "ioperm",
                           "iopl",
                           "kcmp",
                           "kexec_file_load",
                           "kexec_load",
                           "keyctl",
                           "lookup_dcookie",
                           "mount",
                           "move_mount",
                           "nfsservctl",
                           "open_by_handle_at",
                           "open_tree",
                           "perf_event_open",
                           "pivot_root",
                           "query_module",
                           "quotactl",
                           "reboot",
                           "request_key",
                           "setns",
                           "settimeofday",
                           "stime",
                           "swapoff",
                           "swapon",
                           "sysfs",
                           "_sysctl",
                           "umount",
                           "umount2",
                           "unshare",
                           "uselib",
                           "userfaultfd",
                           "ustat",
                           "vm86",
                           "vm86old"}) {
    const int nr = ::seccomp_syscall_resolve_name(name);
    if (nr != __NR_SCMP_ERROR)
      Check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) == 0, std::string("seccomp rule ") + name);
  }
  Check(::seccomp_load(ctx) == 0, "seccomp_load");
  ::seccomp_release(ctx);
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

  LimitCapabilities(spec.value("capabilities", json::object()));
  if (spec.value("seccomp", "") == "RuntimeDefault") LoadRuntimeDefaultSeccomp();
  std::vector<gid_t> groups;
  for (const json& g : spec.at("groups")) groups.push_back(g.get<gid_t>());
  Check(::setgroups(groups.size(), groups.data()) == 0, "setgroups");
  Check(::setgid(spec.at("gid").get<gid_t>()) == 0, "setgid");
  Check(::setuid(spec.at("uid").get<uid_t>()) == 0, "setuid");
  if (spec.value("no_new_privs", false)) Check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs");

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

void ForwardTerm(int) {
  if (g_child > 0) ::kill(g_child, SIGTERM);
}

void Kill(int) {
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
  forward.sa_handler = ForwardTerm;
  ::sigaction(SIGTERM, &forward, nullptr);
  struct sigaction kill = {};
  kill.sa_handler = Kill;
  ::sigaction(SIGUSR1, &kill, nullptr);
  ::sigaction(SIGINT, &kill, nullptr);
  const pid_t child = ::fork();
  Check(child >= 0, "fork");
  if (child == 0) {
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGUSR1, SIG_DFL);
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
