// kubectl-kubecnn: the kubectl plugin (`kubectl kubecnn ...`, or run on its own) that runs training
// command lines on the cluster as TrainingJobs and follows them.
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "operator/plugin/commands.h"

namespace {

// Ctrl-C during a redrawn line: end the line first, so the shell's prompt starts on its own.
void OnInterrupt(int) {
  const char newline = '\n';
  (void)!::write(STDOUT_FILENO, &newline, 1);
  ::_exit(130);
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(true);
  kubecnn::plugin::Terminal terminal{std::cout, std::cerr};
  terminal.tty = ::isatty(STDOUT_FILENO) == 1;
  if (terminal.tty) {
    struct winsize size {};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0) terminal.width = size.ws_col;
    ::signal(SIGINT, OnInterrupt);
  }
  ::signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> args(argv + 1, argv + argc);
  return kubecnn::plugin::Main(args, terminal);
}
