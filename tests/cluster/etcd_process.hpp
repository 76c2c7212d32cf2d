#pragma once
// A real etcd (Debian's etcd-server, scripts/install-deps.sh) for the tests: one member or a few,
// each on its own 127.0.0.x address with free ports, data in /dev/shm (TMPDIR without it), killed
// and removed at the end. kill9(), pause()/resume() (SIGSTOP/SIGCONT) and restart() make faults.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tradeshard::testing {

// A port free on `ip` now (the kernel's pick; the moment between closing and etcd binding it is
// the usual race, harmless on a test machine).
inline int free_port(const std::string& ip) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind " + ip);
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// GET over a blocking socket; the body, or empty when nothing answered.
inline std::string plain_get(const std::string& ip, int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  const auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? std::string{} : out.substr(body + 4);
}

class EtcdCluster {
 public:
  struct Member {
    std::string name;
    std::string ip;
    int client_port = 0;
    int peer_port = 0;
    std::string dir;
    pid_t pid = -1;
    bool paused = false;
  };

  // `members` etcd processes on 127.0.0.<first_ip_octet + i>.
  explicit EtcdCluster(int members = 1, int first_ip_octet = 40, std::vector<std::string> extra_args = {})
      : extra_(std::move(extra_args)) {
    const char* shm = "/dev/shm";
    const std::string base = std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path().string();
    root_ = base + "/tradeshard-etcd-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++);
    std::filesystem::create_directories(root_);
    for (int i = 0; i < members; ++i) {
      Member m;
      m.name = "e" + std::to_string(i + 1);
      m.ip = "127.0.0." + std::to_string(first_ip_octet + i);
      m.client_port = free_port(m.ip);
      m.peer_port = free_port(m.ip);
      m.dir = root_ + "/" + m.name;
      members_.push_back(m);
    }
    for (std::size_t i = 0; i < members_.size(); ++i) spawn(i);
    for (std::size_t i = 0; i < members_.size(); ++i) wait_healthy(i);
  }

  ~EtcdCluster() {
    for (std::size_t i = 0; i < members_.size(); ++i) kill9(i);
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::string endpoint(std::size_t i = 0) const {
    return "http://" + members_[i].ip + ":" + std::to_string(members_[i].client_port);
  }
  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < members_.size(); ++i) out.push_back(endpoint(i));
    return out;
  }
  const Member& member(std::size_t i) const { return members_[i]; }

  void kill9(std::size_t i) {
    Member& m = members_[i];
    if (m.pid <= 0) return;
    if (m.paused) ::kill(m.pid, SIGCONT);
    ::kill(m.pid, SIGKILL);
    ::waitpid(m.pid, nullptr, 0);
    m.pid = -1;
    m.paused = false;
  }
  void pause(std::size_t i) {
    ::kill(members_[i].pid, SIGSTOP);
    members_[i].paused = true;
  }
  void resume(std::size_t i) {
    ::kill(members_[i].pid, SIGCONT);
    members_[i].paused = false;
  }
  // Starts member i again on its data directory and ports (after kill9).
  void restart(std::size_t i) {
    kill9(i);
    spawn(i, true);
    wait_healthy(i);
  }

  std::string log(std::size_t i) const {
    std::ifstream f(members_[i].dir + ".log");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }

  std::string initial_cluster() const {
    std::string out;
    for (const auto& m : members_) {
      if (!out.empty()) out += ",";
      out += m.name + "=http://" + m.ip + ":" + std::to_string(m.peer_port);
    }
    return out;
  }

  void spawn(std::size_t i, bool existing = false) {
    Member& m = members_[i];
    const std::string client = "http://" + m.ip + ":" + std::to_string(m.client_port);
    const std::string peer = "http://" + m.ip + ":" + std::to_string(m.peer_port);
    std::vector<std::string> args = {TRADESHARD_ETCD_PATH,
                                     "--name", m.name,
                                     "--data-dir", m.dir,
                                     "--listen-client-urls", client,
                                     "--advertise-client-urls", client,
                                     "--listen-peer-urls", peer,
                                     "--initial-advertise-peer-urls", peer,
                                     "--initial-cluster", initial_cluster(),
                                     "--initial-cluster-state", existing ? "existing" : "new",
                                     "--initial-cluster-token", "tradeshard-test",
                                     // as scripts/cluster.sh runs it (docs/cluster.md "Compaction")
                                     "--auto-compaction-mode", "periodic",
                                     "--auto-compaction-retention", "1m"};
    for (const auto& a : extra_) args.push_back(a);
    const std::string log_path = m.dir + ".log";
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    m.pid = pid;
  }

  void wait_healthy(std::size_t i) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(members_[i].pid, &status, WNOHANG) == members_[i].pid) {
        members_[i].pid = -1;
        throw std::runtime_error("etcd " + members_[i].name + " exited at start:\n" + log(i));
      }
      if (plain_get(members_[i].ip, members_[i].client_port, "/health").find("\"true\"") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("etcd " + members_[i].name + " not healthy within 20 s:\n" + log(i));
  }

  std::string root_;
  std::vector<std::string> extra_;
  std::vector<Member> members_;
};

}  // namespace tradeshard::testing
