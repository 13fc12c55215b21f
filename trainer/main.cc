// kubecnn-trainer: the trainer binary; everything it does lives behind cli::RunCommandLine.
#include <string>
#include <vector>

#include "trainer/cli/commands.h"

int main(int argc, char** argv) {
  return kubecnn::cli::RunCommandLine(std::vector<std::string>(argv + 1, argv + argc));
}
