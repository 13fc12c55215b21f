// kubectl-kubecnn's commands. Each parses its flags (its own and kubectl's connection flags), talks
// to the API server through a Session and returns the exit code; errors are thrown and become one
// line and exit 1 in Main, as kubectl does.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "operator/plugin/session.h"
#include "trainer/common/flags.h"

namespace kubecnn::plugin {

struct CommandHelp {
  const char* name;
  const char* summary;                                       // one line, for the command list
  const char* description;                                   // what it does, in a paragraph
  const char* examples;                                      // kubectl's "Examples:" block, lines indented by two
  std::vector<std::pair<std::string, std::string>> options;  // "--workers=N", what it does
  const char* usage;                                         // "kubectl kubecnn run NAME [options] -- COMMAND LINE"
};

// kubectl's help layout: description, Examples, Options, Usage, and where the connection flags are.
std::string HelpText(const CommandHelp& help);

// Parses `args` with `flags` (the command's own) plus the connection flags into `globals`; prints
// the help and returns false on --help. Throws UsageError naming the command's help.
bool ParseCommand(const CommandHelp& help, FlagSet& flags, GlobalFlags& globals, const std::vector<std::string>& args,
                  Terminal& terminal, std::vector<std::string>& positional);

// Exactly one NAME among the positional arguments; throws UsageError otherwise.
std::string OneName(const CommandHelp& help, const std::vector<std::string>& positional);

int RunCommand(const std::vector<std::string>& args, Terminal& terminal);
int WatchCommand(const std::vector<std::string>& args, Terminal& terminal);
int ListCommand(const std::vector<std::string>& args, Terminal& terminal);
int LogsCommand(const std::vector<std::string>& args, Terminal& terminal);
int DescribeCommand(const std::vector<std::string>& args, Terminal& terminal);
int EvalCommand(const std::vector<std::string>& args, Terminal& terminal);

const CommandHelp& RunHelp();
const CommandHelp& WatchHelp();
const CommandHelp& ListHelp();
const CommandHelp& LogsHelp();
const CommandHelp& DescribeHelp();
const CommandHelp& EvalHelp();

// The whole program: `args` without the program name. Prints errors as one line on terminal.err.
int Main(const std::vector<std::string>& args, Terminal& terminal);

}  // namespace kubecnn::plugin
