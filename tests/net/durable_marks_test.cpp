// DurableMarks (src/net/durable_marks.hpp): which prefix of a session's queue may be written
// while the ledger's fsync lags its commits.
#include <doctest/doctest.h>

#include "net/durable_marks.hpp"

using tradeshard::net::DurableMarks;

TEST_CASE("DurableMarks: nothing marked, everything goes") {
  DurableMarks m;
  CHECK(m.releasable(100, 0) == 100);
  CHECK(m.waiting_for(0) == 0);
}

TEST_CASE("DurableMarks: bytes before the first message that waits go; the rest waits for its version") {
  DurableMarks m;
  // queue: [0,10) an ack (no wait), [10,30) a fill of version 5, [30,50) a quote queued at 7.
  m.mark(10, 5);
  m.mark(30, 7);
  CHECK(m.releasable(50, 4) == 10);
  CHECK(m.waiting_for(4) == 5);
  CHECK(m.releasable(50, 5) == 30);
  CHECK(m.waiting_for(5) == 7);
  CHECK(m.releasable(50, 9) == 50);
  CHECK(m.waiting_for(9) == 0);
}

TEST_CASE("DurableMarks: a write of the safe prefix shifts what is left; later messages never hold it back") {
  DurableMarks m;
  m.mark(0, 3);
  m.mark(20, 4);
  CHECK(m.releasable(40, 2) == 0);
  // Durable reaches 3 while more arrive at 4, 6, 8: the bytes of version 3 still go.
  m.mark(40, 6);
  m.mark(60, 8);
  const auto n = m.releasable(80, 3);
  CHECK(n == 20);
  m.consumed(n);
  CHECK(m.releasable(60, 3) == 0);
  CHECK(m.waiting_for(3) == 4);
  CHECK(m.releasable(60, 6) == 40);
  m.consumed(40);
  CHECK(m.releasable(20, 6) == 0);
  CHECK(m.releasable(20, 8) == 20);
  m.consumed(20);
  CHECK(m.empty());
}

TEST_CASE("DurableMarks: a repeated version adds no mark; clear forgets everything") {
  DurableMarks m;
  m.mark(0, 2);
  m.mark(10, 2);
  m.mark(20, 2);
  CHECK(m.releasable(30, 1) == 0);
  CHECK(m.releasable(30, 2) == 30);
  m.clear();
  CHECK(m.releasable(30, 0) == 30);
}
