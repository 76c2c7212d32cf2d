#include <doctest/doctest.h>

#include "ledger_fixture.hpp"
#include "tradeshard/ledger/codec.hpp"

using namespace tradeshard;
using namespace tradeshard::ledger;
using namespace tradeshard::ledger::test;

namespace {

ChangeSet sample() {
  ChangeSet cs;
  cs.version = 123'456'789'012ULL;
  REQUIRE(cs.open(7, "alice") == LedgerError::ok);
  REQUIRE(cs.update_position(7, btc, -42, 5'000'000) == LedgerError::ok);
  REQUIRE(cs.update_cash(3, usdt, -9'000'000'000'000'000'000LL) == LedgerError::ok);
  REQUIRE(cs.close_position(1, eurusd, -5) == LedgerError::ok);
  REQUIRE(cs.deposit(2, usd, 1) == LedgerError::ok);
  REQUIRE(cs.withdraw(2, usd, INT64_MAX) == LedgerError::ok);
  return cs;
}

}  // namespace

// Ensure every change kind survives encode/decode exactly and the size bound holds.
TEST_CASE("Codec: change set round trip") {
  const ChangeSet cs = sample();
  std::string buf;
  encode(cs, buf);
  CHECK(buf.size() <= max_encoded_change_set);
  const ChangeSetDecode d = decode_change_set(buf);
  REQUIRE(d.ok());
  CHECK(d.value == cs);
}

// Ensure decode refuses every truncation, corrupted header and trailing byte without crashing.
TEST_CASE("Codec: decode validates") {
  std::string buf;
  encode(sample(), buf);
  for (std::size_t n = 0; n < buf.size(); ++n) {
    CHECK_FALSE(decode_change_set(std::string_view(buf).substr(0, n)).ok());
  }
  CHECK(decode_change_set(buf + "x").error == DecodeError::trailing_bytes);
  std::string bad = buf;
  bad[0] = 0;
  CHECK(decode_change_set(bad).error == DecodeError::bad_magic);
  bad = buf;
  bad[1] = 9;
  CHECK(decode_change_set(bad).error == DecodeError::bad_format);
  bad = buf;
  bad[3] = 100;
  CHECK(decode_change_set(bad).error == DecodeError::bad_count);
  ChangeSet one;
  REQUIRE(one.deposit(0, usdt, 1) == LedgerError::ok);
  buf.clear();
  encode(one, buf);
  buf[5] = 9;  // kind byte after magic, format, counts, version
  CHECK(decode_change_set(buf).error == DecodeError::bad_kind);
}

// Ensure a snapshot of real books decodes to an equal state and damaged ones are refused.
TEST_CASE("Codec: snapshot round trip") {
  LedgerState s(&rules());
  ChangeSet cs;
  cs.version = 1;
  REQUIRE(cs.open(0, "a") == LedgerError::ok);
  REQUIRE(cs.open(1, "b") == LedgerError::ok);
  REQUIRE(add_fill(cs, rules(), 0, 1, eth, 101, 3) == LedgerError::ok);
  REQUIRE(cs.deposit(1, usd, 77) == LedgerError::ok);
  REQUIRE(s.apply(cs) == LedgerError::ok);
  std::string buf;
  encode(s, buf);
  SnapshotDecode d = decode_snapshot(buf, &rules());
  REQUIRE(d.ok());
  CHECK(*d.value == s);
  CHECK(d.value->find_account("b") == 1u);
  for (std::size_t n = 0; n < buf.size(); ++n) {
    CHECK_FALSE(decode_snapshot(std::string_view(buf).substr(0, n), &rules()).ok());
  }
  CHECK(decode_snapshot(buf + "z", &rules()).error == DecodeError::trailing_bytes);
}
