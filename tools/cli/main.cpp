// tradeshard: the operator's command-line tool (docs/operations.md).
//   tradeshard status                  health, workers, partitions, replicas as tables
//   tradeshard top                     the same, live, refreshed once a second, with rates
//   tradeshard replay FILE             send a JSON-lines or CSV file with a progress bar, then a summary
//   tradeshard order ... / cancel ...  one-off actions
// It finds the daemon with --http HOST:PORT / --tcp HOST:PORT, by default from the listen section
// of --config (default config/tradeshard.json when present, else 127.0.0.1:8080 / :7100).
// C++ in the same build rather than a script: nothing to install beside the daemon, and replay
// keeps up with the daemon (a script's JSON loop would be the bottleneck at 100k+ messages/s).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Endpoint {
  std::string host;
  std::string port;
  [[nodiscard]] std::string text() const { return host + ":" + port; }
};

[[noreturn]] void die(const std::string& message, int code = 2) {
  std::cerr << "tradeshard: " << message << "\n";
  std::exit(code);
}

Endpoint parse_endpoint(const std::string& s, const char* what) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) die(std::string(what) + " must be HOST:PORT (got \"" + s + "\")");
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, s.substr(colon + 1)};
}

// Options: --name value pairs and flags, in any position after the subcommand; the rest positional.
struct Args {
  std::map<std::string, std::string> opts;
  std::vector<std::string> positional;
  [[nodiscard]] bool has(const std::string& k) const { return opts.count(k) != 0; }
  [[nodiscard]] std::string get(const std::string& k, std::string dflt = {}) const {
    const auto it = opts.find(k);
    return it == opts.end() ? dflt : it->second;
  }
};

Args parse_args(int argc, char** argv, int from, const std::vector<std::string>& flags) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      std::string key = s.substr(2);
      if (const auto eq = key.find('='); eq != std::string::npos) {
        a.opts[key.substr(0, eq)] = key.substr(eq + 1);
      } else if (std::find(flags.begin(), flags.end(), key) != flags.end()) {
        a.opts[key] = "1";
      } else {
        if (i + 1 >= argc) die("--" + key + " needs a value");
        a.opts[key] = argv[++i];
      }
    } else {
      a.positional.push_back(std::move(s));
    }
  }
  return a;
}

// Where the daemon is: flags, else the config's listen section, else the shipped defaults.
struct Target {
  Endpoint http{"127.0.0.1", "8080"};
  Endpoint tcp{"127.0.0.1", "7100"};
  json config;  // the config read, or null
};

Target find_target(const Args& a) {
  Target t;
  const std::string path = a.get("config", "config/tradeshard.json");
  std::ifstream in(path);
  if (in) {
    t.config = json::parse(in, nullptr, false);
    if (t.config.is_discarded()) die(path + ": not valid JSON");
    if (t.config.contains("listen")) {
      const auto& l = t.config["listen"];
      if (l.contains("http") && l["http"].is_string()) t.http = parse_endpoint(l["http"], "listen.http");
      if (l.contains("tcp") && l["tcp"].is_string()) t.tcp = parse_endpoint(l["tcp"], "listen.tcp");
    }
  } else if (a.has("config")) {
    die("cannot read " + path);
  }
  if (a.has("http")) t.http = parse_endpoint(a.get("http"), "--http");
  if (a.has("tcp")) t.tcp = parse_endpoint(a.get("tcp"), "--tcp");
  return t;
}

tcp::socket connect_to(asio::io_context& io, const Endpoint& e, const char* what) {
  tcp::socket s(io);
  boost::system::error_code ec;
  tcp::resolver r(io);
  const auto results = r.resolve(e.host, e.port, ec);
  if (!ec) asio::connect(s, results, ec);
  if (ec) die(std::string("cannot reach tradeshard's ") + what + " listener at " + e.text() + ": " + ec.message() +
              " (is the daemon running? --" + (std::strcmp(what, "HTTP") == 0 ? "http" : "tcp") + " HOST:PORT)");
  return s;
}

struct HttpReply {
  unsigned status = 0;
  json body;
};

HttpReply http_get(const Endpoint& e, const std::string& path) {
  asio::io_context io;
  auto s = connect_to(io, e, "HTTP");
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + e.text() + "\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string all;
  boost::system::error_code ec;
  char buf[65536];
  for (;;) {
    const auto n = s.read_some(asio::buffer(buf), ec);
    all.append(buf, n);
    if (ec) break;
  }
  HttpReply r;
  if (all.rfind("HTTP/1.", 0) != 0) die("unexpected answer from " + e.text() + path + " (not HTTP)");
  r.status = static_cast<unsigned>(std::atoi(all.c_str() + 9));
  const auto body = all.find("\r\n\r\n");
  r.body = json::parse(body == std::string::npos ? std::string() : all.substr(body + 4), nullptr, false);
  if (r.body.is_discarded()) die("unexpected answer from " + e.text() + path + " (not JSON)");
  return r;
}

std::string num(double v, int decimals = 0) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

// A plain text table: the header, a rule, the rows; columns as wide as their widest cell.
void table(std::ostream& out, const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(head.size());
  for (std::size_t c = 0; c < head.size(); ++c) w[c] = head[c].size();
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size() && c < w.size(); ++c) w[c] = std::max(w[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    for (std::size_t c = 0; c < head.size(); ++c) {
      const std::string cell = c < r.size() ? r[c] : "";
      out << cell;
      if (c + 1 < head.size()) out << std::string(w[c] - cell.size() + 2, ' ');
    }
    out << "\n";
  };
  line(head);
  std::size_t total = 0;
  for (auto x : w) total += x + 2;
  out << std::string(total > 2 ? total - 2 : 0, '-') << "\n";
  for (const auto& r : rows) line(r);
}

std::string str(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "-";
  if (j.is_number_float()) return num(j.get<double>(), 1);
  return j.dump();
}

// One picture of the daemon; returns false when it answered degraded.
bool print_status(std::ostream& out, const Target& t) {
  const auto health = http_get(t.http, "/health");
  const auto workers = http_get(t.http, "/workers");
  const auto parts = http_get(t.http, "/partitions");
  const auto replicas = http_get(t.http, "/replicas");
  const auto consistency = http_get(t.http, "/replicas/consistency");
  const bool ok = health.body.value("status", "") == "ok";
  out << "tradeshard at " << t.http.text() << ": " << (ok ? "ok" : "DEGRADED") << "  version "
      << health.body.value("version", "?") << "\n";
  if (!ok && health.body.contains("reasons")) {
    for (const auto& r : health.body["reasons"]) out << "  - " << str(r) << "\n";
  }
  out << "\nworkers (strategy " << str(workers.body["strategy"]) << ")\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : workers.body["workers"]) {
    std::string syms;
    std::size_t n = 0;
    for (const auto& s : w["symbols"]) {
      if (n++ < 8) syms += (syms.empty() ? "" : " ") + str(s);
    }
    if (n > 8) syms += " +" + std::to_string(n - 8);
    rows.push_back({str(w["id"]), str(w["state"]), str(w["current_load"]) + "/" + str(w["capacity"]),
                    num(w.value("load_pct", 0.0), 1) + "%", num(w.value("latency_us", 0.0), 1), str(w["queued"]),
                    std::to_string(n) + (syms.empty() ? "" : ": " + syms)});
  }
  table(out, {"worker", "state", "load/cap", "load%", "latency_us", "queued", "books"}, rows);
  out << "\npartitions (" << str(parts.body["strategy"]) << ", " << str(parts.body["partition_count"]) << " partitions, "
      << str(parts.body["symbols"]) << " symbols)\n";
  rows.clear();
  for (const auto& n : parts.body["assignment"]) rows.push_back({str(n["id"]), std::to_string(n["partitions"].size())});
  table(out, {"node", "partitions"}, rows);
  out << "\nreplicas (committed " << str(replicas.body["committed_version"]) << ", quorum " << str(replicas.body["quorum"])
      << (replicas.body.value("has_quorum", false) ? "" : ", NO QUORUM") << ", "
      << (consistency.body.value("is_consistent", false) ? "consistent" : "inconsistent") << ")\n";
  rows.clear();
  for (const auto& r : replicas.body["replicas"]) rows.push_back({str(r["node_id"]), str(r["state"]), str(r["version"]), str(r["lag"])});
  table(out, {"replica", "state", "version", "lag"}, rows);
  return ok;
}

int cmd_status(const Args& a) {
  const Target t = find_target(a);
  (void)print_status(std::cout, t);
  return 0;  // the daemon answered: 0, degraded or not (the output says which)
}

int cmd_top(const Args& a) {
  const Target t = find_target(a);
  const int iterations = std::atoi(a.get("iterations", "0").c_str());  // 0 = until interrupted
  const auto interval = std::chrono::milliseconds(std::atoi(a.get("interval-ms", "1000").c_str()));
  json last;
  auto last_at = Clock::now();
  for (int i = 0; iterations == 0 || i < iterations; ++i) {
    const auto stats = http_get(t.http, "/stats").body;
    const auto now = Clock::now();
    std::ostringstream rates;
    if (!last.is_null()) {
      const double dt = std::chrono::duration<double>(now - last_at).count();
      auto rate = [&](const json& a2, const json& b) { return dt > 0 ? (a2.get<double>() - b.get<double>()) / dt : 0.0; };
      rates << "orders/s " << num(rate(stats["matching"]["orders"], last["matching"]["orders"]))
            << "  fills/s " << num(rate(stats["matching"]["fills"], last["matching"]["fills"]))
            << "  ticks/s " << num(rate(stats["ticks"]["ticks_processed"], last["ticks"]["ticks_processed"]))
            << "  ack p50/p99 us " << num(stats["matching"]["order_to_ack_us"]["p50"].get<double>(), 1) << "/"
            << num(stats["matching"]["order_to_ack_us"]["p99"].get<double>(), 1) << "  live orders "
            << str(stats["matching"]["live_orders"]) << "\n";
    } else {
      rates << "(rates after the next refresh)\n";
    }
    last = stats;
    last_at = now;
    std::ostringstream frame;
    (void)print_status(frame, t);
    std::cout << (isatty(1) ? "\x1b[H\x1b[2J" : "") << rates.str() << frame.str() << std::flush;
    if (iterations == 0 || i + 1 < iterations) std::this_thread::sleep_for(interval);
  }
  return 0;
}

// ---- replay ----

struct Line {
  std::string text;
  std::int64_t ts_ms = -1;  // recorded time, when the message has one
};

std::string decimal(std::int64_t units, const std::string& step) {
  // units x step, exactly: step is a decimal string ("0.01", "1", "0.00001").
  const auto dot = step.find('.');
  const int scale = dot == std::string::npos ? 0 : static_cast<int>(step.size() - dot - 1);
  std::string digits = step;
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const long long step_units = std::atoll(digits.c_str());
  const long long v = units * step_units;
  std::string s = std::to_string(v < 0 ? -v : v);
  if (scale > 0) {
    if (static_cast<int>(s.size()) <= scale) s.insert(0, static_cast<std::size_t>(scale - static_cast<int>(s.size()) + 1), '0');
    s.insert(s.size() - static_cast<std::size_t>(scale), ".");
  }
  return (v < 0 ? "-" : "") + s;
}

// The CSV of docs/matching.md (op,id,side,price_ticks,qty_lots,tif[,account]) onto one symbol.
std::optional<std::string> csv_to_json(const std::string& line, const std::string& symbol, const std::string& tick,
                                       const std::string& lot, std::size_t lineno) {
  if (line.empty() || line[0] == '#' || line.rfind("op,", 0) == 0) return std::nullopt;
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  if (f.size() < 6) die("line " + std::to_string(lineno) + ": want op,id,side,price_ticks,qty_lots,tif[,account]");
  const std::string id = "c" + f[1];
  const std::string account = "acct-" + (f.size() > 6 && !f[6].empty() ? f[6] : std::string("1"));
  json m;
  if (f[0] == "new" || f[0] == "new_market") {
    m = {{"type", "order"}, {"id", id}, {"account", account}, {"symbol", symbol}, {"side", f[2]},
         {"qty", decimal(std::atoll(f[4].c_str()), lot)}, {"tif", f[5].empty() ? "gtc" : f[5]}};
    if (f[0] == "new") m["price"] = decimal(std::atoll(f[3].c_str()), tick);
    else m["kind"] = "market";
  } else if (f[0] == "cancel") {
    m = {{"type", "cancel"}, {"id", id}, {"account", account}};
  } else if (f[0] == "replace") {
    m = {{"type", "replace"}, {"id", id}, {"account", account}, {"price", decimal(std::atoll(f[3].c_str()), tick)},
         {"qty", decimal(std::atoll(f[4].c_str()), lot)}};
  } else {
    die("line " + std::to_string(lineno) + ": unknown op \"" + f[0] + "\" (new, new_market, cancel, replace)");
  }
  return m.dump();
}

std::vector<Line> load_replay(const std::string& path, const Args& a, const Target& t) {
  std::ifstream in(path);
  if (!in) die("cannot read " + path);
  const bool csv = a.get("format", path.size() > 4 && path.substr(path.size() - 4) == ".csv" ? "csv" : "jsonl") == "csv";
  std::string symbol = a.get("symbol", "BTCUSDT"), tick = a.get("tick-size"), lot = a.get("lot-size");
  if (csv && (tick.empty() || lot.empty())) {
    // The symbol's tick and lot from the config, so the CSV's integer ticks and lots become prices.
    if (t.config.is_object() && t.config.contains("instruments")) {
      for (const auto& i : t.config["instruments"]) {
        if (i.value("symbol", "") != symbol) continue;
        auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
        if (tick.empty()) tick = text(i["tick_size"]);
        if (lot.empty()) lot = text(i["lot_size"]);
      }
    }
    if (tick.empty() || lot.empty()) die("CSV replay of " + symbol + " needs its tick and lot size: --tick-size, --lot-size (or --config)");
  }
  std::vector<Line> out;
  std::size_t lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (csv) {
      if (auto m = csv_to_json(line, symbol, tick, lot, lineno)) out.push_back({std::move(*m), -1});
      continue;
    }
    if (line.empty()) continue;
    Line l{line, -1};
    // The recorded time: "ts" (ms) of a tick, when present. Found without a full parse.
    if (const auto p = line.find("\"ts\":"); p != std::string::npos) l.ts_ms = std::atoll(line.c_str() + p + 5);
    out.push_back(std::move(l));
  }
  return out;
}

void progress(std::size_t done, std::size_t total, double elapsed, bool final) {
  const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int width = 30;
  const int fill = static_cast<int>(frac * width);
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  std::fprintf(stderr, "\r[%s%s] %5.1f%%  %zu/%zu  %s msg/s  ETA %s s   ", std::string(static_cast<std::size_t>(fill), '#').c_str(),
               std::string(static_cast<std::size_t>(width - fill), '.').c_str(), 100.0 * frac, done, total,
               num(rate).c_str(), num(eta).c_str());
  if (final) std::fputc('\n', stderr);
  std::fflush(stderr);
}

int cmd_replay(const Args& a) {
  if (a.positional.empty()) die("replay FILE [--speed N | --max] [--tcp HOST:PORT] [--symbol S --format csv|jsonl]");
  const Target t = find_target(a);
  const auto lines = load_replay(a.positional[0], a, t);
  const bool max = a.has("max");
  const double speed = std::atof(a.get("speed", "1").c_str());
  if (!max && !(speed > 0)) die("--speed must be > 0 (or --max)");
  asio::io_context io;
  auto sock = connect_to(io, t.tcp, "TCP");
  // Replies are read as they come (a daemon never sees this client as a slow consumer), counted
  // by type and by reject / error reason.
  std::atomic<std::size_t> replies{0};
  std::mutex mu;
  std::map<std::string, std::size_t> by_type, rejects, errors;
  std::atomic<bool> pong{false};
  std::thread reader([&] {
    asio::streambuf buf;
    boost::system::error_code ec;
    for (;;) {
      const auto n = asio::read_until(sock, buf, '\n', ec);
      if (ec) return;
      std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
      buf.consume(n);
      const json m = json::parse(line, nullptr, false);
      if (m.is_discarded()) continue;
      const std::string type = m.value("type", "?");
      std::lock_guard lock(mu);
      ++by_type[type];
      if (type == "reject") ++rejects[m.value("reason", "?")];
      if (type == "error") ++errors[m.value("error", "?")];
      if (type == "pong") {
        pong = true;
        continue;
      }
      ++replies;
    }
  });
  const auto start = Clock::now();
  auto last_draw = start;
  std::int64_t first_ts = -1;
  std::string batch;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    if (!max && l.ts_ms >= 0) {
      if (first_ts < 0) first_ts = l.ts_ms;
      const auto due = start + std::chrono::microseconds(static_cast<std::int64_t>(static_cast<double>(l.ts_ms - first_ts) * 1000.0 / speed));
      if (due > Clock::now()) {
        if (!batch.empty()) {
          asio::write(sock, asio::buffer(batch));
          batch.clear();
        }
        std::this_thread::sleep_until(due);
      }
    }
    batch += l.text;
    batch += '\n';
    if (batch.size() >= 64 * 1024) {
      asio::write(sock, asio::buffer(batch));
      batch.clear();
    }
    const auto now = Clock::now();
    if (now - last_draw >= std::chrono::milliseconds(200)) {
      progress(i + 1, lines.size(), std::chrono::duration<double>(now - start).count(), false);
      last_draw = now;
    }
  }
  // The pong says every message was read; orders still queued on a worker are answered when it
  // matches them, so after the pong the replies are awaited until they stop (300 ms quiet).
  batch += "{\"type\":\"ping\"}\n";
  asio::write(sock, asio::buffer(batch));
  const double send_s = std::chrono::duration<double>(Clock::now() - start).count();
  progress(lines.size(), lines.size(), send_s, true);
  for (int w = 0; w < 600 && !pong; ++w) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (std::size_t seen = replies.load(); pong;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (replies.load() == seen) break;
    seen = replies.load();
  }
  boost::system::error_code ec;
  sock.shutdown(tcp::socket::shutdown_both, ec);
  sock.close(ec);
  reader.join();
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::lock_guard lock(mu);
  std::cout << "replay " << a.positional[0] << ": " << lines.size() << " messages sent in " << num(send_s, 2) << " s ("
            << num(send_s > 0 ? static_cast<double>(lines.size()) / send_s : 0) << " msg/s), all answered after "
            << num(total_s, 2) << " s (replies settled)" << (pong ? "" : " (NOT all: no pong within 30 s)") << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : by_type) {
    if (k != "pong") rows.push_back({k, std::to_string(v)});
  }
  table(std::cout, {"reply", "count"}, rows);
  if (!rejects.empty()) {
    rows.clear();
    for (const auto& [k, v] : rejects) rows.push_back({k, std::to_string(v)});
    std::cout << "\nrejects by reason\n";
    table(std::cout, {"reason", "count"}, rows);
  }
  if (!errors.empty()) {
    rows.clear();
    for (const auto& [k, v] : errors) rows.push_back({k, std::to_string(v)});
    std::cout << "\nerrors by code\n";
    table(std::cout, {"error", "count"}, rows);
  }
  return pong ? 0 : 1;
}

// ---- one-off order / cancel ----

int send_and_show(const Target& t, const json& msg, const std::string& id, double wait_s) {
  asio::io_context io;
  auto sock = connect_to(io, t.tcp, "TCP");
  asio::write(sock, asio::buffer(msg.dump() + "\n"));
  asio::streambuf buf;
  const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(wait_s * 1000));
  int rc = 0;
  bool settled = false;  // an ack, reject or done seen
  sock.non_blocking(true);
  for (;;) {
    boost::system::error_code ec;
    const auto n = asio::read_until(sock, buf, '\n', ec);
    if (ec == asio::error::would_block) {
      if (Clock::now() >= deadline && settled) break;
      if (Clock::now() >= deadline + std::chrono::seconds(5)) die("no answer from " + t.tcp.text() + " within 5 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (ec) break;
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
    buf.consume(n);
    std::cout << line;
    const json m = json::parse(line, nullptr, false);
    if (m.is_discarded() || m.value("id", id) != id) continue;
    const std::string type = m.value("type", "");
    if (type == "reject" || type == "error") rc = 1;
    if (type == "ack" || type == "reject" || type == "error" || type == "done") settled = true;
    if ((type == "done" || type == "reject" || type == "error") && Clock::now() >= deadline) break;
  }
  return rc;
}

int cmd_order(const Args& a) {
  const Target t = find_target(a);
  for (const char* k : {"symbol", "side", "qty"}) {
    if (!a.has(k)) die(std::string("order needs --") + k + " (and --price for a limit order)");
  }
  const std::string id = a.get("id", "cli-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()));
  json m = {{"type", "order"}, {"id", id}, {"symbol", a.get("symbol")}, {"side", a.get("side")}, {"qty", a.get("qty")}};
  if (a.has("account")) m["account"] = a.get("account");
  if (a.has("price")) m["price"] = a.get("price");
  else m["kind"] = "market";
  if (a.has("tif")) m["tif"] = a.get("tif");
  if (a.has("priority")) m["priority"] = a.get("priority");
  const double wait = std::atof(a.get("wait", "0.3").c_str());
  if (!a.has("wait")) {
    std::cerr << "tradeshard: note: with matching.cancel_on_disconnect (the default) a resting order is cancelled "
                 "when this command exits; --wait SECONDS keeps the connection open that long\n";
  }
  return send_and_show(t, m, id, wait);
}

int cmd_cancel(const Args& a) {
  const Target t = find_target(a);
  if (!a.has("id") || !a.has("account")) die("cancel needs --id and --account (the order was placed on another connection)");
  const json m = {{"type", "cancel"}, {"id", a.get("id")}, {"account", a.get("account")}};
  return send_and_show(t, m, a.get("id"), 0.2);
}

void usage() {
  std::cout << "usage: tradeshard COMMAND [options]\n"
               "  status                          health, workers, partitions and replicas (exit 0 whenever the daemon answered)\n"
               "  top [--interval-ms N] [--iterations N]   live view, refreshed every second\n"
               "  replay FILE [--speed N | --max] JSON lines (ticks paced by their \"ts\") or CSV (docs/matching.md:\n"
               "                                  --symbol S, tick/lot from --config or --tick-size/--lot-size)\n"
               "  order --symbol S --side buy|sell --qty Q [--price P] [--account A] [--id ID] [--tif T] [--wait S]\n"
               "  cancel --id ID --account A\n"
               "options: --http HOST:PORT  --tcp HOST:PORT  --config FILE (default config/tradeshard.json)\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  const Args a = parse_args(argc, argv, 2, {"max"});
  try {
    if (cmd == "status") return cmd_status(a);
    if (cmd == "top") return cmd_top(a);
    if (cmd == "replay") return cmd_replay(a);
    if (cmd == "order") return cmd_order(a);
    if (cmd == "cancel") return cmd_cancel(a);
  } catch (const std::exception& e) {
    die(e.what());
  }
  std::cerr << "tradeshard: unknown command \"" << cmd << "\"\n";
  usage();
  return 2;
}
