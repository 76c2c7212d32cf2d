#include "tradeshard/ledger/codec.hpp"

namespace tradeshard::ledger {
namespace {

constexpr std::string_view snapshot_magic = "TSLS";

void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_zz(std::string& out, std::int64_t v) {
  put_varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

// Bounds-checked reader; the first failure sticks and later reads return 0.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  std::uint8_t u8() noexcept {
    if (pos_ >= b_.size()) return fail(DecodeError::truncated);
    return static_cast<std::uint8_t>(b_[pos_++]);
  }
  std::uint64_t varint() noexcept {
    std::uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) return fail(DecodeError::truncated);
      const auto byte = static_cast<std::uint8_t>(b_[pos_++]);
      // The 10th byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && byte > 1) return fail(DecodeError::bad_varint);
      v |= std::uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) return v;
    }
    return fail(DecodeError::bad_varint);
  }
  std::int64_t zz() noexcept {
    const std::uint64_t u = varint();
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::uint32_t u32() noexcept {
    const std::uint64_t v = varint();
    if (v > UINT32_MAX) return static_cast<std::uint32_t>(fail(DecodeError::bad_id));
    return static_cast<std::uint32_t>(v);
  }
  std::string_view bytes(std::size_t n) noexcept {
    if (b_.size() - pos_ < n) {
      fail(DecodeError::truncated);
      return {};
    }
    const auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::uint8_t fail(DecodeError e) noexcept {
    if (error_ == DecodeError::ok) error_ = e;
    pos_ = b_.size();
    return 0;
  }
  [[nodiscard]] DecodeError finish() const noexcept {
    if (error_ != DecodeError::ok) return error_;
    return pos_ == b_.size() ? DecodeError::ok : DecodeError::trailing_bytes;
  }
  [[nodiscard]] bool good() const noexcept { return error_ == DecodeError::ok; }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
  DecodeError error_ = DecodeError::ok;
};

bool decode_change(Reader& r, ChangeSet& cs) {
  Change c;
  const std::uint8_t kind = r.u8();
  c.account = r.u32();
  switch (static_cast<ChangeKind>(kind)) {
    case ChangeKind::update_position:
      c.instrument = r.u32();
      c.qty = r.zz();
      c.price = r.zz();
      break;
    case ChangeKind::close_position:
      c.instrument = r.u32();
      c.price = r.zz();
      break;
    case ChangeKind::update_cash:
    case ChangeKind::deposit:
    case ChangeKind::withdraw: {
      const std::uint64_t cur = r.varint();
      if (cur > UINT16_MAX) return r.fail(DecodeError::bad_id), false;
      c.currency = static_cast<CurrencyId>(cur);
      c.qty = r.zz();
      break;
    }
    default: return r.fail(DecodeError::bad_kind), false;
  }
  c.kind = static_cast<ChangeKind>(kind);
  return r.good() && cs.add(c) == LedgerError::ok;
}

}  // namespace

std::string_view to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::ok: return "ok";
    case DecodeError::truncated: return "truncated";
    case DecodeError::bad_magic: return "bad_magic";
    case DecodeError::bad_format: return "bad_format";
    case DecodeError::bad_count: return "bad_count";
    case DecodeError::bad_kind: return "bad_kind";
    case DecodeError::bad_varint: return "bad_varint";
    case DecodeError::bad_name: return "bad_name";
    case DecodeError::trailing_bytes: return "trailing_bytes";
    case DecodeError::bad_id: return "bad_id";
    case DecodeError::bad_state: return "bad_state";
  }
  return "unknown";
}

void encode(const ChangeSet& cs, std::string& out) {
  put_u8(out, change_set_magic);
  put_u8(out, codec_format);
  put_u8(out, static_cast<std::uint8_t>(cs.open_count()));
  put_u8(out, static_cast<std::uint8_t>(cs.size()));
  put_varint(out, cs.version);
  for (std::size_t i = 0; i < cs.open_count(); ++i) {
    const AccountOpen& o = cs.opened(i);
    put_varint(out, o.id);
    put_u8(out, o.size);
    out.append(o.name());
  }
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const Change& c = cs[i];
    put_u8(out, static_cast<std::uint8_t>(c.kind));
    put_varint(out, c.account);
    if (c.kind == ChangeKind::update_position || c.kind == ChangeKind::close_position) {
      put_varint(out, c.instrument);
      if (c.kind == ChangeKind::update_position) put_zz(out, c.qty);
      put_zz(out, c.price);
    } else {
      put_varint(out, c.currency);
      put_zz(out, c.qty);
    }
  }
}

ChangeSetDecode decode_change_set(std::string_view bytes) noexcept {
  ChangeSetDecode out;
  Reader r(bytes);
  if (r.u8() != change_set_magic) return {{}, r.good() ? DecodeError::bad_magic : r.finish()};
  if (r.u8() != codec_format) return {{}, r.good() ? DecodeError::bad_format : r.finish()};
  const std::uint8_t opens = r.u8();
  const std::uint8_t changes = r.u8();
  if (opens > ChangeSet::max_opens || changes > ChangeSet::max_changes) {
    return {{}, r.good() ? DecodeError::bad_count : r.finish()};
  }
  out.value.version = r.varint();
  for (std::uint8_t i = 0; i < opens && r.good(); ++i) {
    const std::uint32_t id = r.u32();
    const std::uint8_t len = r.u8();
    if (r.good() && (len == 0 || len > AccountOpen::max_name)) r.fail(DecodeError::bad_name);
    const std::string_view name = r.bytes(len);
    if (r.good() && out.value.open(id, name) != LedgerError::ok) r.fail(DecodeError::bad_name);
  }
  for (std::uint8_t i = 0; i < changes && r.good(); ++i) decode_change(r, out.value);
  out.error = r.finish();
  if (!out.ok()) out.value.clear();
  return out;
}

void encode(const LedgerState& state, std::string& out) {
  out.append(snapshot_magic);
  put_u8(out, codec_format);
  put_varint(out, state.version());
  put_varint(out, state.rules().currency_count());
  put_varint(out, state.account_count());
  for (AccountId id = 0; id < state.account_count(); ++id) {
    const Account& a = state.account(id);
    put_u8(out, static_cast<std::uint8_t>(a.name.size()));
    out.append(a.name);
    put_varint(out, a.positions.size());
    for (const auto& p : a.positions) {
      put_varint(out, p.instrument);
      put_zz(out, p.position.qty);
      put_zz(out, p.position.cost);
      put_zz(out, p.position.realized);
    }
    std::size_t nonzero = 0;
    for (const auto& c : a.cash) nonzero += (c != CashBalance{}) ? 1 : 0;
    put_varint(out, nonzero);
    for (std::size_t c = 0; c < a.cash.size(); ++c) {
      if (a.cash[c] == CashBalance{}) continue;
      put_varint(out, c);
      put_zz(out, a.cash[c].balance);
      put_zz(out, a.cash[c].net_transfers);
    }
  }
}

SnapshotDecode decode_snapshot(std::string_view bytes, const CashRules* rules) {
  Reader r(bytes);
  if (r.bytes(snapshot_magic.size()) != snapshot_magic) return {std::nullopt, DecodeError::bad_magic};
  if (r.u8() != codec_format) return {std::nullopt, DecodeError::bad_format};
  LedgerState state(rules);
  state.restore_version(r.varint());
  const std::uint64_t currencies = r.varint();
  const std::uint64_t accounts = r.varint();
  if (r.good() && (currencies > rules->currency_count() || accounts > bytes.size())) {
    return {std::nullopt, DecodeError::bad_count};
  }
  for (std::uint64_t i = 0; i < accounts && r.good(); ++i) {
    Account a;
    a.name = std::string(r.bytes(r.u8()));
    const std::uint64_t positions = r.varint();
    if (positions > rules->instrument_count()) return {std::nullopt, DecodeError::bad_count};
    for (std::uint64_t p = 0; p < positions && r.good(); ++p) {
      PositionEntry e;
      e.instrument = r.u32();
      e.position.qty = r.zz();
      e.position.cost = r.zz();
      e.position.realized = r.zz();
      a.positions.push_back(e);
    }
    const std::uint64_t cash = r.varint();
    if (cash > rules->currency_count()) return {std::nullopt, DecodeError::bad_count};
    a.cash.resize(rules->currency_count());
    for (std::uint64_t c = 0; c < cash && r.good(); ++c) {
      const std::uint64_t cur = r.varint();
      if (cur >= rules->currency_count()) return {std::nullopt, DecodeError::bad_id};
      a.cash[cur].balance = r.zz();
      a.cash[cur].net_transfers = r.zz();
    }
    if (r.good() && !state.restore_account(std::move(a))) return {std::nullopt, DecodeError::bad_state};
  }
  const DecodeError e = r.finish();
  if (e != DecodeError::ok) return {std::nullopt, e};
  return {std::move(state), DecodeError::ok};
}

}  // namespace tradeshard::ledger
