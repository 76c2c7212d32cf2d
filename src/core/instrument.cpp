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

std::optional<InstrumentId> InstrumentTable::find(std::string_view symbol) const noexcept {
  const auto it = by_symbol_.find(symbol);
  if (it == by_symbol_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tradeshard::core
