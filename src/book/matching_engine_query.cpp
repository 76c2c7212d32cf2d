// Read-only views for HTTP queries, tests and the benchmark. Not on the order path.
#include "tradeshard/book/matching_engine.hpp"

namespace tradeshard::book {

std::optional<LevelView> MatchingEngine::best(InstrumentId instrument, Side side) const noexcept {
  if (instrument >= books_.size()) return std::nullopt;
  const BookSide& bs = books_[instrument].side(side);
  if (bs.empty()) return std::nullopt;
  const Level& l = bs.best();
  return LevelView{l.price, l.total, l.count};
}

Depth MatchingEngine::depth(InstrumentId instrument, std::size_t levels) const {
  Depth d;
  if (instrument >= books_.size()) return d;
  auto fill = [levels](const BookSide& bs, std::vector<LevelView>& to) {
    const auto all = bs.levels();
    for (auto it = all.rbegin(); it != all.rend() && to.size() < levels; ++it) {
      to.push_back(LevelView{it->price, it->total, it->count});
    }
  };
  fill(books_[instrument].bids, d.bids);
  fill(books_[instrument].asks, d.asks);
  return d;
}

std::vector<OrderKey> MatchingEngine::open_orders(AccountId account) const {
  std::vector<OrderKey> keys;
  const AccountEntry* acct = accounts_.find(account);
  if (acct == nullptr) return keys;
  keys.reserve(acct->count);
  for (Slot s = acct->head; s != no_slot; s = pool_[s].acct_next) keys.push_back(pool_[s].key);
  return keys;
}

std::optional<OrderView> MatchingEngine::find(OrderKey key) const noexcept {
  const Slot s = index_.find_live(key, pool_);
  if (s == no_slot) return std::nullopt;
  const OrderNode& n = pool_[s];
  return OrderView{n.key, n.account, n.instrument, n.side, n.price,
                   n.leaves + n.filled, n.leaves, n.filled};
}

std::vector<OrderKey> MatchingEngine::priority_order(InstrumentId instrument, Side side) const {
  std::vector<OrderKey> keys;
  if (instrument >= books_.size()) return keys;
  const auto all = books_[instrument].side(side).levels();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    for (Slot s = it->head; s != no_slot; s = pool_[s].next) keys.push_back(pool_[s].key);
  }
  return keys;
}

std::optional<Ticks> MatchingEngine::last_trade_price(InstrumentId instrument) const noexcept {
  if (instrument >= books_.size() || books_[instrument].last_trade == 0) return std::nullopt;
  return books_[instrument].last_trade;
}

EngineStats MatchingEngine::stats() const noexcept {
  EngineStats s = stats_;
  s.resting_orders = index_.size() - retired_size_;  // retired entries are not resting
  return s;
}

std::size_t MatchingEngine::memory_bytes() const noexcept {
  std::size_t bytes = sizeof(*this) + pool_.capacity_bytes() + index_.capacity_bytes() +
                      accounts_.capacity_bytes() + books_.capacity() * sizeof(Book);
  for (const Book& b : books_) bytes += b.bids.capacity_bytes() + b.asks.capacity_bytes();
  return bytes;
}

}  // namespace tradeshard::book
