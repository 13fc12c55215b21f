// Prometheus text parsing, eval JSON parsing, and a small HTTP scraper over POSIX sockets.
#include "operator/controller/progress.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace kubecnn::controller {
namespace {

// "name{labels} value [timestamp]" -> (name, value) when it parses.
bool ParseSample(const std::string& line, std::string* name, double* value) {
  if (line.empty() || line[0] == '#') return false;
  size_t end = line.find_first_of("{ ");
  if (end == std::string::npos) return false;
  *name = line.substr(0, end);
  size_t pos = end;
  if (line[pos] == '{') {
    pos = line.find('}', pos);
    if (pos == std::string::npos) return false;
    ++pos;
  }
  std::istringstream rest(line.substr(pos));
  std::string number;
  if (!(rest >> number)) return false;
  try {
    size_t used = 0;
    *value = std::stod(number, &used);
    return used == number.size();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::optional<api::Progress> ParseTrainerMetrics(const std::string& text) {
  api::Progress p;
  bool any = false;
  std::istringstream in(text);
  std::string line, name;
  double value = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!ParseSample(line, &name, &value) || !std::isfinite(value)) continue;
    if (name == "kubecnn_train_step" && !p.step) {
      p.step = static_cast<int64_t>(value);
    } else if (name == "kubecnn_train_epoch" && !p.epoch) {
      p.epoch = static_cast<int64_t>(value);
    } else if (name == "kubecnn_train_images_per_second" && !p.images_per_second) {
      p.images_per_second = value;
    } else if (name == "kubecnn_train_loss" && !p.loss) {
      p.loss = value;
    } else if (name == "kubecnn_train_learning_rate" && !p.learning_rate) {
      p.learning_rate = value;
    } else {
      continue;
    }
    any = true;
  }
  if (!any) return std::nullopt;
  return p;
}

api::EvaluationResult ParseEvaluationResult(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    throw std::invalid_argument("the evaluation launcher's termination message is not a JSON object (\"" +
                                text.substr(0, 80) + "\"); the trainer writes <log_dir>/eval-<step>.json");
  }
  api::EvaluationResult r;
  for (const char* key : {"top1", "top5"}) {
    if (!j.contains(key) || !j[key].is_number()) {
      throw std::invalid_argument(std::string("the evaluation result has no numeric \"") + key +
                                  "\": " + text.substr(0, 120));
    }
  }
  r.top1 = j["top1"].get<double>();
  r.top5 = j["top5"].get<double>();
  if (j.contains("images") && j["images"].is_number_integer()) r.images = j["images"].get<int64_t>();
  if (j.contains("step") && j["step"].is_number_integer()) r.step = j["step"].get<int64_t>();
  if (j.contains("checkpoint") && j["checkpoint"].is_string()) r.checkpoint = j["checkpoint"].get<std::string>();
  return r;
}

std::optional<api::Progress> HttpProgressScraper::Scrape(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found) return std::nullopt;
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return std::nullopt;
  }
  const int timeout_ms = static_cast<int>(timeout_.count());
  int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  pollfd pfd{fd, POLLOUT, 0};
  int error = 0;
  socklen_t len = sizeof error;
  if ((rc != 0 && errno != EINPROGRESS) ||
      (rc != 0 &&
       (::poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0))) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string request = "GET /metrics HTTP/1.0\r\nHost: " + host + "\r\nAccept: text/plain\r\n\r\n";
  std::string response;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  char buf[16384];
  while (response.size() < (8u << 20)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd in{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&in, 1, static_cast<int>(left)) != 1) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") == std::string::npos) return std::nullopt;
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::nullopt : ParseTrainerMetrics(response.substr(body + 4));
}

}  // namespace kubecnn::controller
