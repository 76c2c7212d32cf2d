#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "connection.hpp"

extern char** environ;

namespace tradeshard::bench {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& ports_file, const std::string& log_path,
                           int cpu) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // posix_spawn has no affinity attribute: pin ourselves around the spawn so the child starts
  // pinned (threads it creates inherit it), then restore our own mask.
  cpu_set_t saved;
  CPU_ZERO(&saved);
  const bool have_saved = ::sched_getaffinity(0, sizeof saved, &saved) == 0;
  if (cpu >= 0) pin_to_cpu(0, cpu);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = ::posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (have_saved) ::sched_setaffinity(0, sizeof saved, &saved);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto p = nlohmann::json::parse(read_file(ports_file), nullptr, false);
    if (!p.is_discarded() && p.is_object() && p.contains("tcp")) {
      tcp_port_ = p["tcp"].get<std::uint16_t>();
      if (p.contains("http")) http_port_ = p["http"].get<std::uint16_t>();
      // And once more on the live pid, covering any thread started before the mask took hold.
      if (cpu >= 0) pin_to_cpu(pid_, cpu);
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(argv[0] + " exited during start-up; log: " + read_file(log_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error(argv[0] + " did not listen within 20 s; log: " + read_file(log_path));
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

double ChildProcess::cpu_seconds() const {
  const std::string stat = read_file("/proc/" + std::to_string(pid_) + "/stat");
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

bool pin_to_cpu(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pid == 0) return ::sched_setaffinity(0, sizeof set, &set) == 0;
  bool ok = true;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      ok = ::sched_setaffinity(static_cast<pid_t>(std::atoi(e->d_name)), sizeof set, &set) == 0 && ok;
    }
    ::closedir(d);
    return ok;
  }
  return ::sched_setaffinity(pid, sizeof set, &set) == 0;
}

std::string affinity_of(pid_t pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(pid, sizeof set, &set) != 0) return "?";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int last = c;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    if (!out.empty()) out += ",";
    out += last == c ? std::to_string(c) : std::to_string(c) + "-" + std::to_string(last);
    c = last;
  }
  return out;
}

int online_cpus() { return static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)); }

std::string cpu_model() {
  std::istringstream in(read_file("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string http_get(std::uint16_t port, const std::string& path) {
  std::string error;
  Endpoint ep;
  ep.port = port;
  auto c = Connection::open(ep, error);
  if (!c) return {};
  c->queue_framed("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  std::string raw;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline) {
    if (c->has_output() && !c->flush()) return {};
    // Read raw bytes: a "line" framing is fine since we only join them back.
    open = c->read_available([&raw](std::string_view m) { raw.append(m).push_back('\n'); });
    if (open) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto body = raw.find("\n\n");
  return body == std::string::npos ? std::string{} : raw.substr(body + 2);
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}

std::string make_temp_dir() {
  char tmpl[] = "/tmp/tradeshard-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string command_line_output(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {};
  char buf[512] = {};
  const bool got = std::fgets(buf, sizeof buf, p) != nullptr;
  ::pclose(p);
  std::string s = got ? buf : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace tradeshard::bench
