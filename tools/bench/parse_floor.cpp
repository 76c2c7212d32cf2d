#include "parse_floor.hpp"

#include <simdjson.h>

#include <array>
#include <cstring>

namespace tradeshard::bench {

static_assert(ParseFloor::padding == simdjson::SIMDJSON_PADDING);

// One fixed window: simdjson reallocates its buffers whenever iterate_many's batch size changes.
constexpr std::size_t kWindow = 128 * 1024;

struct ParseFloor::Impl {
  simdjson::ondemand::parser parser;
  std::uint64_t sum = 0;  // what the walk read, kept so the compiler cannot drop the walk
};

ParseFloor::ParseFloor() : impl_(std::make_unique<Impl>()) { impl_->parser.threaded = false; }
ParseFloor::~ParseFloor() = default;

std::uint64_t ParseFloor::walk(char* data, std::size_t len) {
  namespace od = simdjson::ondemand;
  // The bytes after the last line belong to the next, incomplete one: zero them for the pass.
  std::array<char, padding> saved;
  std::memcpy(saved.data(), data + len, padding);
  std::memset(data + len, 0, padding);
  std::uint64_t docs = 0;
  od::document_stream stream;
  if (!impl_->parser.iterate_many(data, len, kWindow).get(stream)) {
    for (auto d : stream) {
      od::document_reference doc;
      od::object obj;
      if (std::move(d).get(doc) || doc.get_object().get(obj)) break;
      bool ok = true;
      for (auto field_r : obj) {
        od::field field;
        if (std::move(field_r).get(field)) {
          ok = false;
          break;
        }
        const std::string_view token = field.value().raw_json_token();
        impl_->sum += token.size() + static_cast<unsigned char>(field.key().raw()[0]);
      }
      if (!ok) break;
      ++docs;
    }
  }
  std::memcpy(data + len, saved.data(), padding);
  return docs;
}

}  // namespace tradeshard::bench
