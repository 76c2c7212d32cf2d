#pragma once
// How app components reach clients: by connection id, or by channel. Implemented by the Gateway.
#include <cstdint>
#include <string_view>

#include "tradeshard/app/messages.hpp"

namespace tradeshard::app {

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Sends to one connection; a connection that is gone is skipped silently.
  virtual void send(std::uint64_t conn, const Outbound& message) = 0;
  // Sends to every subscriber of the channel.
  virtual void publish(std::string_view channel, const Outbound& message) = 0;
  [[nodiscard]] virtual bool has_subscribers(std::string_view channel) const = 0;
  // Changes whenever any subscription does, so callers may cache has_subscribers() answers.
  [[nodiscard]] virtual std::uint64_t subscriptions_version() const = 0;
  // Counts a reject by reason for /stats and /metrics.
  virtual void count_reject(std::string_view reason) = 0;
};

// One trade, for the ledger: both accounts, both legs, at fixed point.
struct Trade {
  std::string_view buyer, seller;  // account names
  core::InstrumentId instrument = 0;
  core::Ticks price = 0;
  core::Lots qty = 0;
};

// The ledger as the order path sees it (implemented over ledger::Coordinator).
class TradeLedger {
 public:
  virtual ~TradeLedger() = default;
  // Would a commit succeed now (quorum)? Orders are admitted only while this holds.
  [[nodiscard]] virtual bool available() const = 0;
  // Commits the trade's change set: its ledger version (the trade's id, unique across restarts
  // as the ledger is), or 0 when refused (quorum lost, invalid: nothing applied).
  [[nodiscard]] virtual std::uint64_t commit(const Trade& trade) = 0;
  // Writes what was committed in this loop turn to the log file; false when the write failed
  // (nothing committed since may then be told to anyone). Called by the Gateway once per loop
  // turn, at its one release point (see Gateway), before any reply of that turn reaches a socket.
  [[nodiscard]] virtual bool flush() { return true; }
};

}  // namespace tradeshard::app
