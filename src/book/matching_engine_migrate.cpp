// Moving one instrument's book between engines (live migration). Not on the order path.
#include "tradeshard/book/matching_engine.hpp"

namespace tradeshard::book {

std::string_view to_string(ImportError e) noexcept {
  switch (e) {
    case ImportError::ok: return "ok";
    case ImportError::unknown_instrument: return "unknown_instrument";
    case ImportError::book_not_empty: return "book_not_empty";
    case ImportError::duplicate_key: return "duplicate_key";
    case ImportError::bad_image: return "bad_image";
  }
  return "bad_image";
}

BookImage MatchingEngine::export_book(InstrumentId instrument) const {
  BookImage image;
  image.instrument = instrument;
  if (instrument >= books_.size()) return image;
  const Book& book = books_[instrument];
  image.last_trade = book.last_trade;
  for (const Side side : {Side::buy, Side::sell}) {
    const auto levels = book.side(side).levels();  // worst first: walk from the back
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
      for (Slot s = it->head; s != no_slot; s = pool_[s].next) {
        const OrderNode& n = pool_[s];
        image.orders.push_back({n.key, n.account, n.side, n.price, n.leaves, n.filled});
      }
    }
  }
  return image;
}

std::size_t MatchingEngine::remove_book(InstrumentId instrument) noexcept {
  if (instrument >= books_.size()) return 0;
  Book& book = books_[instrument];
  std::size_t removed = 0;
  for (const Side side : {Side::buy, Side::sell}) {
    BookSide& bs = book.side(side);
    while (!bs.empty()) {
      remove_resting(bs.best().head);  // the level goes when its last order does
      ++removed;
    }
  }
  book.last_trade = 0;
  return removed;
}

ImportError MatchingEngine::import_book(const BookImage& image) {
  if (image.instrument >= books_.size()) return ImportError::unknown_instrument;
  Book& book = books_[image.instrument];
  if (!book.bids.empty() || !book.asks.empty()) return ImportError::book_not_empty;
  // Everything is checked before anything is applied: a refused import changes nothing.
  std::optional<Ticks> best_bid, best_ask;
  const BookImage::Order* prev = nullptr;
  for (const auto& o : image.orders) {
    if (o.leaves <= 0 || o.filled < 0 || o.price <= 0) return ImportError::bad_image;
    if (prev && prev->side == o.side) {
      // Priority order: within a side, prices never improve (bids fall, asks rise).
      if (o.side == Side::buy ? o.price > prev->price : o.price < prev->price) return ImportError::bad_image;
    } else if (prev && (prev->side == Side::sell || o.side != Side::sell)) {
      return ImportError::bad_image;  // bids, then asks, each side once
    }
    auto& best = o.side == Side::buy ? best_bid : best_ask;
    if (!best) best = o.price;
    if (index_.find_live(o.key, pool_) != no_slot) return ImportError::duplicate_key;
    prev = &o;
  }
  if (best_bid && best_ask && *best_bid >= *best_ask) return ImportError::bad_image;
  for (const auto& o : image.orders) {
    const std::uint32_t key_hash = OrderIndex::hash(o.key);
    if (index_.find_live(o.key, key_hash, pool_) != no_slot) {
      // A key twice in the image: undo what was rested so far.
      remove_book(image.instrument);
      return ImportError::duplicate_key;
    }
    const Taker t{o.key, o.account, image.instrument, o.side, o.price, o.leaves, o.filled};
    rest(t, pool_.allocate(), key_hash, accounts_.get(o.account));
  }
  book.last_trade = image.last_trade;
  return ImportError::ok;
}

}  // namespace tradeshard::book
