#include "tradeshard/core/instrument.hpp"

#include "tradeshard/core/hash.hpp"

namespace tradeshard::core {

std::size_t InstrumentTable::Hash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(stable_hash(s));
}

InstrumentTable::InstrumentTable(std::vector<Instrument> instruments)
    : items_(std::move(instruments)) {
  by_symbol_.reserve(items_.size());
  for (std::size_t i = 0; i < items_.size(); ++i) {
    by_symbol_.emplace(items_[i].symbol, static_cast<InstrumentId>(i));
  }
}

std::uint64_t InstrumentTable::digest() const {
  std::string bytes;
  const auto put = [&](std::int64_t v) { bytes.append(std::to_string(v)).push_back('|'); };
  for (const auto& i : items_) {
    bytes.append(i.symbol).push_back('|');
    put(i.tick_size.units);
    put(i.tick_size.scale);
    put(i.lot_size.units);
    put(i.lot_size.scale);
    put(i.min_qty);
    put(i.max_qty);
    put(i.price_band_bps);
    bytes.push_back('\n');
  }
  return stable_hash(bytes);
}

std::optional<InstrumentId> InstrumentTable::find(std::string_view symbol) const noexcept {
  const auto it = by_symbol_.find(symbol);
  if (it == by_symbol_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tradeshard::core
