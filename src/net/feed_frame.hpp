#pragma once
// Classifies one feed text frame: a Binance bookTicker tick (bare, or the "data" member of the
// combined-stream wrapper {"stream":"bnbusdt@bookTicker","data":{…}}), a control reply to our
// subscribe ({"result":null,"id":1}), or something we cannot use. Never throws. One per feed.
#include <memory>
#include <string_view>

#include "tradeshard/app/messages.hpp"
#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::net {

enum class FrameKind : std::uint8_t { tick, control, bad };

struct FrameResult {
  FrameKind kind = FrameKind::bad;
  app::TickCmd tick;          // kind == tick: views valid until the next decode()
  std::string_view error;     // kind == bad: static or decoder-owned text
};

class FeedFrameDecoder {
 public:
  FeedFrameDecoder();
  ~FeedFrameDecoder();
  FeedFrameDecoder(const FeedFrameDecoder&) = delete;
  FeedFrameDecoder& operator=(const FeedFrameDecoder&) = delete;

  // `padding` = readable bytes after text.end(), as for protocol::Decoder (64 avoids a copy).
  [[nodiscard]] FrameResult decode(std::string_view text, std::size_t padding = 0);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradeshard::net
