// Command-line flags in nvcnn/absl style for both binaries: --name=value, --name value, --flag, --noflag.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kubecnn {

// Bad command line: main prints it with a pointer to --help and exits with code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FlagSet {
 public:
  explicit FlagSet(std::string usage_line) : usage_line_(std::move(usage_line)) {}

  void Add(const std::string& name, bool* value, const std::string& help);
  void Add(const std::string& name, int* value, const std::string& help);
  void Add(const std::string& name, int64_t* value, const std::string& help);
  void Add(const std::string& name, uint64_t* value, const std::string& help);
  void Add(const std::string& name, double* value, const std::string& help);
  void Add(const std::string& name, std::string* value, const std::string& help);

  // Parses `args` (without the program name), storing values; returns the positional arguments.
  // "--" ends the flags. Throws UsageError for an unknown flag (naming the closest known one),
  // a missing or malformed value. Sets help_requested() on --help / -h.
  std::vector<std::string> Parse(const std::vector<std::string>& args);

  bool WasSet(const std::string& name) const;
  // Each flag Parse assigned, in command-line order: its name and value text ("true"/"false" for a
  // bare --flag / --noflag), so a tool can pass on exactly what was given.
  const std::vector<std::pair<std::string, std::string>>& assignments() const { return assignments_; }
  bool help_requested() const { return help_requested_; }
  std::string Usage() const;  // the usage line and every flag with its default and help

 private:
  using Target = std::variant<bool*, int*, int64_t*, uint64_t*, double*, std::string*>;
  struct Flag {
    std::string name;
    Target target;
    std::string help;
    std::string default_text;
    bool set = false;
  };
  Flag* Find(const std::string& name);
  void Assign(Flag& flag, const std::string& text);
  void Register(const std::string& name, Target target, const std::string& help, std::string default_text);

  std::string usage_line_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
  std::vector<std::pair<std::string, std::string>> assignments_;
};

}  // namespace kubecnn
