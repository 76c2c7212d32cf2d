#include <simdjson.h>

#include <array>
#include <cstring>
#include <optional>

#include "json_check.hpp"
#include "message_fields.hpp"
#include "padded_scan.hpp"
#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::protocol {
namespace {

namespace od = simdjson::ondemand;
using namespace scan;
using namespace check;
using namespace fields;
// A lines pass covers at most kLinesChunk bytes of whole lines; simdjson's window is fixed
// (it reallocates its buffers whenever the size changes).
// (4, 8, 16 and 64 KiB passes measured the same in the daemon.)
constexpr std::size_t kLinesChunk = 8 * 1024;
constexpr std::size_t kLinesWindow = 64 * 1024;
using app::DecodeError;
using app::WireError;

}  // namespace

struct Decoder::Impl {
  od::parser parser;
  std::string padded;  // copy of input when the caller's buffer lacks simdjson's padding
  std::vector<std::string_view> channels;
  Fields f;
  // Fields set by the previous message: only these are reset (clearing all of Fields with a
  // memset cost a seventh of decode()). Each known key is recorded once per message.
  std::array<Raw*, sizeof(Fields) / sizeof(Raw)> touched{};
  std::size_t touched_count = 0;
  // Number tokens are checked against JSON's grammar where they are read, not when collected:
  // the tick path reads its numbers with scanners whose accepted shapes are JSON but for two byte
  // tests (plain_number_is_json), so a per-token pass is saved. `unchecked` counts the number
  // tokens collected; a message whose reading did not check them all checks the rest
  // (numbers_are_json) before it is accepted, and before any field error is reported, so a
  // message that is not JSON is always bad_json.
  std::uint32_t unchecked = 0;
  // A field error found while collecting (channels): reported once the whole object is known to
  // be JSON.
  std::optional<std::pair<WireError, std::string_view>> late;

  // Lines mode (begin_lines): the run is parsed by iterate_many in passes of up to kLinesChunk
  // bytes of whole lines (stage 1's output and the lines are still in L1 when the fields are
  // read), on a parser of its own so a line decoded alone in between does not disturb the stream.
  struct Lines {
    od::parser parser;
    od::document_stream stream;
    od::document_stream::iterator it;
    const char* run_end = nullptr;  // the run is [run_begin, run_end)
    const char* run_begin = nullptr;
    const char* pass_begin = nullptr;  // the current pass covers [pass_begin, pass_end)
    const char* pass_end = nullptr;
    const char* resume_at = nullptr;  // after a line the pass could not serve: no new pass before
    bool active = false, in_pass = false;
  } lines;

  DecodeResult decode(std::string_view text, std::size_t padding);
  bool collect_from_lines(std::string_view text);
  struct Failure {
    WireError code;
    std::string_view message;
  };
  std::optional<Failure> collect(od::document_reference doc, const char* end);
  const char* next_doc = nullptr;  // set by collect()
  DecodeResult dispatch();
  void reset_fields() noexcept {
    for (std::size_t i = 0; i < touched_count; ++i) *touched[i] = Raw{};
    touched_count = 0;
    unchecked = 0;
    late.reset();
    channels.clear();
  }
  [[nodiscard]] bool numbers_are_json() const noexcept {
    for (std::size_t i = 0; i < touched_count; ++i) {
      if (touched[i]->kind == Kind::number && !json_number(touched[i]->text)) return false;
    }
    return true;
  }
  // A message that is not JSON is bad_json whatever else is wrong with it, and is never tied to
  // an order id (it is an error, not a reject: nothing in it can be trusted).
  DecodeResult fail(WireError code, std::string_view message) const {
    if (code != WireError::bad_json && unchecked != 0 && !numbers_are_json()) {
      code = WireError::bad_json;
      message = kNotJsonValue;
    }
    DecodeError e{code, message, f.type.text, {}};
    if (code != WireError::bad_json && f.id.kind == Kind::string &&
        (f.type.text == "order" || f.type.text == "cancel" || f.type.text == "replace")) {
      e.id = f.id.text;
    }
    return e;
  }
  DecodeResult order();
  DecodeResult cancel();
  DecodeResult replace();
  DecodeResult tick(bool binance);
  DecodeResult subscribe(bool on);
};

namespace {

// A required string field: absent -> missing_field, wrong JSON type -> bad_field.
#define TS_REQUIRE_STRING(field, name)                                                  \
  do {                                                                                  \
    if (!f.field.present()) return fail(WireError::missing_field, name " is required"); \
    if (f.field.kind != Kind::string || f.field.text.empty())                           \
      return fail(WireError::bad_field, name " must be a non-empty string");            \
  } while (0)

bool decimal_of(const Raw& r, core::Decimal& out) noexcept {
  if (r.kind != Kind::string && r.kind != Kind::number) return false;
  const auto p = core::parse_decimal(r.text);
  if (!p.ok()) return false;
  out = p.value;
  return true;
}

// A number token's JSON grammar is checked here (counted in `checked`); on false the caller's
// fail() tells a bad value (bad_field) from one that is not JSON (bad_json).
bool md_of(const Raw& r, std::int64_t& out, std::uint32_t& checked) noexcept {
  if (r.kind != Kind::string && r.kind != Kind::number) return false;
  const bool number = r.kind == Kind::number;
  checked += number ? 1 : 0;
  if (md_fast(r.text, out) && (!number || plain_number_is_json(r.text))) return true;
  if (number && !json_number(r.text)) return false;
  core::Decimal d;
  if (!decimal_of(r, d)) return false;
  const auto s = core::to_steps_rounded(d, core::market_data_step);
  if (!s.ok() || s.steps < 0) return false;
  out = s.steps;
  return true;
}

bool uint_of(const Raw& r, std::uint64_t& out, std::uint32_t& checked) noexcept {
  if (r.kind == Kind::number) {
    ++checked;
    return scan::plain_uint(r.text, out) && plain_number_is_json(r.text);
  }
  return r.kind == Kind::string && scan::plain_uint(r.text, out);
}

}  // namespace

DecodeResult Decoder::Impl::order() {
  TS_REQUIRE_STRING(id, "id");
  if (f.id.text.size() > 64) return fail(WireError::bad_field, "id must be at most 64 bytes");
  TS_REQUIRE_STRING(symbol, "symbol");
  TS_REQUIRE_STRING(side, "side");
  app::OrderCmd c;
  c.id = f.id.text;
  c.symbol = f.symbol.text;
  if (f.account.present()) {
    if (f.account.kind != Kind::string) return fail(WireError::bad_field, "account must be a string");
    c.account = f.account.text;
  }
  if (f.side.text == "buy") c.side = core::Side::buy;
  else if (f.side.text == "sell") c.side = core::Side::sell;
  else return fail(WireError::bad_field, "side must be \"buy\" or \"sell\"");
  if (f.kind.present()) {
    if (f.kind.text == "limit" && f.kind.kind == Kind::string) c.kind = app::OrderKind::limit;
    else if (f.kind.text == "market" && f.kind.kind == Kind::string) c.kind = app::OrderKind::market;
    else return fail(WireError::bad_field, "kind must be \"limit\" or \"market\"");
  }
  if (f.tif.present()) {
    if (f.tif.kind != Kind::string) return fail(WireError::bad_field, "tif must be \"gtc\", \"ioc\" or \"fok\"");
    if (f.tif.text == "gtc") c.tif = app::Tif::gtc;
    else if (f.tif.text == "ioc") c.tif = app::Tif::ioc;
    else if (f.tif.text == "fok") c.tif = app::Tif::fok;
    else return fail(WireError::bad_field, "tif must be \"gtc\", \"ioc\" or \"fok\"");
  }
  if (f.priority.present()) {
    if (f.priority.kind != Kind::string) return fail(WireError::bad_field, "priority must be a string");
    if (f.priority.text == "normal") c.priority = core::Priority::normal;
    else if (f.priority.text == "vip") c.priority = core::Priority::vip;
    else if (f.priority.text == "emergency") c.priority = core::Priority::emergency;
    else return fail(WireError::bad_field, "priority must be \"normal\", \"vip\" or \"emergency\"");
  }
  if (!f.qty.present()) return fail(WireError::missing_field, "qty is required");
  if (!decimal_of(f.qty, c.qty)) return fail(WireError::bad_field, "qty must be a decimal number or string");
  if (f.price.present()) {
    if (!decimal_of(f.price, c.price)) return fail(WireError::bad_field, "price must be a decimal number or string");
    c.has_price = true;
  } else if (c.kind == app::OrderKind::limit) {
    return fail(WireError::missing_field, "price is required for a limit order");
  }
  return app::Command{c};
}

DecodeResult Decoder::Impl::cancel() {
  TS_REQUIRE_STRING(id, "id");
  app::CancelCmd c;
  c.id = f.id.text;
  if (f.symbol.present()) {
    if (f.symbol.kind != Kind::string) return fail(WireError::bad_field, "symbol must be a string");
    c.symbol = f.symbol.text;
  }
  if (f.account.present()) {
    if (f.account.kind != Kind::string) return fail(WireError::bad_field, "account must be a string");
    c.account = f.account.text;
  }
  return app::Command{c};
}

DecodeResult Decoder::Impl::replace() {
  TS_REQUIRE_STRING(id, "id");
  app::ReplaceCmd c;
  c.id = f.id.text;
  if (f.account.present()) {
    if (f.account.kind != Kind::string) return fail(WireError::bad_field, "account must be a string");
    c.account = f.account.text;
  }
  if (f.price.present()) {
    if (!decimal_of(f.price, c.price)) return fail(WireError::bad_field, "price must be a decimal number or string");
    c.has_price = true;
  }
  if (f.qty.present()) {
    if (!decimal_of(f.qty, c.qty)) return fail(WireError::bad_field, "qty must be a decimal number or string");
    c.has_qty = true;
  }
  if (!c.has_price && !c.has_qty) return fail(WireError::missing_field, "replace needs price or qty");
  return app::Command{c};
}

DecodeResult Decoder::Impl::tick(bool binance) {
  app::TickCmd t;
  const Raw& sym = binance ? f.b_s : f.symbol;
  const Raw* vals[4] = {binance ? &f.b_b : &f.bid, binance ? &f.b_a : &f.ask, binance ? &f.b_B : &f.bid_size,
                        binance ? &f.b_A : &f.ask_size};
  static constexpr std::string_view bad[2][4] = {
      {"bid must be a non-negative decimal", "ask must be a non-negative decimal",
       "bid_size must be a non-negative decimal", "ask_size must be a non-negative decimal"},
      {"b must be a non-negative decimal", "a must be a non-negative decimal", "B must be a non-negative decimal",
       "A must be a non-negative decimal"}};
  if (!sym.present()) return fail(WireError::missing_field, binance ? "s is required" : "symbol is required");
  if (sym.kind != Kind::string || sym.text.empty() || sym.text.size() > 32) {
    return fail(WireError::bad_field, "symbol must be a string of 1..32 bytes");
  }
  t.symbol = sym.text;
  std::int64_t* outs[4] = {&t.bid, &t.ask, &t.bid_size, &t.ask_size};
  std::uint32_t checked = 0;  // number tokens read (and checked) here
  for (int i = 0; i < 4; ++i) {
    if (!vals[i]->present()) {
      if (i >= 2) continue;  // sizes are optional in our own schema
      return fail(WireError::missing_field, binance ? (i == 0 ? "b is required" : "a is required")
                                                    : (i == 0 ? "bid is required" : "ask is required"));
    }
    if (!md_of(*vals[i], *outs[i], checked)) return fail(WireError::bad_field, bad[binance ? 1 : 0][i]);
  }
  std::uint64_t v = 0;
  const Raw& ts = binance ? f.b_E : f.ts;
  if (ts.present()) {
    if (!uint_of(ts, v, checked)) return fail(WireError::bad_field, "ts must be a non-negative integer (ms)");
    t.ts_ms = static_cast<std::int64_t>(v);
  }
  if (binance && f.b_u.present()) {
    if (!uint_of(f.b_u, v, checked)) return fail(WireError::bad_field, "u must be a non-negative integer");
    t.update_id = v;
  }
  // Numbers in fields a tick does not read (the other schema's, an order's) are checked here.
  if (checked != unchecked && !numbers_are_json()) return fail(WireError::bad_json, kNotJsonValue);
  return app::Command{t};
}

DecodeResult Decoder::Impl::subscribe(bool on) {
  if (!f.channels.present()) return fail(WireError::missing_field, "channels is required");
  if (f.channels.kind != Kind::other) return fail(WireError::bad_field, "channels must be an array of strings");
  app::SubscribeCmd c;
  c.subscribe = on;
  c.channels = &channels;
  if (channels.empty()) return fail(WireError::bad_field, "channels must be a non-empty array of strings");
  return app::Command{c};
}

// Every field of one JSON object document into f; nullopt when it is a well-formed object that
// ends before `end` (the message's last byte + 1), else the error.
std::optional<Decoder::Impl::Failure> Decoder::Impl::collect(od::document_reference doc, const char* end) {
  od::object obj;
  if (doc.get_object().get(obj)) return Failure{WireError::bad_json, "message must be a JSON object"};
  for (auto field_r : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_r).get(field)) return Failure{WireError::bad_json, "not valid JSON"};
    od::value v = field.value();
    // The value's first bytes (what value::type() looks at), peeked once.
    const std::string_view token = v.raw_json_token();
    if (!within(token, end)) return Failure{WireError::bad_json, "not valid JSON"};
    key = raw_key(field.key().raw(), token.data());
    Raw* r = slot(f, key);
    if (!r && !no_backslash(key.data(), key.size())) {  // an escaped spelling of a known key?
      if (field.unescaped_key().get(key)) return Failure{WireError::bad_json, "not valid JSON"};
      r = slot(f, key);
    }
    if (!r) {
      // Unknown keys are ignored (forward compatibility), but their values must be JSON.
      if (!json_value(v, token, 1, end)) return Failure{WireError::bad_json, kNotJsonValue};
      continue;
    }
    if (r->present()) {
      // A key given twice: the earlier value is dropped unread, but it must have been JSON.
      if (r->kind == Kind::number) {
        if (!json_number(r->text)) return Failure{WireError::bad_json, kNotJsonValue};
        --unchecked;
      }
    } else {
      touched[touched_count++] = r;
    }
    const char c0 = token.empty() ? '\0' : token[0];
    if (c0 == '"') {
      if (!string_token_in_place(token, r->text)) {
        if (v.get_string().get(r->text)) return Failure{WireError::bad_json, "invalid string"};
      }
      r->kind = Kind::string;
    } else if (c0 == '-' || (c0 >= '0' && c0 <= '9')) {
      r->text = trim(token);  // checked against JSON's grammar where it is read (see unchecked)
      r->kind = Kind::number;
      ++unchecked;
    } else if (r == &f.channels && c0 == '[') {
      r->kind = Kind::other;
      od::array arr;
      if (v.get_array().get(arr)) return Failure{WireError::bad_json, "not valid JSON"};
      for (auto el_r : arr) {
        od::value el;
        if (std::move(el_r).get(el)) return Failure{WireError::bad_json, "not valid JSON"};
        const std::string_view el_token = el.raw_json_token();
        if (!within(el_token, end)) return Failure{WireError::bad_json, "not valid JSON"};
        std::string_view ch;
        if (el_token.empty() || el_token[0] != '"') {
          if (!json_value(el, el_token, 2, end)) return Failure{WireError::bad_json, kNotJsonValue};
          if (!late) late.emplace(WireError::bad_field, "channels must be an array of strings");
        } else if (!string_token_in_place(el_token, ch) && el.get_string().get(ch)) {
          return Failure{WireError::bad_json, "invalid string"};
        } else if (channels.size() >= 64) {
          if (!late) late.emplace(WireError::bad_field, "at most 64 channels per message");
        } else if (!late) {
          channels.push_back(ch);
        }
      }
    } else {
      // Wrong JSON type for a known key (reported by the message's checks), or not JSON at all.
      if (!json_value(v, token, 1, end)) return Failure{WireError::bad_json, kNotJsonValue};
      r->kind = Kind::other;
    }
  }
  // Anything after the object inside the message? At the end of the input there is no location
  // at all; in a lines pass, the next document's first byte.
  next_doc = nullptr;
  if (doc.current_location().get(next_doc) == simdjson::SUCCESS && next_doc < end) {
    return Failure{WireError::bad_json, "trailing content after the JSON object"};
  }
  if (late) return Failure{late->first, late->second};
  return std::nullopt;
}

// Collects the next document of the lines pass when it is exactly `text` and reads cleanly;
// false otherwise: the caller decodes `text` alone, so every result and error is the one decoding the
// line alone gives. After such a line the rest of its pass is decoded alone too (each byte goes
// through at most one pass: a run of bad lines cannot make the passes quadratic).
bool Decoder::Impl::collect_from_lines(std::string_view text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin < lines.run_begin || end > lines.run_end) return false;
  if (lines.in_pass && begin < lines.pass_end) {
    ++lines.it;
  } else {
    lines.in_pass = false;
    if (begin < lines.resume_at) return false;
    const auto avail = static_cast<std::size_t>(lines.run_end - begin);
    if (avail <= kLinesChunk) {
      lines.pass_end = lines.run_end;
    } else {
      const auto* nl = static_cast<const char*>(::memrchr(begin, '\n', kLinesChunk));
      if (!nl) return false;  // a line longer than a pass
      lines.pass_end = nl + 1;
    }
    const auto size = static_cast<std::size_t>(lines.pass_end - begin);
    // The pass's final '\n' is left out: simdjson reads the byte at the end of its input as an
    // end marker, and the byte after the pass (the next, partial line's first) could pass for a
    // missing '}'; a '\n' there always fails.
    if (lines.parser.iterate_many(begin, size - 1, kLinesWindow).get(lines.stream)) return false;
    lines.it = lines.stream.begin();
    lines.pass_begin = begin;
    lines.in_pass = true;
    lines.resume_at = lines.pass_end;
  }
  od::document_reference doc;
  if (!(lines.it != lines.stream.end()) || lines.pass_begin + lines.it.current_index() != begin ||
      (*lines.it).get(doc) || collect(doc, end)) {
    lines.in_pass = false;
    return false;
  }
  if (!next_doc) {
    // Last document of stage 1's batch: trailing bytes of this line may have been cut off the
    // batch (an incomplete document truncated, a partial UTF-8 sequence trimmed, junk after the
    // object that opens a string the pass never closes). The object must end where the line does.
    const char* last = end;
    while (last > begin && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r')) --last;
    if (lines.stream.truncated_bytes() != 0 || last == begin || last[-1] != '}' || object_end(begin, last) != last) {
      lines.in_pass = false;
      return false;
    }
  }
  // The object must also end inside the line: only blanks may sit between the line's end and
  // the next document (or the end of the pass). A document running on into the next line (one
  // that is not valid alone) leaves a structural character there.
  const char* bound = next_doc ? next_doc : lines.pass_end;
  for (const char* p = end; p < bound; ++p) {
    if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t') {
      lines.in_pass = false;
      return false;
    }
  }
  return true;
}

DecodeResult Decoder::Impl::decode(std::string_view text, std::size_t padding) {
  reset_fields();
  if (lines.active) {
    if (collect_from_lines(text)) return dispatch();
    reset_fields();
  }
  const char* data = text.data();
  if (padding < simdjson::SIMDJSON_PADDING) {
    padded.assign(text);
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
    data = padded.data();
  }
  od::document doc;
  if (parser.iterate(data, text.size(), text.size() + simdjson::SIMDJSON_PADDING).get(doc)) {
    return fail(WireError::bad_json, "not valid JSON");
  }
  if (const auto e = collect(od::document_reference(doc), data + text.size())) return fail(e->code, e->message);
  return dispatch();
}

DecodeResult Decoder::Impl::dispatch() {
  if (!f.type.present()) {
    if (f.b_s.present() && f.b_b.present()) return tick(true);
    return fail(WireError::missing_field, "type is required");
  }
  if (f.type.kind != Kind::string) return fail(WireError::bad_field, "type must be a string");
  const std::string_view type = f.type.text;
  if (type.size() == 4 && load_word<4>(type.data()) == word_of("tick")) return tick(false);
  // Off the tick path every collected number token is checked up front.
  if (unchecked != 0 && !numbers_are_json()) return fail(WireError::bad_json, kNotJsonValue);
  if (type == "order") return order();
  if (type == "cancel") return cancel();
  if (type == "replace") return replace();
  if (type == "cancel_all") {
    app::CancelAllCmd c;
    if (f.symbol.kind == Kind::string) c.symbol = f.symbol.text;
    if (f.account.kind == Kind::string) c.account = f.account.text;
    return app::Command{c};
  }
  if (type == "ping") return app::Command{app::PingCmd{}};
  if (type == "subscribe") return subscribe(true);
  if (type == "unsubscribe") return subscribe(false);
  if (type == "login") {
    TS_REQUIRE_STRING(api_key, "api_key");
    return app::Command{app::LoginCmd{f.api_key.text}};
  }
  return fail(WireError::unknown_type, "unknown message type");
}

#undef TS_REQUIRE_STRING

Decoder::Decoder() : impl_(std::make_unique<Impl>()) {
#ifdef SIMDJSON_THREADS_ENABLED
  impl_->lines.parser.threaded = false;  // a helper thread per window would share the loop's CPU
#endif
}
Decoder::~Decoder() = default;

DecodeResult Decoder::decode(std::string_view text, std::size_t padding) { return impl_->decode(text, padding); }

void Decoder::begin_lines(std::string_view lines, std::size_t padding) noexcept {
  auto& l = impl_->lines;
  l.active = padding >= simdjson::SIMDJSON_PADDING && !lines.empty();
  l.in_pass = false;
  l.run_begin = l.resume_at = lines.data();
  l.run_end = lines.data() + lines.size();
}

void Decoder::end_lines() noexcept { impl_->lines.active = false; }

}  // namespace tradeshard::protocol
