#include "session_base.hpp"

#include <boost/asio/post.hpp>

#include "linger.hpp"
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

void SessionBase::register_with_gateway() {
  gateway_conn_ = server_.gateway().open(*this);
  open_ = true;
}

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

void SessionBase::send(const app::Outbound& message) {
  // Must not close here (rule 2): a slow consumer fails, and closes from its own handler.
  if (closed_ || !open_ || failed_) return;
  auto& stats = server_.stats();
  ++stats.out_by_type[message.index()];
  const std::size_t before = pending_.size();
  protocol::encode(pending_, message, ++seq_);
  encoded(before);
  if (const auto v = server_.ack_version(); v != 0) durable_marks_.mark(before, v);
  const std::size_t held = pending_.size() + writing_.size();
  if (held > server_.config().limits.outbound_queue_bytes) {
    ++stats.slow_consumer_disconnects;
    log_->warn("conn {} {} slow consumer: {} bytes queued, limit {}; disconnecting", id_, transport_, held,
               server_.config().limits.outbound_queue_bytes);
    drop_pending();  // the batch a write holds stays with it until its completion handler runs
    durable_marks_.clear();
    fail("slow consumer");
    return;
  }
  schedule_write();
}

void SessionBase::abandon(std::string_view reason) {
  if (closed_ || failed_) return;
  log_->error("conn {} {}: {}; closing without sending {} queued bytes", id_, transport_, reason, pending_.size());
  drop_pending();
  durable_marks_.clear();
  fail("ledger write failed");
}

void SessionBase::resume_reading() {
  if (!paused_ || failed_ || closing_) return;
  paused_ = false;
  resumed();
}

void SessionBase::schedule_write() {
  if (write_scheduled_ || write_in_flight_) return;
  write_scheduled_ = true;
  boost::asio::post(lowest_socket().get_executor(), [self = shared_from_this()] {
    self->write_scheduled_ = false;
    self->do_write();
  });
}

std::size_t SessionBase::releasable() {
  if (durable_marks_.empty()) return pending_.size();
  const auto durable = server_.durable_version();
  const auto n = durable_marks_.releasable(pending_.size(), durable);
  if (n == 0 && !waiting_durable_) {
    waiting_durable_ = true;
    server_.wait_durable(durable_marks_.waiting_for(durable), shared_from_this());
  }
  return n;
}

void SessionBase::durable_ready() {
  waiting_durable_ = false;
  if (!write_in_flight_ && !closed_ && !failed_) do_write();
}

bool SessionBase::write_done(const boost::system::error_code& ec, std::size_t n) {
  write_in_flight_ = false;
  if (closed_) return false;
  if (ec) {
    close("write error");
    return false;
  }
  server_.stats().bytes_out += n;
  return !failed_;
}

void SessionBase::check_idle(std::chrono::steady_clock::time_point t) {
  if (!open_ || closed_ || failed_) return;
  const auto limit = std::chrono::milliseconds(server_.config().limits.idle_timeout_ms);
  const auto idle = t - last_active_;
  if (idle > limit) {
    ++server_.stats().idle_disconnects;
    log_->info("conn {} {} idle for {} ms; closing", id_, transport_, server_.config().limits.idle_timeout_ms);
    close("idle timeout");
    return;
  }
  if (idle > limit / 2 && !closing_) idle_half_way();
}

void SessionBase::shutdown() {
  if (closed_ || !open_ || failed_) return;
  closing_ = true;
  paused_ = true;
  if (!write_in_flight_) do_write();
}

void SessionBase::fail(const char* reason) {
  failed_ = true;
  paused_ = true;
  boost::asio::post(lowest_socket().get_executor(), [self = shared_from_this(), reason] { self->close(reason); });
}

void SessionBase::close(const char* reason) {
  if (closed_) return;
  closed_ = true;
  log_->info("conn {} {} closed: {}", id_, transport_, reason);
  unregister_from_gateway();
  linger_close(lowest_socket(), std::chrono::seconds(1));
  server_.remove(id_);
}

}  // namespace tradeshard::net
