// A child process for tests that run the built binaries: argv with stdout and stderr to a file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/http_get.h"

namespace kubecnn::testing {

struct ProcessOptions {
  // The child gets SIGKILL when the thread that started it exits, the whole test process dying
  // included (PR_SET_PDEATHSIG): for daemons that must not outlive a crashed or killed test. Start
  // such a child from a thread that lives as long as the child should (the test's main thread).
  bool die_with_parent = false;
};

class Process {
 public:
  // Starts argv[0] (PATH searched) with `env` ("NAME=value") added to the environment.
  Process(const std::vector<std::string>& argv, const std::string& log, const std::vector<std::string>& env = {},
          ProcessOptions options = {});
  ~Process();  // SIGKILL if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // The exit code (128 + signal when killed), or nullopt when still running after `limit`
  // (zero: just look).
  std::optional<int> Wait(std::chrono::milliseconds limit);
  // Sends `signal` unless the process has exited.
  void Signal(int signal);
  // SIGTERM, then SIGKILL when it has not exited after `grace`; returns the exit code.
  int Stop(std::chrono::milliseconds grace);
  // What the process wrote so far ("" before the child has created its log).
  std::string output() const;

 private:
  std::string log_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// GETs http://127.0.0.1:<port><path> every 100 ms until a 200 answer contains `wait_for`, as a
// scraper of a starting server would; nullopt when `process` exits first or `limit` passes.
std::optional<HttpResponse> GetWhileRunning(Process& process, int port, const std::string& path,
                                            const std::string& wait_for, std::chrono::seconds limit);

// What a shell command line did: its exit code (128 + signal when killed) and stdout and stderr
// together, for tests that run a binary to its end.
struct CommandOutcome {
  int exit_code = -1;
  std::string output;
};
CommandOutcome RunCommand(const std::string& command_line);

}  // namespace kubecnn::testing
