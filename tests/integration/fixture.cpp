#include "fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tradeshard::testing {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string make_temp_dir() {
  char tmpl[] = "/tmp/tradeshard-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

int connect_to(unsigned short port, int rcvbuf) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed: " + std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

json test_config(const json& patch) {
  json c = json::parse(read_file(std::string(TRADESHARD_SOURCE_DIR) + "/config/tradeshard.json"));
  c["listen"]["tcp"] = "127.0.0.1:0";
  c["listen"]["http"] = "127.0.0.1:0";
  c["log"]["level"] = "info";
  c.merge_patch(patch);
  return c;
}

DaemonProcess::DaemonProcess(const json& config, std::vector<std::string> extra_env, bool until_leading)
    : config_(config), env_(std::move(extra_env)), dir_(make_temp_dir()), until_leading_(until_leading) {
  if (!config_.contains("ledger") || !config_["ledger"].contains("data_dir") ||
      config_["ledger"]["data_dir"] == "data/ledger") {
    config_["ledger"]["data_dir"] = dir_ + "/ledger";
  }
  if (config_.contains("history") && config_["history"].value("dir", "") == "data/history") {
    config_["history"]["dir"] = dir_ + "/history";
    config_["history"]["archive_dir"] = dir_ + "/history-archive";
  }
  std::ofstream(dir_ + "/config.json") << config_.dump(2);
  spawn();
}

void DaemonProcess::spawn() {
  const std::string ports = dir_ + "/ports.json";
  ::unlink(ports.c_str());
  // TRADESHARDD_UNDER_TEST runs the suite against another build of the daemon (e.g. the code
  // before a fix, to see a regression test fail there).
  const char* other = std::getenv("TRADESHARDD_UNDER_TEST");
  std::vector<std::string> args = {other && *other ? other : TRADESHARDD_PATH, "--config", dir_ + "/config.json", "--ports-file", ports};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 && std::strncmp(*e, "WATCHDOG_", 9) != 0) env_store.emplace_back(*e);
  }
  for (const auto& e : env_) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, (dir_ + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const json p = json::parse(read_file(ports), nullptr, false);
    const bool standby = !p.is_discarded() && p.value("role", "") == "standby";
    if (!p.is_discarded() && p.contains("tcp") && (!standby || !until_leading_)) {
      tcp_port_ = p["tcp"].get<unsigned short>();
      http_port_ = p["http"].get<unsigned short>();
      return;
    }
    if (!p.is_discarded() && p.contains("link")) {  // a worker process (cluster mode)
      link_port_ = p["link"].get<unsigned short>();
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("daemon exited during start-up: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("daemon did not start listening within 20 s: " + log());
}

bool DaemonProcess::wait_leading(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const json p = json::parse(read_file(dir_ + "/ports.json"), nullptr, false);
    if (!p.is_discarded() && p.value("role", "") == "gateway" && p.value("tcp", 0) != 0) {
      tcp_port_ = p["tcp"].get<unsigned short>();
      http_port_ = p["http"].get<unsigned short>();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void DaemonProcess::restart() {
  if (pid_ > 0) stop(SIGKILL);
  spawn();
}

std::optional<int> DaemonProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) { /* best effort */ }
}

std::string DaemonProcess::log() const { return read_file(dir_ + "/stderr.log"); }

std::pair<int, std::string> run_command(const std::vector<std::string>& args,
                                        const std::vector<std::string>& extra_env) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> a = args;
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    return {127, std::string("spawn failed: ") + std::strerror(rc)};
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

LineClient::LineClient(unsigned short port, int rcvbuf) : fd_(connect_to(port, rcvbuf)) {}
LineClient::~LineClient() {
  if (fd_ >= 0) ::close(fd_);
}

void LineClient::send_raw(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    off += static_cast<std::size_t>(n);
  }
}

std::optional<std::string> LineClient::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return std::nullopt;
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
}

std::optional<json> LineClient::read_json(std::chrono::milliseconds timeout) {
  auto line = read_line(timeout);
  if (!line) return std::nullopt;
  json j = json::parse(*line, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("daemon sent invalid JSON: " + *line);
  return j;
}

std::optional<json> LineClient::read_until(const std::string& type, const std::string& id,
                                           std::chrono::milliseconds timeout) {
  const auto matches = [&](const json& j) {
    return j["type"] == type && (id.empty() || (j.contains("id") && j["id"] == id));
  };
  for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
    if (matches(*it)) {
      json j = std::move(*it);
      backlog_.erase(it);
      return j;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto j = read_json(left);
    if (!j) return std::nullopt;
    if (matches(*j)) return j;
    backlog_.push_back(std::move(*j));
  }
}

bool LineClient::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return true;
  }
}

HttpReply http_request(unsigned short port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer) {
  LineClient c(port);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
  if (!body.empty() || method == "POST") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  c.send_raw(req);
  std::string raw;
  for (;;) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char tmp[65536];
    const ssize_t n = ::recv(c.fd(), tmp, sizeof tmp, 0);
    if (n <= 0) break;
    raw.append(tmp, static_cast<std::size_t>(n));
  }
  HttpReply r;
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return r;
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  if (line.size() > 12) r.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r')) value.pop_back();
    r.headers[name] = value;
  }
  r.body = raw.substr(head_end + 4);
  return r;
}

}  // namespace tradeshard::testing
