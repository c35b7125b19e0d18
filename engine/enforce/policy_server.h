// PolicyServer: serves the Postfix policy protocol on TCP (loopback by default) and optionally a
// UNIX socket, from one thread with epoll and non-blocking sockets, so a slow or stuck client
// cannot stall the others. Postfix keeps a connection open for many requests; each connection
// keeps its own parser and output buffer. Oversized requests are answered with a deferral and
// the connection is closed; connections idle longer than the timeout are closed.
// Owns its sockets. Run() blocks until `stop` becomes true.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "enforce/policy_answer.h"

namespace authwatch {

struct PolicyServerOptions {
  std::string listen = "127.0.0.1:10040";  // host:port; "" disables TCP
  std::string socket_path;                 // UNIX socket; "" disables
  size_t max_request_bytes = 16384;        // Postfix requests are well under 2 KiB
  int idle_timeout_ms = 600000;            // Postfix's own policy connections idle up to 300 s
};

struct PolicyServerCounters {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> oversized{0};
  std::atomic<uint64_t> malformed_lines{0};
  std::atomic<uint64_t> idle_closed{0};
};

class PolicyServer {
 public:
  // The handler answers one request with the full response text ("action=...\n\n").
  using Handler = std::function<std::string(const PolicyRequest&)>;

  static absl::StatusOr<std::unique_ptr<PolicyServer>> Start(const PolicyServerOptions& options, Handler handler);
  ~PolicyServer();
  void Run(const std::atomic<bool>& stop);
  int tcp_port() const { return tcp_port_; }
  const PolicyServerCounters& counters() const { return counters_; }

 private:
  struct Connection;
  PolicyServer() = default;
  void Accept(int listen_fd);
  void OnReadable(Connection* c);
  void Flush(Connection* c);
  void Close(Connection* c);

  PolicyServerOptions options_;
  Handler handler_;
  int epoll_fd_ = -1;
  int tcp_fd_ = -1;
  int unix_fd_ = -1;
  int tcp_port_ = 0;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  PolicyServerCounters counters_;
};

}  // namespace authwatch
