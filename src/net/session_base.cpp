#include "session_base.hpp"

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/net/server.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {

SessionBase::SessionBase(Server& server, std::uint64_t id, const char* transport)
    : server_(server), id_(id), transport_(transport), log_(spdlog::get("net")) {
  last_active_ = tokens_at_ = std::chrono::steady_clock::now();
  tokens_ = server_.config().limits.messages_per_second;
}

SessionBase::~SessionBase() = default;

void SessionBase::register_with_gateway() { gateway_conn_ = server_.gateway().open(*this); }

void SessionBase::unregister_from_gateway() {
  if (gateway_conn_ != 0) {
    server_.gateway().close(gateway_conn_, now());
    gateway_conn_ = 0;
  }
}

bool SessionBase::admit(std::chrono::steady_clock::time_point t) {
  const auto rate = server_.config().limits.messages_per_second;
  if (rate == 0) return true;
  const double elapsed = std::chrono::duration<double>(t - tokens_at_).count();
  tokens_at_ = t;
  tokens_ = std::min<double>(rate, tokens_ + elapsed * rate);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void SessionBase::handle_message(std::string_view text, std::size_t padding, const app::Now& at) {
  auto& stats = server_.stats();
  ++stats.messages_in;
  if (server_.config().limits.messages_per_second != 0 && !admit(std::chrono::steady_clock::now())) {
    ++stats.errors_by_code[static_cast<int>(app::WireError::rate_limited)];
    server_.gateway().handle_error(gateway_conn_, app::DecodeError{app::WireError::rate_limited,
                                                                  "over limits.messages_per_second; message dropped", {}, {}});
    return;
  }
  auto result = server_.decoder().decode(text, padding);
  if (auto* err = std::get_if<app::DecodeError>(&result)) {
    ++stats.errors_by_code[static_cast<int>(err->code)];
    log_->debug("conn {} {}: {} ({})", id_, transport_, app::to_string(err->code), err->message);
    server_.gateway().handle_error(gateway_conn_, *err);
    return;
  }
  server_.gateway().handle(gateway_conn_, std::get<app::Command>(result), at);
}

}  // namespace tradeshard::net
