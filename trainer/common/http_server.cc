// http::Server: libmicrohttpd with one internal polling thread, its limits, and a reaper thread
// that enforces the whole-request deadline (libmicrohttpd's own timeout restarts on every byte).
#include "trainer/common/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace kubecnn::http {

ListenAddress ParseListenAddress(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("listen address \"" + text + "\": expected HOST:PORT, [IPV6]:PORT or :PORT");
  }
  ListenAddress address;
  address.host = text.substr(0, colon);
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  } else if (address.host.find(':') != std::string::npos) {
    throw std::invalid_argument("listen address \"" + text + "\": an IPv6 host goes in brackets ([::1]:9400)");
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    throw std::invalid_argument("listen address \"" + text + "\": the port must be 0..65535, not \"" + port + "\"");
  }
  address.port = std::stoi(port);
  return address;
}

struct Server::State {
  std::map<std::string, Handler> routes;
  Limits limits;
  MHD_Daemon* daemon = nullptr;

  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  struct Live {
    int fd;
    std::chrono::steady_clock::time_point deadline;
  };
  std::unordered_map<MHD_Connection*, Live> live;  // guarded by mu
  uint64_t cuts = 0;                               // guarded by mu
  std::string last_error;                          // libmicrohttpd's last message, guarded by mu
  std::thread reaper;

  // Shuts down (never closes: the fd is libmicrohttpd's) each connection past its deadline; the
  // serving thread then sees the end of the stream and frees it.
  void Reap() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      const auto now = std::chrono::steady_clock::now();
      auto next = now + std::chrono::seconds(1);
      for (auto& [connection, entry] : live) {
        if (entry.deadline <= now) {
          ::shutdown(entry.fd, SHUT_RDWR);
          entry.deadline = std::chrono::steady_clock::time_point::max();
          ++cuts;
        } else if (entry.deadline < next) {
          next = entry.deadline;
        }
      }
      wake.wait_until(lock, next);
    }
  }
};

namespace {

using State = Server::State;

void Logger(void* cls, const char* format, va_list args) {
  char message[512];
  std::vsnprintf(message, sizeof message, format, args);
  auto* state = static_cast<State*>(cls);
  std::lock_guard<std::mutex> lock(state->mu);
  state->last_error = message;
  while (!state->last_error.empty() && state->last_error.back() == '\n') state->last_error.pop_back();
}

// Runs on the serving thread before a connection's first byte is read and after its socket's
// last use, still open: between the two, the reaper may shut the socket down.
void NotifyConnection(void* cls, MHD_Connection* connection, void** /*socket_context*/,
                      MHD_ConnectionNotificationCode code) {
  auto* state = static_cast<State*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == nullptr) return;
    std::lock_guard<std::mutex> lock(state->mu);
    const bool first = state->live.empty();
    state->live[connection] = {info->connect_fd, std::chrono::steady_clock::now() + state->limits.request_deadline};
    if (first) state->wake.notify_one();
  } else {
    std::lock_guard<std::mutex> lock(state->mu);
    state->live.erase(connection);
  }
}

MHD_Result Queue(MHD_Connection* connection, const Response& answer) {
  MHD_Response* response =
      MHD_create_response_from_buffer(answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, answer.content_type.c_str());
  // One request per connection: the deadline then covers each request, and no idle kept-alive
  // connection holds a slot.
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
  MHD_destroy_response(response);
  return queued;
}

MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url, const char* method, const char* /*version*/,
                  const char* /*upload_data*/, size_t* upload_data_size, void** request_context) {
  auto* state = static_cast<State*>(cls);
  const std::string verb = method;
  if (verb != MHD_HTTP_METHOD_GET && verb != MHD_HTTP_METHOD_HEAD) {
    return Queue(connection, {405, "text/plain; charset=utf-8", "only GET and HEAD are served here\n"});
  }
  // GET has no body; a client that sends one anyway is answered without reading it.
  *upload_data_size = 0;
  (void)request_context;
  const auto route = state->routes.find(url);
  if (route == state->routes.end()) {
    std::string paths;
    for (const auto& [path, handler] : state->routes) paths += (paths.empty() ? "" : ", ") + path;
    return Queue(connection, {404, "text/plain; charset=utf-8", "not found: this endpoint serves " + paths + "\n"});
  }
  try {
    return Queue(connection, route->second());
  } catch (const std::exception& e) {
    return Queue(connection, {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"});
  }
}

bool HasIpv6() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace

Server::Server(const ListenAddress& address, std::map<std::string, Handler> routes, const Limits& limits,
               const std::string& hint)
    : state_(std::make_unique<State>()) {
  state_->routes = std::move(routes);
  state_->limits = limits;
  const std::string shown = (address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host) +
                            ":" + std::to_string(address.port);
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("cannot listen on " + shown + ": " + why + " (" + hint + ")");
  };
  if (address.port < 0 || address.port > 65535) fail("bad port");

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
  sockaddr_storage bind_to{};
  bool explicit_address = false;
  if (address.host.empty() || address.host == "::") {
    flags |= HasIpv6() ? MHD_USE_DUAL_STACK : 0;
  } else if (address.host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&bind_to);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(address.port));
    if (inet_pton(AF_INET6, address.host.c_str(), &a->sin6_addr) != 1)
      fail("\"" + address.host + "\" is no IPv6 address");
    flags |= MHD_USE_IPv6;
    explicit_address = true;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&bind_to);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(address.port));
    if (inet_pton(AF_INET, address.host.c_str(), &a->sin_addr) != 1)
      fail("\"" + address.host + "\" is no IPv4 address");
    explicit_address = true;
  }
  const auto idle = static_cast<unsigned>(std::max<int64_t>(1, limits.idle_timeout.count()));
  // MHD_OPTION_SOCK_ADDR must not be given at all for the wildcard: a null pointer there fails.
  State* state = state_.get();
  const MHD_OptionItem common[] = {
      {MHD_OPTION_CONNECTION_LIMIT, limits.max_connections, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.max_connections_per_address, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, idle, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(limits.max_request_bytes), nullptr},
      {MHD_OPTION_THREAD_STACK_SIZE, static_cast<intptr_t>(limits.thread_stack_bytes), nullptr},
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Logger), state},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&NotifyConnection), state},
      {explicit_address ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, 0, reinterpret_cast<void*>(&bind_to)},
      {MHD_OPTION_END, 0, nullptr},
  };
  errno = 0;
  state_->daemon = MHD_start_daemon(flags, static_cast<uint16_t>(address.port), nullptr, nullptr, &Answer, state,
                                    MHD_OPTION_ARRAY, common, MHD_OPTION_END);
  if (state_->daemon == nullptr) {
    const std::string system = errno != 0 ? std::strerror(errno) : "";
    std::lock_guard<std::mutex> lock(state_->mu);
    fail(state_->last_error.empty() ? system : state_->last_error + (system.empty() ? "" : " (" + system + ")"));
  }
  state_->reaper = std::thread([state] { state->Reap(); });
}

Server::~Server() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->wake.notify_one();
  state_->reaper.join();
  // Sockets are non-blocking and closed here: nothing a client does can make this wait.
  MHD_stop_daemon(state_->daemon);
}

int Server::port() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(state_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info == nullptr ? 0 : info->port;
}

uint64_t Server::deadline_cuts() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cuts;
}

}  // namespace kubecnn::http
