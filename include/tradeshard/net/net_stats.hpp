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
  std::uint64_t http_errors[6] = {};  // 400, 401, 404, 405, 413, 408
};

}  // namespace tradeshard::net
