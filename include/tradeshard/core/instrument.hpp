#pragma once
// Tradable instruments and their fixed-point grids. Built once from config; read-only afterwards.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/core/decimal.hpp"
#include "tradeshard/core/types.hpp"

namespace tradeshard::core {

struct Instrument {
  std::string symbol;      // "BTCUSDT"
  std::string cls;         // instrument class: "crypto", "forex", ...
  std::string base;        // "BTC"
  std::string quote;       // "USDT": the currency cash moves in
  Decimal tick_size{1, 2}; // price grid
  Decimal lot_size{1, 0};  // quantity grid
  Lots min_qty = 1;        // in lots
  Lots max_qty = std::numeric_limits<Lots>::max() / 4;
  // Optional price band in basis points around the reference (last trade or best opposite);
  // 0 = off. Market orders never sweep beyond it either.
  std::uint32_t price_band_bps = 0;
};

// Symbol -> id lookup without allocating for the key.
class InstrumentTable {
 public:
  InstrumentTable() = default;
  explicit InstrumentTable(std::vector<Instrument> instruments);

  [[nodiscard]] std::optional<InstrumentId> find(std::string_view symbol) const noexcept;
  [[nodiscard]] const Instrument& at(InstrumentId id) const noexcept { return items_[id]; }
  [[nodiscard]] const std::vector<Instrument>& all() const noexcept { return items_; }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  // A stable digest of everything matching depends on (ids, symbols, grids, quantity bounds,
  // bands): two processes that must agree on instrument ids and ticks compare it (the link's
  // HELLO). Equal tables give equal digests on every build and machine.
  [[nodiscard]] std::uint64_t digest() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  std::vector<Instrument> items_;
  std::unordered_map<std::string, InstrumentId, Hash, std::equal_to<>> by_symbol_;
};

}  // namespace tradeshard::core
