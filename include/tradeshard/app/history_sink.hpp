#pragma once
// Where the loop hands market data to be kept (docs/history.md). The implementation
// (history::HistoryService) only appends to a buffer owned by the loop: nothing here may block,
// allocate per row beyond amortized growth, or touch storage. Loop thread only.
#include <string_view>

#include "tradeshard/core/instrument.hpp"
#include "tradeshard/history/format.hpp"
#include "tradeshard/market/bar_series.hpp"
#include "tradeshard/market/quote.hpp"

namespace tradeshard::app {

class HistorySink {
 public:
  virtual ~HistorySink() = default;
  // `id` is the caller's dense index of the symbol (SymbolId for quotes and bars, InstrumentId
  // for trades): the sink caches per id, so a symbol's name is looked up once.
  virtual void quote(market::SymbolId id, std::string_view symbol, const history::QuoteRow& row) = 0;
  // partial: the bar in progress, saved at a shutdown (its window's rest comes after a restart).
  virtual void bar(market::SymbolId id, std::string_view symbol, market::Interval interval, const market::Bar& bar,
                   bool partial) = 0;
  virtual void trade(core::InstrumentId id, std::string_view symbol, const history::TradeRow& row) = 0;
};

}  // namespace tradeshard::app
