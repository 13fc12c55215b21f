// Process: fork + exec with the output redirected; waiting without blocking past a limit.
#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "tests/support/test_files.h"

namespace kubecnn::testing {

Process::Process(const std::vector<std::string>& argv, const std::string& log, const std::vector<std::string>& env,
                 ProcessOptions options)
    : log_(log) {
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    // A parent gone before prctl took effect would never send the signal: check after setting it.
    if (options.die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)) _exit(125);
    // No stdio in the child: freopen(stdout) would first flush what the test had printed but not
    // yet written into the test's own output (printing it twice), and a stdio lock held by another
    // thread at fork() would never be released here.
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    if (out > STDERR_FILENO) close(out);
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::optional<int> Process::Wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!exit_code_) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else if (std::chrono::steady_clock::now() >= deadline) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return exit_code_;
}

void Process::Signal(int signal) {
  if (pid_ > 0 && !exit_code_) kill(pid_, signal);
}

int Process::Stop(std::chrono::milliseconds grace) {
  Signal(SIGTERM);
  if (std::optional<int> code = Wait(grace)) return *code;
  Signal(SIGKILL);
  return Wait(std::chrono::hours(1)).value_or(-1);
}

std::string Process::output() const { return std::filesystem::exists(log_) ? ReadFile(log_) : std::string(); }

std::optional<HttpResponse> GetWhileRunning(Process& process, int port, const std::string& path,
                                            const std::string& wait_for, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline && !process.Wait(std::chrono::milliseconds(0))) {
    try {
      HttpResponse r = HttpGet(port, path);
      if (r.status == 200 && r.body.find(wait_for) != std::string::npos) return r;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

CommandOutcome RunCommand(const std::string& command_line) {
  CommandOutcome out;
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char chunk[4096];
  while (size_t n = fread(chunk, 1, sizeof chunk, pipe)) out.output.append(chunk, n);
  const int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

}  // namespace kubecnn::testing
