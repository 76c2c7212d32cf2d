#pragma once
// The wire message's fields as the decoder collects them (src/protocol/decoder.cpp, the only
// includer): every key the protocol knows, found by length and one word compare (slot()), with
// each value's raw text and JSON kind. slot() is inline: it is on the tick path.
#include <cstdint>
#include <string_view>

#include "padded_scan.hpp"

namespace tradeshard::protocol::fields {

using scan::load_word;
using scan::word_of;

enum class Kind : std::uint8_t { absent, string, number, other };

struct Raw {
  std::string_view text;
  Kind kind = Kind::absent;
  [[nodiscard]] bool present() const noexcept { return kind != Kind::absent; }
};

// Every key the protocol knows, collected in one pass in any order (last duplicate wins).
struct Fields {
  Raw type, id, account, symbol, side, kind, tif, priority, price, qty;
  Raw bid, ask, bid_size, ask_size, ts, api_key;
  Raw b_s, b_b, b_B, b_a, b_A, b_u, b_E;  // Binance bookTicker
  Raw channels;
};

inline Raw* slot(Fields& f, std::string_view k) noexcept {
  switch (k.size()) {
    case 1:
      switch (k[0]) {
        case 's': return &f.b_s;
        case 'b': return &f.b_b;
        case 'B': return &f.b_B;
        case 'a': return &f.b_a;
        case 'A': return &f.b_A;
        case 'u': return &f.b_u;
        case 'E': return &f.b_E;
        default: return nullptr;
      }
    case 2: {
      const auto w = load_word<2>(k.data());
      if (w == word_of("id")) return &f.id;
      if (w == word_of("ts")) return &f.ts;
      return nullptr;
    }
    case 3: {
      const auto w = load_word<3>(k.data());
      if (w == word_of("tif")) return &f.tif;
      if (w == word_of("bid")) return &f.bid;
      if (w == word_of("ask")) return &f.ask;
      if (w == word_of("qty")) return &f.qty;
      return nullptr;
    }
    case 4: {
      const auto w = load_word<4>(k.data());
      if (w == word_of("type")) return &f.type;
      if (w == word_of("side")) return &f.side;
      if (w == word_of("kind")) return &f.kind;
      return nullptr;
    }
    case 5:
      return load_word<5>(k.data()) == word_of("price") ? &f.price : nullptr;
    case 6:
      return load_word<6>(k.data()) == word_of("symbol") ? &f.symbol : nullptr;
    case 7: {
      const auto w = load_word<7>(k.data());
      if (w == word_of("account")) return &f.account;
      if (w == word_of("api_key")) return &f.api_key;
      return nullptr;
    }
    case 8: {
      const auto w = load_word<8>(k.data());
      if (w == word_of("priority")) return &f.priority;
      if (w == word_of("bid_size")) return &f.bid_size;
      if (w == word_of("ask_size")) return &f.ask_size;
      if (w == word_of("channels")) return &f.channels;
      return nullptr;
    }
    default: return nullptr;
  }
}

}  // namespace tradeshard::protocol::fields
