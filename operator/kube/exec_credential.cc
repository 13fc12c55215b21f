// Exec credential plugins as client-go's plugin/pkg/client/auth/exec runs them: the plugin's
// environment plus KUBERNETES_EXEC_INFO, stdin closed (never interactive), stdout an ExecCredential.
#include "operator/kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "operator/kube/base64.h"

extern char** environ;

namespace kubecnn::kube {
namespace {

constexpr size_t kMaxOutputBytes = 1 << 20;
constexpr std::chrono::seconds kPluginTimeout{120};

std::string Prefix(const ExecConfig& exec) {
  return "kubeconfig user \"" + exec.user + "\": exec plugin `" + DescribeExecCommand(exec) + "`";
}

[[noreturn]] void Fail(const ExecConfig& exec, const std::string& what) {
  throw std::runtime_error(Prefix(exec) + " " + what);
}

std::string StringField(const nlohmann::json& object, const char* field) {
  const auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// The last non-empty line of the plugin's stderr, shortened: what it said about why it failed.
std::string LastLine(const std::string& text) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' ')) --end;
  const size_t start = text.rfind('\n', end == 0 ? 0 : end - 1);
  std::string line =
      text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1));
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  void CloseWrite() {
    ::close(write);
    write = -1;
  }
};

}  // namespace

std::string DescribeExecCommand(const ExecConfig& exec) {
  std::string out = exec.command;
  for (const std::string& arg : exec.args) out += " " + arg;
  return out;
}

std::string ExecInfoJson(const ExecConfig& exec) {
  nlohmann::json spec = {{"interactive", false}};
  if (exec.provide_cluster_info) {
    nlohmann::json cluster = {{"server", exec.cluster_server}};
    if (!exec.cluster_ca_pem.empty()) cluster["certificate-authority-data"] = Base64Encode(exec.cluster_ca_pem);
    if (exec.cluster_insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    spec["cluster"] = cluster;
  }
  return nlohmann::json{{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}}.dump();
}

std::optional<WallTime> ParseRfc3339(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t i = static_cast<size_t>(consumed);
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;  // whole seconds suffice
  }
  int offset_seconds = 0;
  if (i + 1 == text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    // UTC
  } else if (i + 6 == text.size() && (text[i] == '+' || text[i] == '-') && text[i + 3] == ':') {
    int hours = 0, minutes = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &hours, &minutes) != 2) return std::nullopt;
    offset_seconds = (text[i] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
  } else {
    return std::nullopt;
  }
  const time_t utc = ::timegm(&tm);
  if (utc == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(utc - offset_seconds);
}

ExecCredential ParseExecCredential(const std::string& stdout_text, const ExecConfig& exec) {
  // The parser's own message quotes what it last read, which may be the token: never pass it on.
  const nlohmann::json reply = nlohmann::json::parse(stdout_text, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    Fail(exec, "printed no ExecCredential JSON on stdout (" + std::to_string(stdout_text.size()) +
                   " bytes that do not parse as a JSON object; run the command yourself to see what it prints)");
  }
  const std::string kind = StringField(reply, "kind");
  const std::string api_version = StringField(reply, "apiVersion");
  if (kind != "ExecCredential" || api_version != exec.api_version) {
    Fail(exec, "printed kind \"" + kind + "\" apiVersion \"" + api_version + "\", expected kind \"ExecCredential\"" +
                   " apiVersion \"" + exec.api_version + "\" (the kubeconfig's exec.apiVersion must match the plugin)");
  }
  const nlohmann::json status = reply.value("status", nlohmann::json::object());
  if (!status.is_object()) Fail(exec, "printed an ExecCredential whose status is not an object");
  ExecCredential credential;
  credential.token = StringField(status, "token");
  credential.client_cert_pem = StringField(status, "clientCertificateData");
  credential.client_key_pem = StringField(status, "clientKeyData");
  if (credential.client_cert_pem.empty() != credential.client_key_pem.empty()) {
    Fail(exec, "printed clientCertificateData without clientKeyData or the other way round (both are needed)");
  }
  if (credential.token.empty() && credential.client_cert_pem.empty()) {
    Fail(exec, "printed an ExecCredential with neither status.token nor status.clientCertificateData");
  }
  const std::string expiry = StringField(status, "expirationTimestamp");
  if (!expiry.empty()) {
    credential.expiry = ParseRfc3339(expiry);
    if (!credential.expiry) {
      Fail(exec, "printed status.expirationTimestamp \"" + expiry + "\", which is not an RFC 3339 time");
    }
  }
  return credential;
}

ExecCredential RunExecPlugin(const ExecConfig& exec) {
  // The environment: ours, then the kubeconfig's exec.env, then KUBERNETES_EXEC_INFO.
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : exec.env) env[name] = value;
  env["KUBERNETES_EXEC_INFO"] = ExecInfoJson(exec);
  std::vector<std::string> env_entries;
  for (const auto& [name, value] : env) env_entries.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& entry : env_entries) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {exec.command};
  argv_strings.insert(argv_strings.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  Pipe out, err;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write, 1);
  posix_spawn_file_actions_adddup2(&actions, err.write, 2);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, exec.command.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned == ENOENT) {
    // As kubectl: the plugin's own hint on how to install it.
    Fail(exec,
         "cannot run: executable " + exec.command + " not found" +
             (exec.install_hint.empty() ? std::string(" (is it installed and on PATH?)") : "\n\n" + exec.install_hint));
  }
  if (spawned != 0) Fail(exec, "cannot run: " + std::string(std::strerror(spawned)));
  out.CloseWrite();
  err.CloseWrite();

  std::string stdout_text, stderr_text;
  const auto deadline = std::chrono::steady_clock::now() + kPluginTimeout;
  bool timed_out = false, too_big = false;
  pollfd fds[2] = {{out.read, POLLIN, 0}, {err.read, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 0 ? stdout_text : stderr_text).append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
    if (stdout_text.size() + stderr_text.size() > kMaxOutputBytes) {
      too_big = true;
      break;
    }
  }
  if (timed_out || too_big) ::kill(pid, SIGKILL);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) Fail(exec, "did not finish within " + std::to_string(kPluginTimeout.count()) + " s");
  if (too_big) Fail(exec, "printed over " + std::to_string(kMaxOutputBytes) + " bytes");
  const std::string said = LastLine(stderr_text);
  if (WIFSIGNALED(wait_status)) {
    Fail(exec, "was killed by signal " + std::to_string(WTERMSIG(wait_status)) + (said.empty() ? "" : ": " + said));
  }
  if (WEXITSTATUS(wait_status) != 0) {
    Fail(exec, "failed with exit code " + std::to_string(WEXITSTATUS(wait_status)) + (said.empty() ? "" : ": " + said));
  }
  return ParseExecCredential(stdout_text, exec);
}

}  // namespace kubecnn::kube
