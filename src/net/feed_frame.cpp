#include "feed_frame.hpp"

#include <simdjson.h>

#include <string>

namespace tradeshard::net {
namespace od = simdjson::ondemand;

struct FeedFrameDecoder::Impl {
  protocol::Decoder decoder;
  od::parser parser;  // only for frames that are not a bare tick (wrapper, control reply)
  std::string padded;

  FrameResult from(const protocol::DecodeResult& r) const {
    FrameResult out;
    if (const auto* cmd = std::get_if<app::Command>(&r)) {
      if (const auto* t = std::get_if<app::TickCmd>(cmd)) {
        out.kind = FrameKind::tick;
        out.tick = *t;
      } else {
        out.error = "not a bookTicker message";
      }
    } else {
      out.error = std::get<app::DecodeError>(r).message;
    }
    return out;
  }

  // The wrapper's "data" object (a view into text), or control / bad.
  FrameResult unwrap(std::string_view text, std::size_t padding, std::string_view first_error) {
    const char* data = text.data();
    if (padding < simdjson::SIMDJSON_PADDING) {
      padded.assign(text);
      padded.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
      data = padded.data();
      padding = simdjson::SIMDJSON_PADDING;
    }
    FrameResult out;
    out.error = first_error;
    od::document doc;
    od::object obj;
    if (parser.iterate(data, text.size(), text.size() + padding).get(doc) || doc.get_object().get(obj)) return out;
    bool has_result = false;
    for (auto field_r : obj) {
      od::field field;
      std::string_view key;
      if (std::move(field_r).get(field) || field.unescaped_key().get(key)) return out;
      if (key == "data") {
        od::object inner;
        std::string_view raw;
        if (field.value().get_object().get(inner) || inner.raw_json().get(raw)) {
          out.error = "combined-stream data must be an object";
          return out;
        }
        // raw lies inside `data`; everything after it up to the padding end stays readable.
        const std::size_t after = static_cast<std::size_t>((data + text.size() + padding) - (raw.data() + raw.size()));
        return from(decoder.decode(raw, after));
      }
      if (key == "result") has_result = true;
    }
    if (has_result) out.kind = FrameKind::control;
    return out;
  }
};

FeedFrameDecoder::FeedFrameDecoder() : impl_(std::make_unique<Impl>()) {}
FeedFrameDecoder::~FeedFrameDecoder() = default;

FrameResult FeedFrameDecoder::decode(std::string_view text, std::size_t padding) {
  // Fast path: a bare bookTicker object decodes in one pass.
  const auto first = impl_->decoder.decode(text, padding);
  const auto* err = std::get_if<app::DecodeError>(&first);
  if (!err || err->code != app::WireError::missing_field || !err->type.empty()) return impl_->from(first);
  return impl_->unwrap(text, padding, "neither a bookTicker object (s, b, a) nor a combined-stream frame");
}

}  // namespace tradeshard::net
