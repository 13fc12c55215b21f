// KubeletLogServer: one thread per connection (a followed log blocks its thread, polling the file),
// client certificates checked with GnuTLS against the client CA, then the group authorized.
#include "tests/e2e/kubelet_log_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace kubecnn::e2e {
namespace {

constexpr auto kFollowPoll = std::chrono::milliseconds(50);
constexpr size_t kBlockBytes = 16 * 1024;        // within the connection's memory limit below
constexpr int64_t kMaxTailScanBytes = 64 << 20;  // tailLines reads at most this much of a run's log

std::optional<int64_t> NonNegative(const std::map<std::string, std::string>& query, const std::string& key,
                                   std::string* error) {
  const auto it = query.find(key);
  if (it == query.end()) return std::nullopt;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    *error = key + " must be a non-negative integer, not \"" + text + "\"";
    return std::nullopt;
  }
  return std::stoll(text);
}

bool Flag(const std::map<std::string, std::string>& query, const std::string& key) {
  const auto it = query.find(key);
  return it != query.end() && (it->second == "true" || it->second == "1");
}

int64_t FileSize(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

}  // namespace

std::optional<ContainerLogRequest> ParseContainerLogRequest(std::string_view path,
                                                            const std::map<std::string, std::string>& query,
                                                            std::string* error, bool* not_found) {
  constexpr std::string_view kPrefix = "/containerLogs/";
  *not_found = true;
  *error = "404 page not found";
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::vector<std::string> parts;
  for (std::string_view rest = path.substr(kPrefix.size()); !rest.empty();) {
    const size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  if (parts.size() != 3 || std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    return std::nullopt;
  }
  *not_found = false;
  error->clear();
  ContainerLogRequest request;
  request.ns = parts[0];
  request.pod = parts[1];
  request.container = parts[2];
  request.follow = Flag(query, "follow");
  request.previous = Flag(query, "previous");
  request.tail_lines = NonNegative(query, "tailLines", error);
  if (error->empty()) request.limit_bytes = NonNegative(query, "limitBytes", error);
  if (!error->empty()) return std::nullopt;
  return request;
}

size_t TailStart(std::string_view text, int64_t lines) {
  if (lines <= 0) return text.size();
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;  // the last line's newline starts no further line
  for (int64_t seen = 0; end > 0; ++seen) {
    const size_t newline = text.rfind('\n', end - 1);
    if (newline == std::string_view::npos) return 0;
    if (seen + 1 == lines) return newline + 1;
    end = newline;
  }
  return 0;
}

struct KubeletLogServer::State {
  KubeletLogServerOptions options;
  LogFinder finder;
  MHD_Daemon* daemon = nullptr;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::string last_error;  // libmicrohttpd's last message, guarded by mu
};

namespace {

using State = KubeletLogServer::State;

// One answer's read position in a run's log.
struct Stream {
  State* state;
  std::shared_ptr<const ContainerRunLog> log;
  int fd = -1;
  int64_t offset = 0;
  int64_t stop_at = 0;     // without follow: the log's end when the request came
  int64_t remaining = -1;  // limitBytes left; -1: no limit
  bool follow = false;
  std::chrono::steady_clock::time_point deadline;
};

void Logger(void* cls, const char* format, va_list args) {
  char message[512];
  std::vsnprintf(message, sizeof message, format, args);
  auto* state = static_cast<State*>(cls);
  std::lock_guard<std::mutex> lock(state->mu);
  state->last_error = message;
}

// Blocks (its connection's own thread) until there are bytes to send, the run has ended, or the
// server stops; without follow, until the deadline at most. Returning 0 instead would have
// libmicrohttpd call again at once and count the wait as idle time, cutting a quiet follow.
// A follower that went away is noticed at the next bytes sent, or freed when the run ends.
ssize_t ReadLog(void* cls, uint64_t /*pos*/, char* buf, size_t max) {
  auto* s = static_cast<Stream*>(cls);
  for (;;) {
    if (s->state->stopping.load()) return MHD_CONTENT_READER_END_OF_STREAM;
    if (!s->follow && std::chrono::steady_clock::now() >= s->deadline) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (s->remaining == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    // The end first: once it is set, the file holds every byte up to it.
    const int64_t end = s->log->end.load();
    const int64_t stop = !s->follow ? s->stop_at : end >= 0 ? end : FileSize(s->fd);
    if (s->offset < stop) {
      int64_t want = std::min<int64_t>(static_cast<int64_t>(max), stop - s->offset);
      if (s->remaining > 0) want = std::min(want, s->remaining);
      const ssize_t n = ::pread(s->fd, buf, static_cast<size_t>(want), s->offset);
      if (n <= 0) return MHD_CONTENT_READER_END_WITH_ERROR;
      s->offset += n;
      if (s->remaining > 0) s->remaining -= n;
      return n;
    }
    if (!s->follow || end >= 0) return MHD_CONTENT_READER_END_OF_STREAM;
    std::this_thread::sleep_for(kFollowPoll);
  }
}

void FreeStream(void* cls) {
  auto* s = static_cast<Stream*>(cls);
  if (s->fd >= 0) ::close(s->fd);
  delete s;
}

MHD_Result QueueText(MHD_Connection* connection, int status, const std::string& text) {
  const std::string body = text.empty() || text.back() == '\n' ? text : text + "\n";
  MHD_Response* response =
      MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(status), response);
  MHD_destroy_response(response);
  return queued;
}

// The verified client's user name and groups (subject CN and O, as Kubernetes reads them), or why
// it is not verified.
struct Peer {
  std::string error;
  std::string user;
  std::vector<std::string> groups;
};

Peer Unverified(const std::string& why) {
  Peer peer;
  peer.error = why;
  return peer;
}

Peer VerifiedPeer(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return Unverified("no TLS session");
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned status = 0;
  const int verified = gnutls_certificate_verify_peers2(session, &status);
  if (verified == GNUTLS_E_NO_CERTIFICATE_FOUND) return Unverified("no client certificate");
  if (verified != GNUTLS_E_SUCCESS) return Unverified(gnutls_strerror(verified));
  if (status != 0) {
    gnutls_datum_t text{};
    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
    Peer peer = Unverified(reinterpret_cast<const char*>(text.data));
    gnutls_free(text.data);
    return peer;
  }
  unsigned count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count == 0) return Unverified("no client certificate");
  gnutls_x509_crt_t cert = nullptr;
  Peer peer;
  if (gnutls_x509_crt_init(&cert) != GNUTLS_E_SUCCESS ||
      gnutls_x509_crt_import(cert, &chain[0], GNUTLS_X509_FMT_DER) != GNUTLS_E_SUCCESS) {
    peer.error = "unreadable client certificate";
  } else {
    const auto field = [&](const char* oid, unsigned index, std::string* out) {
      char value[256];
      size_t size = sizeof value;
      if (gnutls_x509_crt_get_dn_by_oid(cert, oid, index, 0, value, &size) != GNUTLS_E_SUCCESS) return false;
      *out = std::string(value, size);
      return true;
    };
    field(GNUTLS_OID_X520_COMMON_NAME, 0, &peer.user);
    std::string group;
    for (unsigned i = 0; field(GNUTLS_OID_X520_ORGANIZATION_NAME, i, &group); ++i) peer.groups.push_back(group);
  }
  if (cert != nullptr) gnutls_x509_crt_deinit(cert);
  return peer;
}

MHD_Result CollectArgument(void* cls, MHD_ValueKind /*kind*/, const char* key, const char* value) {
  (*static_cast<std::map<std::string, std::string>*>(cls))[key] = value == nullptr ? "" : value;
  return MHD_YES;
}

MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url, const char* method, const char* /*version*/,
                  const char* /*upload_data*/, size_t* upload_data_size, void** /*request_context*/) {
  auto* state = static_cast<State*>(cls);
  *upload_data_size = 0;  // a GET has no body; one sent anyway is not read
  const Peer peer = VerifiedPeer(connection);
  if (!peer.error.empty()) return QueueText(connection, 401, "Unauthorized");
  const std::vector<std::string>& allowed = state->options.authorized_groups;
  if (std::none_of(peer.groups.begin(), peer.groups.end(), [&](const std::string& g) {
        return std::find(allowed.begin(), allowed.end(), g) != allowed.end();
      })) {
    // The kubelet's authorizer asks for nodes/proxy of everything but /stats, /metrics, /logs and /spec.
    return QueueText(connection, 403,
                     "Forbidden (user=" + peer.user + ", verb=get, resource=nodes, subresource=proxy)");
  }
  if (std::string(method) != MHD_HTTP_METHOD_GET) return QueueText(connection, 405, "405 method not allowed");
  std::map<std::string, std::string> query;
  MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectArgument, &query);
  std::string error;
  bool not_found = false;
  const std::optional<ContainerLogRequest> request = ParseContainerLogRequest(url, query, &error, &not_found);
  if (!request) return QueueText(connection, not_found ? 404 : 400, error);
  const LogLookup found = state->finder(*request);
  if (found.status != 200 || found.log == nullptr) {
    return QueueText(connection, found.status == 200 ? 500 : found.status, found.message);
  }

  auto stream = std::make_unique<Stream>();
  stream->state = state;
  stream->log = found.log;
  stream->follow = request->follow;
  stream->deadline = std::chrono::steady_clock::now() + state->options.request_deadline;
  stream->fd = ::open(found.log->path.c_str(), O_RDONLY | O_CLOEXEC);
  if (stream->fd < 0) {
    return QueueText(connection, 500, "failed to open log file " + found.log->path + ": " + std::strerror(errno));
  }
  const int64_t end = found.log->end.load();
  stream->stop_at = end >= 0 ? end : FileSize(stream->fd);
  stream->offset = std::min(found.log->begin, stream->stop_at);
  if (request->tail_lines) {
    const int64_t from = std::max(stream->offset, stream->stop_at - kMaxTailScanBytes);
    std::string text(static_cast<size_t>(stream->stop_at - from), '\0');
    const ssize_t n = ::pread(stream->fd, text.data(), text.size(), from);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    stream->offset = from + static_cast<int64_t>(TailStart(text, *request->tail_lines));
  }
  if (request->limit_bytes) stream->remaining = *request->limit_bytes;
  MHD_Response* response =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, kBlockBytes, &ReadLog, stream.get(), &FreeStream);
  if (response == nullptr) return MHD_NO;
  stream.release();  // the response frees it
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result queued = MHD_queue_response(connection, MHD_HTTP_OK, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

KubeletLogServer::KubeletLogServer(KubeletLogServerOptions options, LogFinder finder)
    : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->finder = std::move(finder);
  const KubeletLogServerOptions& o = state_->options;
  const std::string shown = o.address + ":" + std::to_string(o.port);
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    throw std::runtime_error("cannot serve the kubelet's log API on " + shown +
                             ": this libmicrohttpd was built without TLS");
  }
  sockaddr_in bind_to{};
  bind_to.sin_family = AF_INET;
  bind_to.sin_port = htons(static_cast<uint16_t>(o.port));
  if (::inet_pton(AF_INET, o.address.c_str(), &bind_to.sin_addr) != 1) {
    throw std::runtime_error("cannot serve the kubelet's log API on " + shown + ": not an IPv4 address");
  }
  State* state = state_.get();
  const MHD_OptionItem items[] = {
      {MHD_OPTION_SOCK_ADDR, 0, &bind_to},
      {MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(o.serving_cert_pem.c_str())},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(o.serving_key_pem.c_str())},
      {MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(o.client_ca_pem.c_str())},  // asks for client certificates
      {MHD_OPTION_CONNECTION_LIMIT, o.max_connections, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(std::max<int64_t>(1, o.idle_timeout.count())), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, nullptr},  // request headers and the block being sent
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Logger), state},
      {MHD_OPTION_END, 0, nullptr},
  };
  errno = 0;
  state_->daemon = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_TLS | MHD_USE_ERROR_LOG,
      static_cast<uint16_t>(o.port), nullptr, nullptr, &Answer, state, MHD_OPTION_ARRAY, items, MHD_OPTION_END);
  if (state_->daemon == nullptr) {
    const std::string system = errno != 0 ? std::strerror(errno) : "";
    std::lock_guard<std::mutex> lock(state_->mu);
    throw std::runtime_error("cannot serve the kubelet's log API on " + shown + ": " + state_->last_error + " " +
                             system);
  }
}

KubeletLogServer::~KubeletLogServer() {
  state_->stopping = true;  // followed streams end within a poll
  MHD_stop_daemon(state_->daemon);
}

int KubeletLogServer::port() const {
  const MHD_DaemonInfo* info = MHD_get_daemon_info(state_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  return info == nullptr ? 0 : info->port;
}

}  // namespace kubecnn::e2e
