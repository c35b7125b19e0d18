#include "enforce/policy_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/ip_address.h"
#include "core/strings.h"

namespace authwatch {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<int> ListenTcp(const std::string& address, int* port_out) {
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "" : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int port = colon == std::string::npos ? -1 : std::atoi(address.c_str() + colon + 1);
  const auto ip = IpAddress::Parse(host);
  if (!ip || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(Cat("policyd.listen '", address, "' is not address:port"));
  }
  sockaddr_storage ss{};
  socklen_t len;
  if (ip->is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    sin->sin_addr.s_addr = htonl(ip->v4());
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(sin6->sin6_addr.s6_addr, ip->bytes().data(), 16);
    len = sizeof(sockaddr_in6);
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::UnavailableError(Cat("policyd.listen ", address, ": ", std::strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 128) != 0) {
    const std::string err = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(Cat("policyd.listen ", address, ": ", err));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  *port_out = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                               : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return fd;
}

absl::StatusOr<int> ListenUnix(const std::string& path) {
  sockaddr_un sun{};
  if (path.size() >= sizeof(sun.sun_path)) return absl::InvalidArgumentError(Cat("policyd.socket '", path, "' is too long"));
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());  // a stale socket of an earlier run
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0 || ::listen(fd, 128) != 0) {
    const std::string err = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(Cat("policyd.socket ", path, ": ", err));
  }
  chmod(path.c_str(), 0666);  // Postfix's smtpd runs as another user
  return fd;
}

}  // namespace

struct PolicyServer::Connection {
  int fd;
  PolicyRequestParser parser;
  std::string out;
  int64_t last_active_ms;
  bool closing = false;  // close once `out` is written
};

absl::StatusOr<std::unique_ptr<PolicyServer>> PolicyServer::Start(const PolicyServerOptions& options, Handler handler) {
  std::unique_ptr<PolicyServer> s(new PolicyServer());
  s->options_ = options;
  s->handler_ = std::move(handler);
  s->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (s->epoll_fd_ < 0) return absl::InternalError(Cat("epoll: ", std::strerror(errno)));
  if (!options.listen.empty()) {
    auto fd = ListenTcp(options.listen, &s->tcp_port_);
    if (!fd.ok()) return fd.status();
    s->tcp_fd_ = *fd;
  }
  if (!options.socket_path.empty()) {
    auto fd = ListenUnix(options.socket_path);
    if (!fd.ok()) return fd.status();
    s->unix_fd_ = *fd;
  }
  for (int fd : {s->tcp_fd_, s->unix_fd_}) {
    if (fd < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  return s;
}

PolicyServer::~PolicyServer() {
  for (auto& [fd, c] : connections_) close(fd);
  for (int fd : {tcp_fd_, unix_fd_, epoll_fd_}) {
    if (fd >= 0) close(fd);
  }
  if (!options_.socket_path.empty()) unlink(options_.socket_path.c_str());
}

void PolicyServer::Accept(int listen_fd) {
  for (;;) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: all accepted
    ++counters_.connections;
    auto c = std::make_unique<Connection>(Connection{fd, PolicyRequestParser(options_.max_request_bytes), {}, NowMs()});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    connections_[fd] = std::move(c);
  }
}

void PolicyServer::OnReadable(Connection* c) {
  char buf[8192];
  for (;;) {
    const ssize_t n = read(c->fd, buf, sizeof(buf));
    if (n == 0) return Close(c);  // the client closed
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Close(c);
    }
    c->last_active_ms = NowMs();
    const bool ok = c->parser.Feed(std::string_view(buf, static_cast<size_t>(n)), [&](const PolicyRequest& r) {
      counters_.malformed_lines += static_cast<uint64_t>(r.malformed_lines);
      c->out += handler_(r);
    });
    if (!ok) {
      // Answered safely (a temporary deferral, never an accept), then closed.
      ++counters_.oversized;
      c->out += "action=DEFER_IF_PERMIT Policy request too large\n\n";
      c->closing = true;
      break;
    }
  }
  Flush(c);
}

void PolicyServer::Flush(Connection* c) {
  while (!c->out.empty()) {
    const ssize_t n = write(c->fd, c->out.data(), c->out.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Close(c);
    }
    c->out.erase(0, static_cast<size_t>(n));
  }
  if (c->out.empty() && c->closing) return Close(c);
  epoll_event ev{};
  ev.events = c->out.empty() ? uint32_t{EPOLLIN} : uint32_t{EPOLLIN | EPOLLOUT};
  ev.data.fd = c->fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void PolicyServer::Close(Connection* c) {
  const int fd = c->fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  connections_.erase(fd);  // destroys *c
}

void PolicyServer::Run(const std::atomic<bool>& stop) {
  epoll_event events[64];
  int64_t last_sweep = NowMs();
  while (!stop.load()) {
    const int n = epoll_wait(epoll_fd_, events, 64, 200);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == tcp_fd_ || fd == unix_fd_) {
        Accept(fd);
        continue;
      }
      auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      Connection* c = it->second.get();
      // Read first: a client may send its last request and hang up in one go.
      if (events[i].events & EPOLLIN) {
        OnReadable(c);
      } else if (events[i].events & EPOLLOUT) {
        Flush(c);
      } else if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        Close(c);
      }
    }
    const int64_t now = NowMs();
    if (now - last_sweep >= 1000) {
      last_sweep = now;
      std::vector<Connection*> idle;
      for (auto& [fd, c] : connections_) {
        if (now - c->last_active_ms > options_.idle_timeout_ms) idle.push_back(c.get());
      }
      for (Connection* c : idle) {
        ++counters_.idle_closed;
        Close(c);
      }
    }
  }
}

}  // namespace authwatch
