#pragma once
// Strict JSON checks for the values the decoder does not read (src/protocol/decoder.cpp, the only
// includer, so it is built with the decoder's simdjson kernel). simdjson On-Demand skips a value it
// is not asked for by its structural characters alone, so NaN, Infinity or a bare word there would
// pass unseen; these walk such values and check every scalar against JSON's grammar.
#include <simdjson.h>

#include <cstddef>
#include <string_view>

#include "padded_scan.hpp"

namespace tradeshard::protocol::check {
namespace {  // internal linkage, as padded_scan.hpp: inlined into the decoder

namespace od = simdjson::ondemand;

constexpr std::string_view kNotJsonValue =
    "not valid JSON: a value is not a JSON number, string, true, false, null, object or array "
    "(NaN and Infinity are not JSON)";
// Nesting the decoder walks in a value it does not read (simdjson's default limit).
constexpr unsigned kMaxDepth = 1024;

// Whether a raw token lies inside the message (which ends before `end`). simdjson measures a token
// up to the next structural index; in a lines pass (iterate_many) over malformed input that index
// can lie past the message or be no index at all (a fuzzed input gave a wild length), so no token
// is read before this check. A value running past its message is not valid JSON in any case.
inline bool within(std::string_view token, const char* end) noexcept {
  return token.data() <= end && token.size() <= static_cast<std::size_t>(end - token.data());
}

// Whether a value the decoder does not read is JSON all the same. On-Demand skips such a value by
// its structural characters alone and never looks at its scalars (nor at the commas and colons
// inside a skipped array or object), so NaN, Infinity or any bare word would pass unseen.
// Only values of unknown keys and of the wrong type for a known key come here.
inline bool json_value(od::value v, std::string_view token, unsigned depth, const char* end) noexcept {
  if (!within(token, end)) return false;
  switch (token.empty() ? '\0' : token[0]) {
    case '"': {
      std::string_view s;
      return scan::string_token_in_place(token, s) || !v.get_string().get(s);
    }
    case '[': {
      od::array arr;
      if (depth >= kMaxDepth || v.get_array().get(arr)) return false;
      for (auto el_r : arr) {
        od::value el;
        if (std::move(el_r).get(el) || !json_value(el, el.raw_json_token(), depth + 1, end)) return false;
      }
      return true;
    }
    case '{': {
      od::object obj;
      if (depth >= kMaxDepth || v.get_object().get(obj)) return false;
      for (auto field_r : obj) {
        od::field field;
        std::string_view key;
        if (std::move(field_r).get(field) || field.unescaped_key().get(key)) return false;
        od::value fv = field.value();
        if (!json_value(fv, fv.raw_json_token(), depth + 1, end)) return false;
      }
      return true;
    }
    case 't':
    case 'f':
    case 'n':
      return scan::json_literal(scan::trim(token));
    default:
      return scan::json_number(scan::trim(token));
  }
}

// Just past the '}' that closes the object starting at p (after blanks), or nullptr: a scan of
// strings (with escapes) and nesting only, for one line per lines pass (its last).
inline const char* object_end(const char* p, const char* end) noexcept {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
  if (p == end || *p != '{') return nullptr;
  int depth = 0;
  bool in_string = false;
  for (; p < end; ++p) {
    const char c = *p;
    if (in_string) {
      if (c == '\\') ++p;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return p + 1;
    }
  }
  return nullptr;
}
}  // namespace
}  // namespace tradeshard::protocol::check
