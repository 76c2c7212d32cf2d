#include <algorithm>
#include <cmath>
#include <cstdio>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "chaos.hpp"

namespace tradeshard::chaos {

double Samples::percentile(double q) const {
  if (us.empty()) return 0;
  std::vector<double> v = us;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  const std::size_t k = std::min(v.size() - 1, rank == 0 ? 0 : rank - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double Samples::max() const { return us.empty() ? 0 : *std::max_element(us.begin(), us.end()); }

json Samples::to_json() const {
  return {{"samples", us.size()}, {"p50_us", percentile(0.5)}, {"p99_us", percentile(0.99)},
          {"p999_us", percentile(0.999)}, {"max_us", max()}};
}

Canary::Canary(const Options& o) : o_(o), timer_(io_) {}

Canary::~Canary() {
  if (thread_.joinable()) finish();
}

bool connect_blocking(asio::io_context& io, Conn& c, const Target& target, std::string& error) {
  int state = 0;
  c.connect(target, [&state, &error](bool ok, const std::string& e) {
    state = ok ? 1 : 2;
    error = e;
  });
  run_until(io, [&state] { return state != 0; }, std::chrono::milliseconds(5000));
  if (state == 0) error = "connect timed out after 5 s";
  return state == 1;
}

bool Canary::open(std::string& error) {
  ConnOptions co;
  co.source = source_address(o_, 0);
  conn_ = std::make_shared<Conn>(io_, co);
  conn_->on_message = [this](std::string_view m) {
    if (type_of(m) != "pong" || sent_.empty()) return;
    const auto now = std::chrono::steady_clock::now();
    samples_.us.push_back(std::chrono::duration<double, std::micro>(now - sent_.front()).count());
    sent_.pop_front();
    outstanding_ = sent_.size();
    ++pongs_;
  };
  conn_->on_close = [this](const std::string& why) {
    if (running_) closed_early_ = true;
    close_reason_ = why;
  };
  return connect_blocking(io_, *conn_, o_.target, error);
}

void Canary::start() {
  running_ = true;
  timer_.expires_after(std::chrono::milliseconds(10));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
  io_.restart();
  thread_ = std::thread([this] {
    auto work = asio::make_work_guard(io_);
    while (!done_) io_.run_one_for(std::chrono::milliseconds(50));
  });
}

void Canary::tick() {
  if (!running_ || !conn_ || conn_->closed()) return;
  ++n_;
  if (tick_every_ > 0 && n_ % static_cast<std::uint64_t>(tick_every_) == 0) {
    const double bid = 50000.0 + static_cast<double>(n_ % 100) * 0.01;
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  R"({"type":"tick","symbol":"BTCUSDT","bid":"%.2f","ask":"%.2f","bid_size":"1","ask_size":"2"})", bid,
                  bid + 0.5);
    conn_->send(buf);
  }
  sent_.push_back(std::chrono::steady_clock::now());
  outstanding_ = sent_.size();
  conn_->send(R"({"type":"ping"})");
  timer_.expires_at(timer_.expiry() + std::chrono::milliseconds(10));
  if (timer_.expiry() < std::chrono::steady_clock::now()) timer_.expires_after(std::chrono::milliseconds(10));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void Canary::finish() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    running_ = false;
    timer_.cancel();
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (outstanding_ > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::atomic<bool> closed{false};
  asio::post(io_, [this, &closed] {
    stuck_us_ = sent_.empty() ? 0
                              : std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - sent_.front()).count();
    if (conn_) conn_->close();
    closed = true;
  });
  while (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  done_ = true;
  thread_.join();
}

asio::ip::address source_address(const Options& o, std::uint64_t i) {
  if (o.source_ips <= 0) return {};
  const auto k = static_cast<std::uint64_t>(o.source_ips);
  return asio::ip::make_address_v4(static_cast<asio::ip::address_v4::uint_type>(0x7F000002u + i % k));
}

std::string mib(std::uint64_t kib) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(kib) / 1024.0);
  return buf;
}

std::string type_of(std::string_view m) {
  const auto k = m.find("\"type\":\"");
  if (k == std::string_view::npos) return {};
  const auto start = k + 8;
  const auto end = m.find('"', start);
  return end == std::string_view::npos ? std::string{} : std::string(m.substr(start, end - start));
}

}  // namespace tradeshard::chaos
