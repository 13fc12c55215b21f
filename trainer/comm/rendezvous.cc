// TCP rendezvous: length-prefixed bytes from rank 0 to each peer that connects and says its rank.
#include "trainer/comm/rendezvous.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "trainer/comm/communicator.h"

namespace kubecnn::comm {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(0, left));
}

// Reads or writes exactly n bytes before the deadline; false on EOF, error or timeout.
bool Transfer(int fd, char* data, size_t n, bool write, Clock::time_point deadline) {
  while (n > 0) {
    pollfd p{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, MillisLeft(deadline)) <= 0) return false;
    const ssize_t done = write ? ::send(fd, data, n, MSG_NOSIGNAL) : ::recv(fd, data, n, 0);
    if (done <= 0) {
      if (done < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return false;
    }
    data += done;
    n -= static_cast<size_t>(done);
  }
  return true;
}

std::string Endpoint(const Placement& p) { return p.master_addr + ":" + std::to_string(p.master_port); }

void Serve(const Placement& p, const std::string& bytes, Clock::time_point deadline, std::chrono::seconds timeout) {
  Fd listener(::socket(AF_INET6, SOCK_STREAM, 0));
  const int on = 1, off = 0;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  ::setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_any;
  addr.sin6_port = htons(static_cast<uint16_t>(p.master_port));
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 128) != 0) {
    throw CommError("rendezvous: rank 0 cannot listen on port " + std::to_string(p.master_port) + ": " +
                    std::strerror(errno) + " (set KUBECNN_MASTER_PORT to a free port)");
  }
  std::vector<bool> joined(static_cast<size_t>(p.world_size), false);
  joined[0] = true;
  int waiting = p.world_size - 1;
  while (waiting > 0) {
    pollfd pfd{listener.get(), POLLIN, 0};
    if (::poll(&pfd, 1, MillisLeft(deadline)) <= 0) {
      std::string missing;
      for (int r = 1; r < p.world_size; ++r) {
        if (!joined[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      }
      throw CommError("rendezvous at " + Endpoint(p) + ": rank(s) " + missing + " did not connect within " +
                      std::to_string(timeout.count()) + " s (are they started, with the same KUBECNN_MASTER_ADDR?)");
    }
    Fd peer(::accept(listener.get(), nullptr, nullptr));
    if (peer.get() < 0) continue;
    int32_t rank = -1;
    if (!Transfer(peer.get(), reinterpret_cast<char*>(&rank), sizeof rank, false, deadline)) continue;
    if (rank <= 0 || rank >= p.world_size || joined[rank]) continue;  // a stray or duplicate: ignore it
    const uint64_t size = bytes.size();
    std::string message(reinterpret_cast<const char*>(&size), sizeof size);
    message += bytes;
    if (Transfer(peer.get(), message.data(), message.size(), true, deadline)) {
      joined[rank] = true;
      --waiting;
    }
  }
}

void Join(const Placement& p, std::string& bytes, Clock::time_point deadline, std::chrono::seconds timeout) {
  std::string last_error = "no attempt";
  while (Clock::now() < deadline) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(p.master_addr.c_str(), std::to_string(p.master_port).c_str(), &hints, &found);
    if (rc != 0) {
      last_error = std::string("resolving the address: ") + ::gai_strerror(rc);
    } else {
      for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        Fd fd(::socket(a->ai_family, a->ai_socktype, a->ai_protocol));
        if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
          last_error = std::string("connecting: ") + std::strerror(errno);
          continue;
        }
        const int32_t rank = p.rank;
        uint64_t size = 0;
        if (Transfer(fd.get(), const_cast<char*>(reinterpret_cast<const char*>(&rank)), sizeof rank, true, deadline) &&
            Transfer(fd.get(), reinterpret_cast<char*>(&size), sizeof size, false, deadline) && size < (1u << 30)) {
          bytes.assign(size, '\0');
          if (Transfer(fd.get(), bytes.data(), size, false, deadline)) {
            ::freeaddrinfo(found);
            return;
          }
        }
        last_error = "rank 0 closed the connection early";
      }
      ::freeaddrinfo(found);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  throw CommError("rendezvous: rank " + std::to_string(p.rank) + " could not reach rank 0 at " + Endpoint(p) +
                  " within " + std::to_string(timeout.count()) + " s (" + last_error +
                  "; check KUBECNN_MASTER_ADDR/KUBECNN_MASTER_PORT and that rank 0 is running)");
}

}  // namespace

void RendezvousBroadcast(const Placement& placement, std::string& bytes, std::chrono::seconds timeout) {
  if (placement.world_size <= 1) return;
  const auto deadline = Clock::now() + timeout;
  if (placement.rank == 0) {
    Serve(placement, bytes, deadline, timeout);
  } else {
    Join(placement, bytes, deadline, timeout);
  }
}

}  // namespace kubecnn::comm
