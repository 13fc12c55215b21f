// Flag parsing with typed targets, value checks and "did you mean" for unknown names.
#include "trainer/common/flags.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

namespace kubecnn {
namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

template <typename T>
bool ParseNumber(const std::string& text, T* out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

std::string FormatDouble(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

void FlagSet::Register(const std::string& name, Target target, const std::string& help, std::string default_text) {
  flags_.push_back({name, target, help, std::move(default_text), false});
}

void FlagSet::Add(const std::string& name, bool* v, const std::string& help) {
  Register(name, v, help, *v ? "true" : "false");
}
void FlagSet::Add(const std::string& name, int* v, const std::string& help) {
  Register(name, v, help, std::to_string(*v));
}
void FlagSet::Add(const std::string& name, int64_t* v, const std::string& help) {
  Register(name, v, help, std::to_string(*v));
}
void FlagSet::Add(const std::string& name, uint64_t* v, const std::string& help) {
  Register(name, v, help, std::to_string(*v));
}
void FlagSet::Add(const std::string& name, double* v, const std::string& help) {
  Register(name, v, help, FormatDouble(*v));
}
void FlagSet::Add(const std::string& name, std::string* v, const std::string& help) {
  Register(name, v, help, "\"" + *v + "\"");
}

FlagSet::Flag* FlagSet::Find(const std::string& name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::WasSet(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

void FlagSet::Assign(Flag& flag, const std::string& text) {
  const auto bad = [&](const char* expected) {
    return UsageError("--" + flag.name + "=" + text + ": expected " + expected);
  };
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, bool>) {
          // Go's strconv.ParseBool set (which kube tooling users know) plus yes/no, any case.
          std::string v;
          for (char c : text) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (v == "true" || v == "t" || v == "1" || v == "yes") {
            *target = true;
          } else if (v == "false" || v == "f" || v == "0" || v == "no") {
            *target = false;
          } else {
            throw bad("true or false");
          }
        } else if constexpr (std::is_same_v<T, std::string>) {
          *target = text;
        } else if constexpr (std::is_same_v<T, double>) {
          double v = 0;
          if (!ParseNumber(text, &v) || !std::isfinite(v)) throw bad("a number");
          *target = v;
        } else {
          T v = 0;
          if (!ParseNumber(text, &v)) throw bad("an integer");
          *target = v;
        }
      },
      flag.target);
  flag.set = true;
  assignments_.push_back({flag.name, text});
}

std::vector<std::string> FlagSet::Parse(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      help_requested_ = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);  // -flag works too, as in absl/gflags
    std::string value;
    const size_t eq = body.find('=');
    const bool has_value = eq != std::string::npos;
    if (has_value) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    Flag* flag = Find(body);
    if (!flag && !has_value && body.rfind("no", 0) == 0) {
      Flag* negated = Find(body.substr(2));
      if (negated && std::holds_alternative<bool*>(negated->target)) {
        Assign(*negated, "false");
        continue;
      }
    }
    if (!flag) {
      std::string best;
      size_t best_distance = 4;  // suggest only close names
      for (const Flag& f : flags_) {
        const size_t d = EditDistance(body, f.name);
        if (d < best_distance) {
          best_distance = d;
          best = f.name;
        }
      }
      throw UsageError("unknown flag --" + body + (best.empty() ? "" : " (did you mean --" + best + "?)"));
    }
    if (!has_value) {
      if (std::holds_alternative<bool*>(flag->target)) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        throw UsageError("--" + flag->name + " needs a value");
      }
    }
    Assign(*flag, value);
  }
  return positional;
}

std::string FlagSet::Usage() const {
  std::ostringstream out;
  out << usage_line_ << "\n\nFlags:\n";
  for (const Flag& f : flags_) {
    out << "  --" << f.name << " (default " << f.default_text << ")\n      " << f.help << "\n";
  }
  return out.str();
}

}  // namespace kubecnn
