#pragma once
// Binary encodings for the WAL and for replication later. Compact (LEB128 varints, zigzag for
// signed values), versioned (magic + format byte), and strict: decode checks every length,
// count, kind and id range and refuses trailing bytes; it never throws on bad bytes.
//
// ChangeSet, format 1:
//   0xC5 | format=1 | open_count u8 | change_count u8 | version varint
//   open:   id varint | name_len u8 | name bytes
//   change: kind u8 | account varint | update_position: instrument varint, qty zz, price zz
//                                      close_position:  instrument varint, price zz
//                                      cash kinds:      currency varint, amount zz
// Snapshot (LedgerState), format 1:
//   'T' 'S' 'L' 'S' | format=1 | version varint | currency_count varint | account_count varint
//   account: name_len u8 | name | position_count varint | (instrument, qty zz, cost zz, realized zz)*
//            | cash_count varint | (currency varint, balance zz, net_transfers zz)*  (non-zero only)
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tradeshard/ledger/change_set.hpp"
#include "tradeshard/ledger/ledger_state.hpp"

namespace tradeshard::ledger {

inline constexpr std::uint8_t change_set_magic = 0xC5;
inline constexpr std::uint8_t codec_format = 1;
// Upper bound of one encoded ChangeSet: lets callers keep a fixed buffer.
inline constexpr std::size_t max_encoded_change_set =
    4 + 10 + ChangeSet::max_opens * (5 + 1 + AccountOpen::max_name) +
    ChangeSet::max_changes * (1 + 5 + 5 + 10 + 10);

enum class DecodeError : std::uint8_t {
  ok, truncated, bad_magic, bad_format, bad_count, bad_kind, bad_varint, bad_name, trailing_bytes,
  bad_id, bad_state,
};
std::string_view to_string(DecodeError e) noexcept;

// Appends the encoding to out (no allocation when out has capacity).
void encode(const ChangeSet& cs, std::string& out);

struct ChangeSetDecode {
  ChangeSet value;
  DecodeError error = DecodeError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == DecodeError::ok; }
};
[[nodiscard]] ChangeSetDecode decode_change_set(std::string_view bytes) noexcept;

void encode(const LedgerState& state, std::string& out);

struct SnapshotDecode {
  std::optional<LedgerState> value;
  DecodeError error = DecodeError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == DecodeError::ok; }
};
// Ids are checked against rules (an instrument or currency the config no longer has is refused).
[[nodiscard]] SnapshotDecode decode_snapshot(std::string_view bytes, const CashRules* rules);

}  // namespace tradeshard::ledger
