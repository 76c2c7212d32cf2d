#include "connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace tradeshard::bench {
namespace {

constexpr std::size_t kReadChunk = 256 * 1024;

int connect_tcp(const Endpoint& ep, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(ep.port);
  if (const int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error = "resolve " + ep.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = "connect " + ep.host + ":" + port + ": " + std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Blocking upgrade; returns bytes received after the response head (may hold first frames).
bool ws_handshake(int fd, const Endpoint& ep, std::string& rest, std::string& error) {
  // The key only has to be 16 base64-encoded bytes; the server echoes a hash we do not verify.
  const std::string req = "GET " + ep.path + " HTTP/1.1\r\nHost: " + ep.host + ":" + std::to_string(ep.port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dHJhZGVzaGFyZC1iZW5jaA==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    error = "websocket handshake: send failed";
    return false;
  }
  std::string head;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
    const auto end = head.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
      error = "websocket handshake refused: " + head.substr(0, head.find("\r\n"));
      return false;
    }
    rest = head.substr(end + 4);
    return true;
  }
  error = "websocket handshake: no response";
  return false;
}

}  // namespace

bool parse_endpoint(std::string_view text, bool websocket, Endpoint& out) {
  out = Endpoint{};
  out.websocket = websocket;
  if (websocket) {
    constexpr std::string_view scheme = "ws://";
    if (text.substr(0, scheme.size()) != scheme) return false;
    text.remove_prefix(scheme.size());
    const auto slash = text.find('/');
    if (slash != std::string_view::npos) {
      out.path = std::string(text.substr(slash));
      text = text.substr(0, slash);
    }
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  out.host = std::string(text.substr(0, colon));
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') out.host = out.host.substr(1, out.host.size() - 2);
  unsigned port = 0;
  const auto digits = text.substr(colon + 1);
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size() || port == 0 || port > 65535) return false;
  out.port = static_cast<std::uint16_t>(port);
  return true;
}

std::unique_ptr<Connection> Connection::open(const Endpoint& ep, std::string& error) {
  const int fd = connect_tcp(ep, error);
  if (fd < 0) return nullptr;
  std::string rest;
  if (ep.websocket && !ws_handshake(fd, ep, rest, error)) {
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<Connection> c(new Connection(fd, ep.websocket, static_cast<std::uint64_t>(fd) * 0x9E3779B97F4A7C15ULL));
  c->in_ = std::move(rest);
  return c;
}

Connection::Connection(int fd, bool ws, std::uint64_t mask_seed) : fd_(fd), ws_(ws), mask_state_(mask_seed | 1) {
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::frame(std::string& out, std::string_view message) {
  if (!ws_) {
    out.append(message);
    out.push_back('\n');
    return;
  }
  const std::size_t len = message.size();
  out.push_back(static_cast<char>(0x81));  // FIN + text
  if (len < 126) {
    out.push_back(static_cast<char>(0x80 | len));
  } else if (len <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((static_cast<std::uint64_t>(len) >> s) & 0xFF));
  }
  // Clients must mask every frame (RFC 6455 5.3); xorshift keeps the keys varied and cheap.
  mask_state_ ^= mask_state_ << 13;
  mask_state_ ^= mask_state_ >> 7;
  mask_state_ ^= mask_state_ << 17;
  char key[4];
  for (int i = 0; i < 4; ++i) key[i] = static_cast<char>((mask_state_ >> (8 * i)) & 0xFF);
  out.append(key, 4);
  const std::size_t start = out.size();
  out.append(message);
  for (std::size_t i = 0; i < len; ++i) out[start + i] = static_cast<char>(out[start + i] ^ key[i & 3]);
}

bool Connection::flush() {
  if (!control_.empty()) {
    out_.append(control_);
    control_.clear();
  }
  while (out_off_ < out_.size()) {
    const long n = write_direct(out_.data() + out_off_, out_.size() - out_off_);
    if (n < 0) return false;
    if (n == 0) break;
    out_off_ += static_cast<std::size_t>(n);
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ > (1u << 20)) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  return true;
}

long Connection::write_direct(const char* data, std::size_t len) {
  const ssize_t n = ::send(fd_, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n >= 0) return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  return -1;
}

long Connection::read_some() {
  if (fd_ < 0) return 0;
  if (in_off_ > 0 && in_off_ == in_.size()) {
    in_.clear();
    in_off_ = 0;
  } else if (in_off_ > kReadChunk) {
    in_.erase(0, in_off_);
    in_off_ = 0;
  }
  const std::size_t old = in_.size();
  in_.resize(old + kReadChunk);
  const ssize_t n = ::recv(fd_, in_.data() + old, kReadChunk, MSG_DONTWAIT);
  in_.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
  if (n > 0) return n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
  return 0;
}

bool Connection::next_message(std::string_view& message) {
  const char* base = in_.data() + in_off_;
  const std::size_t avail = in_.size() - in_off_;
  if (!ws_) {
    const void* nl = std::memchr(base, '\n', avail);
    if (!nl) return false;
    const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
    in_off_ += len + 1;
    message = std::string_view(base, len > 0 && base[len - 1] == '\r' ? len - 1 : len);
    return true;
  }
  for (;;) {
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + in_off_);
    const std::size_t have = in_.size() - in_off_;
    if (have < 2) return false;
    std::size_t hdr = 2;
    std::uint64_t len = p[1] & 0x7F;
    if (len == 126) {
      if (have < 4) return false;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      hdr = 4;
    } else if (len == 127) {
      if (have < 10) return false;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      hdr = 10;
    }
    if (have < hdr + len) return false;
    const bool fin = (p[0] & 0x80) != 0;
    const int opcode = p[0] & 0x0F;
    const std::string_view payload(in_.data() + in_off_ + hdr, static_cast<std::size_t>(len));
    in_off_ += hdr + static_cast<std::size_t>(len);
    if (opcode == 0x9) {  // ping: answer with a pong carrying the same payload
      const std::size_t at = control_.size();
      frame(control_, payload);
      control_[at] = static_cast<char>(0x8A);
      continue;
    }
    if (opcode == 0x8) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    if (opcode == 0xA) continue;
    if (opcode == 0x0 || !fin) {
      fragments_.append(payload);
      if (!fin) continue;
      assembled_ = std::move(fragments_);
      fragments_.clear();
      message = assembled_;
      return true;
    }
    message = payload;
    return true;
  }
}

}  // namespace tradeshard::bench
