#pragma once
// A userspace TCP proxy that makes network faults for the cluster tests (this kernel has no
// netem): it listens on its own 127.0.0.x address and forwards each connection to one upstream,
// one thread, poll(). Faults, switchable at any time from the test's thread:
//  - delay(base, jitter): every chunk, either way, is delivered base ± jitter after it was read,
//    never before an earlier chunk of the same direction (TCP keeps order);
//  - partition(true): nothing is forwarded either way and nothing more is read, so the bytes wait
//    in the kernel buffers as in a real partition; partition(false) heals it and they flow again;
//  - reset(): every open connection is closed with a TCP RST (SO_LINGER 0) at once.
// New connections are accepted during a partition but get no bytes through until it heals.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tradeshard::testing {

class FaultProxy {
 public:
  using Clock = std::chrono::steady_clock;

  FaultProxy(const std::string& listen_ip, std::string upstream_ip, int upstream_port)
      : upstream_ip_(std::move(upstream_ip)), upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, listen_ip.c_str(), &a.sin_addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("fault proxy: cannot listen on " + listen_ip);
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    addr_ = listen_ip + ":" + std::to_string(ntohs(a.sin_port));
    thread_ = std::thread([this] { run(); });
  }
  ~FaultProxy() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) close_conn(c, false);
    ::close(listen_fd_);
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  [[nodiscard]] const std::string& addr() const { return addr_; }
  void delay(std::chrono::milliseconds base, std::chrono::milliseconds jitter = std::chrono::milliseconds(0)) {
    std::lock_guard<std::mutex> g(mu_);
    delay_ = base;
    jitter_ = jitter;
  }
  void partition(bool on) { partitioned_ = on; }
  void reset() { reset_requested_ = true; }
  [[nodiscard]] std::uint64_t connections() const { return accepted_; }

 private:
  struct Chunk {
    Clock::time_point due;
    std::string bytes;
  };
  struct Direction {
    int from = -1, to = -1;
    std::deque<Chunk> queue;
    Clock::time_point last_due{};
  };
  struct Conn {
    Direction up, down;  // client -> upstream, upstream -> client
    bool open = true;
  };

  static void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

  void close_conn(Conn& c, bool rst) {
    if (!c.open) return;
    c.open = false;
    for (const int fd : {c.up.from, c.up.to}) {
      if (rst) {
        const linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      ::close(fd);
    }
  }

  void accept_new() {
    for (;;) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK);
      if (client < 0) return;
      const int up = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(upstream_port_));
      ::inet_pton(AF_INET, upstream_ip_.c_str(), &a.sin_addr);
      if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {  // upstream gone: refuse it too
        const linger l{1, 0};
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(client);
        ::close(up);
        continue;
      }
      set_nonblocking(up);
      const int one = 1;
      ::setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Conn c;
      c.up.from = client;
      c.up.to = up;
      c.down.from = up;
      c.down.to = client;
      conns_.push_back(std::move(c));
      ++accepted_;
    }
  }

  Clock::time_point due_now() {
    std::lock_guard<std::mutex> g(mu_);
    auto d = delay_;
    if (jitter_.count() > 0) {
      std::uniform_int_distribution<long> j(-jitter_.count(), jitter_.count());
      d += std::chrono::milliseconds(j(rng_));
    }
    return Clock::now() + d;
  }

  // Reads what `d.from` has (unless partitioned); false when that side closed.
  bool pull(Direction& d) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(d.from, buf, sizeof buf, 0);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      const auto due = std::max(due_now(), d.last_due);  // never overtakes an earlier chunk
      d.last_due = due;
      d.queue.push_back(Chunk{due, std::string(buf, static_cast<std::size_t>(n))});
    }
  }

  // Writes the chunks that are due; false when the other side is gone.
  bool push(Direction& d) {
    const auto now = Clock::now();
    while (!d.queue.empty() && d.queue.front().due <= now) {
      auto& b = d.queue.front().bytes;
      const ssize_t n = ::send(d.to, b.data(), b.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      if (static_cast<std::size_t>(n) < b.size()) {
        b.erase(0, static_cast<std::size_t>(n));
        return true;
      }
      d.queue.pop_front();
    }
    return true;
  }

  void run() {
    while (!stop_) {
      if (reset_requested_.exchange(false)) {
        for (auto& c : conns_) close_conn(c, true);
      }
      std::erase_if(conns_, [](const Conn& c) { return !c.open; });
      const bool cut = partitioned_;
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      if (!cut) {
        for (auto& c : conns_) {
          fds.push_back({c.up.from, POLLIN, 0});
          fds.push_back({c.down.from, POLLIN, 0});
        }
      }
      ::poll(fds.data(), fds.size(), 1);
      accept_new();
      if (cut) continue;
      for (auto& c : conns_) {
        if (!c.open) continue;
        if (!pull(c.up) || !pull(c.down)) {
          // One side closed: deliver what is due, then close both (a FIN, as the peer did).
          push(c.up);
          push(c.down);
          close_conn(c, false);
          continue;
        }
        if (!push(c.up) || !push(c.down)) close_conn(c, true);
      }
    }
  }

  std::string upstream_ip_;
  int upstream_port_;
  std::string addr_;
  int listen_fd_ = -1;
  std::vector<Conn> conns_;  // the proxy thread's only
  std::mutex mu_;
  std::chrono::milliseconds delay_{0}, jitter_{0};
  std::mt19937 rng_{42};
  std::atomic<bool> partitioned_{false};
  std::atomic<bool> reset_requested_{false};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace tradeshard::testing
