// authwatch_policy_load: a load generator for `authwatch policyd`, run as a second process on
// loopback. Each of --connections threads keeps one connection open (as Postfix does) and sends
// policy requests one after another, measuring each request's round trip; a share of the
// requests name blocked accounts (--blocked-share) so both answers are exercised.
// Prints requests/s and latency percentiles (microseconds).
//
//   authwatch_policy_load --target 127.0.0.1:10040 --connections 4 --seconds 10
//       (and --accounts 100000 --blocked-prefix blocked --blocked-share 0.1)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 10040;
  int connections = 4;
  double seconds = 10;
  int accounts = 100000;
  std::string blocked_prefix = "blocked";
  double blocked_share = 0.1;
};

int Connect(const Options& o) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--target") {
      o.host = v.substr(0, v.rfind(':'));
      o.port = std::atoi(v.c_str() + v.rfind(':') + 1);
    } else if (k == "--connections") o.connections = std::atoi(v.c_str());
    else if (k == "--seconds") o.seconds = std::atof(v.c_str());
    else if (k == "--accounts") o.accounts = std::atoi(v.c_str());
    else if (k == "--blocked-prefix") o.blocked_prefix = v;
    else if (k == "--blocked-share") o.blocked_share = std::atof(v.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  std::vector<std::vector<uint32_t>> latencies(static_cast<size_t>(o.connections));
  std::atomic<uint64_t> rejects{0}, dunnos{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.connections; ++t) {
    threads.emplace_back([&, t] {
      const int fd = Connect(o);
      uint64_t rng = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(t + 1);
      char buf[4096];
      auto& lat = latencies[static_cast<size_t>(t)];
      lat.reserve(1 << 20);
      while (std::chrono::steady_clock::now() < deadline) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        const int n = static_cast<int>((rng >> 33) % static_cast<uint64_t>(o.accounts));
        const bool blocked = static_cast<double>((rng >> 13) % 1000) < o.blocked_share * 1000;
        const std::string req = std::string("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n") +
                                "client_address=198.51." + std::to_string(n % 250) + "." + std::to_string(n % 200 + 1) +
                                "\nclient_name=unknown\nsasl_method=PLAIN\nsasl_username=" +
                                (blocked ? o.blocked_prefix : std::string("user")) + std::to_string(n) +
                                "@mail.example\nsender=a@mail.example\nrecipient=b@dest.example\n\n";
        const auto start = std::chrono::steady_clock::now();
        if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) break;
        std::string resp;
        while (resp.size() < 2 || resp.compare(resp.size() - 2, 2, "\n\n") != 0) {
          const ssize_t r = read(fd, buf, sizeof(buf));
          if (r <= 0) break;
          resp.append(buf, static_cast<size_t>(r));
        }
        lat.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
        (resp.rfind("action=DUNNO", 0) == 0 ? dunnos : rejects)++;
      }
      close(fd);
    });
  }
  for (auto& th : threads) th.join();
  std::vector<uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0u : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
  std::printf("requests %zu in %.1f s: %.0f requests/s over %d connections; answers: %llu refused, %llu DUNNO\n",
              all.size(), o.seconds, all.size() / o.seconds, o.connections,
              static_cast<unsigned long long>(rejects.load()), static_cast<unsigned long long>(dunnos.load()));
  std::printf("latency us: p50 %u  p90 %u  p99 %u  p99.9 %u  max %u\n", pct(0.5), pct(0.9), pct(0.99), pct(0.999),
              all.empty() ? 0u : all.back());
  return 0;
}
