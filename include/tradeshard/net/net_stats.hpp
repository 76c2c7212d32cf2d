#pragma once
// Edge counters shown in /stats and /metrics. Plain data (no Asio), so the HTTP API and its
// tests need only this, the admin token and the Gateway, not the Server.
#include <cstdint>
#include <variant>

#include "tradeshard/app/messages.hpp"

namespace tradeshard::net {

struct NetStats {
  std::uint64_t connections_open = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t connections_rejected = 0;  // over limits.max_connections
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t out_by_type[std::variant_size_v<app::Outbound>] = {};  // by Outbound index
  std::uint64_t errors_by_code[static_cast<int>(app::WireError::not_logged_in) + 2] = {};  // by WireError; last: other
  std::uint64_t slow_consumer_disconnects = 0;
  std::uint64_t idle_disconnects = 0;
  std::uint64_t oversize_messages = 0;
  std::uint64_t http_requests = 0;
  struct HttpErrors {
    std::uint64_t bad_request = 0;         // 400
    std::uint64_t unauthorized = 0;        // 401
    std::uint64_t not_found = 0;           // 404
    std::uint64_t method_not_allowed = 0;  // 405
    std::uint64_t too_large = 0;           // 413, 431
    std::uint64_t timeouts = 0;            // the request did not arrive in limits.http_timeout_ms
  } http_errors;
  // Counts an HTTP error reply by its status (other statuses are not errors of the request).
  void count_http_error(unsigned status) noexcept {
    switch (status) {
      case 400: ++http_errors.bad_request; break;
      case 401: ++http_errors.unauthorized; break;
      case 404: ++http_errors.not_found; break;
      case 405: ++http_errors.method_not_allowed; break;
      case 413: case 431: ++http_errors.too_large; break;
      default: break;
    }
  }
};

}  // namespace tradeshard::net
