// Label selector parsing follows k8s.io/apimachinery/pkg/labels: a lexer over the special tokens
// ! != = == ( ) , and identifiers, then a recursive-descent parser of comma-separated requirements.
#include "tests/support/label_selector.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace kubecnn::testing {
namespace {

enum class Tok { kIdent, kBang, kEq, kDoubleEq, kNotEq, kOpen, kClose, kComma, kIn, kNotIn, kEnd };

struct Token {
  Tok kind;
  std::string text;
  size_t pos;
};

bool IsSpecial(char c) { return c == '!' || c == '=' || c == '(' || c == ')' || c == ',' || c == '<' || c == '>'; }

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const size_t start = i;
    if (c == '!' && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({Tok::kNotEq, "!=", start});
      i += 2;
    } else if (c == '!') {
      out.push_back({Tok::kBang, "!", start});
      ++i;
    } else if (c == '=' && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({Tok::kDoubleEq, "==", start});
      i += 2;
    } else if (c == '=') {
      out.push_back({Tok::kEq, "=", start});
      ++i;
    } else if (c == '(') {
      out.push_back({Tok::kOpen, "(", start});
      ++i;
    } else if (c == ')') {
      out.push_back({Tok::kClose, ")", start});
      ++i;
    } else if (c == ',') {
      out.push_back({Tok::kComma, ",", start});
      ++i;
    } else if (c == '<' || c == '>') {
      throw std::invalid_argument("label selector \"" + std::string(s) + "\": operator '" + std::string(1, c) +
                                  "' at position " + std::to_string(i) +
                                  " is not supported (use =, ==, !=, in, notin, key or !key)");
    } else {
      while (i < s.size() && !IsSpecial(s[i]) && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      std::string word(s.substr(start, i - start));
      Tok kind = word == "in" ? Tok::kIn : word == "notin" ? Tok::kNotIn : Tok::kIdent;
      out.push_back({kind, std::move(word), start});
    }
  }
  out.push_back({Tok::kEnd, "", s.size()});
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), tokens_(Lex(text)) {}

  LabelSelector Parse() {
    LabelSelector selector;
    if (Peek().kind == Tok::kEnd) return selector;
    while (true) {
      selector.requirements.push_back(Requirement());
      if (Peek().kind == Tok::kEnd) break;
      Expect(Tok::kComma, "',' between requirements");
    }
    return selector;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  Token Next() { return tokens_[pos_++]; }

  [[noreturn]] void Fail(const Token& at, const std::string& expected) const {
    throw std::invalid_argument("label selector \"" + std::string(text_) + "\": expected " + expected +
                                " at position " + std::to_string(at.pos) +
                                (at.kind == Tok::kEnd ? " (end of input)" : ", found '" + at.text + "'") +
                                "; the syntax is key=value, key!=value, key in (a,b), key notin (a), key, !key");
  }

  void Expect(Tok kind, const std::string& what) {
    if (Peek().kind != kind) Fail(Peek(), what);
    ++pos_;
  }

  std::string Key() {
    const Token t = Next();
    if (t.kind != Tok::kIdent && t.kind != Tok::kIn && t.kind != Tok::kNotIn) Fail(t, "a label key");
    if (!IsValidLabelKey(t.text)) {
      throw std::invalid_argument("label selector \"" + std::string(text_) + "\": invalid label key \"" + t.text +
                                  "\" (a key is an optional DNS-subdomain prefix and '/', then at most 63 "
                                  "alphanumerics, '-', '_' or '.', starting and ending alphanumeric)");
    }
    return t.text;
  }

  std::string Value() {
    // An empty value is allowed: "key=" selects objects whose label is the empty string.
    if (Peek().kind == Tok::kComma || Peek().kind == Tok::kEnd || Peek().kind == Tok::kClose) return "";
    const Token t = Next();
    if (t.kind != Tok::kIdent && t.kind != Tok::kIn && t.kind != Tok::kNotIn) Fail(t, "a label value");
    if (!IsValidLabelValue(t.text)) {
      throw std::invalid_argument("label selector \"" + std::string(text_) + "\": invalid label value \"" + t.text +
                                  "\" (at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)");
    }
    return t.text;
  }

  LabelRequirement Requirement() {
    LabelRequirement r;
    if (Peek().kind == Tok::kBang) {
      ++pos_;
      r.key = Key();
      r.op = SelectorOp::kDoesNotExist;
      return r;
    }
    r.key = Key();
    switch (Peek().kind) {
      case Tok::kComma:
      case Tok::kEnd: r.op = SelectorOp::kExists; return r;
      case Tok::kEq:
      case Tok::kDoubleEq:
        ++pos_;
        r.op = SelectorOp::kEquals;
        r.values.push_back(Value());
        return r;
      case Tok::kNotEq:
        ++pos_;
        r.op = SelectorOp::kNotEquals;
        r.values.push_back(Value());
        return r;
      case Tok::kIn:
      case Tok::kNotIn: {
        r.op = Next().kind == Tok::kIn ? SelectorOp::kIn : SelectorOp::kNotIn;
        Expect(Tok::kOpen, "'(' after in/notin");
        if (Peek().kind == Tok::kClose) Fail(Peek(), "at least one value in the set");
        while (true) {
          r.values.push_back(Value());
          if (Peek().kind == Tok::kClose) break;
          Expect(Tok::kComma, "',' or ')' in the value set");
        }
        ++pos_;
        std::sort(r.values.begin(), r.values.end());
        r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
        return r;
      }
      default: Fail(Peek(), "an operator (=, ==, !=, in, notin), ',' or the end");
    }
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), IsNameChar);
}

bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return IsAlnum(s.front()) && IsAlnum(s.back());
}

const char* OpText(SelectorOp op) {
  switch (op) {
    case SelectorOp::kEquals: return "=";
    case SelectorOp::kNotEquals: return "!=";
    case SelectorOp::kIn: return " in ";
    case SelectorOp::kNotIn: return " notin ";
    default: return "";
  }
}

}  // namespace

bool IsValidLabelKey(std::string_view key) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return IsQualifiedNamePart(key);
  return IsDnsSubdomain(key.substr(0, slash)) && IsQualifiedNamePart(key.substr(slash + 1));
}

bool IsValidLabelValue(std::string_view value) { return value.empty() || IsQualifiedNamePart(value); }

LabelSelector ParseLabelSelector(std::string_view text) { return Parser(text).Parse(); }

bool Matches(const LabelSelector& selector, const nlohmann::json& labels) {
  for (const LabelRequirement& r : selector.requirements) {
    const bool has = labels.is_object() && labels.contains(r.key) && labels[r.key].is_string();
    const std::string value = has ? labels[r.key].get<std::string>() : std::string();
    const bool in_set = has && std::find(r.values.begin(), r.values.end(), value) != r.values.end();
    switch (r.op) {
      case SelectorOp::kEquals:
      case SelectorOp::kIn:
        if (!in_set) return false;
        break;
      case SelectorOp::kNotEquals:
      case SelectorOp::kNotIn:
        if (in_set) return false;
        break;
      case SelectorOp::kExists:
        if (!has) return false;
        break;
      case SelectorOp::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string ToString(const LabelSelector& selector) {
  std::string out;
  for (const LabelRequirement& r : selector.requirements) {
    if (!out.empty()) out += ',';
    if (r.op == SelectorOp::kDoesNotExist) out += '!';
    out += r.key;
    out += OpText(r.op);
    if (r.op == SelectorOp::kIn || r.op == SelectorOp::kNotIn) {
      out += '(';
      for (size_t i = 0; i < r.values.size(); ++i) out += (i ? "," : "") + r.values[i];
      out += ')';
    } else if (r.op == SelectorOp::kEquals || r.op == SelectorOp::kNotEquals) {
      out += r.values.front();
    }
  }
  return out;
}

std::vector<FieldRequirement> ParseFieldSelector(std::string_view text) {
  std::vector<FieldRequirement> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view term = text.substr(start, end - start);
    while (!term.empty() && std::isspace(static_cast<unsigned char>(term.front()))) term.remove_prefix(1);
    while (!term.empty() && std::isspace(static_cast<unsigned char>(term.back()))) term.remove_suffix(1);
    if (!term.empty()) {
      FieldRequirement r;
      size_t op = term.find("!=");
      size_t op_len = 2;
      if (op != std::string_view::npos) {
        r.equals = false;
      } else if ((op = term.find("==")) == std::string_view::npos) {
        op = term.find('=');
        op_len = 1;
      }
      if (op == std::string_view::npos || op == 0) {
        throw std::invalid_argument("field selector \"" + std::string(text) + "\": term \"" + std::string(term) +
                                    "\" is not field=value, field==value or field!=value");
      }
      r.field = std::string(term.substr(0, op));
      r.value = std::string(term.substr(op + op_len));
      out.push_back(std::move(r));
    } else if (!text.empty()) {
      throw std::invalid_argument("field selector \"" + std::string(text) + "\": empty term (stray ',')");
    }
    start = end + 1;
  }
  return out;
}

}  // namespace kubecnn::testing
