// libFuzzer target: what etcd's JSON gateway sends back (cluster mode, docs/cluster.md): every
// answer decoder of include/tradeshard/cluster/etcd_codec.hpp, a stream body split into messages
// wherever its bytes arrive, the member and assignment values of membership.hpp, and the ledger
// log's head, batches, snapshot chunks, the log assembled after a snapshot and a follower's status
// (ledger_log.hpp).
//
// Input: byte 0 picks the decoder, byte 1 where the stream is cut; the rest is the body.
// Oracles: nothing crashes or trips a sanitizer; a decoded key or value re-encodes to base64
// that decodes to the same bytes; the splitter gives the same messages however the bytes are cut.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/cluster/etcd_codec.hpp"
#include "tradeshard/cluster/ledger_log.hpp"
#include "tradeshard/cluster/membership.hpp"

using namespace tradeshard::cluster::etcd;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

void round_trip(const KeyValue& kv) {
  check(base64_decode(base64_encode(kv.key)) == kv.key);
  check(base64_decode(base64_encode(kv.value)) == kv.value);
}

// The pieces of `body` between "||" (several values in one input).
std::vector<std::string_view> pieces(std::string_view body) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    const auto bar = body.find("||", at);
    out.push_back(body.substr(at, bar == std::string_view::npos ? std::string_view::npos : bar - at));
    if (bar == std::string_view::npos) return out;
    at = bar + 2;
  }
}

std::vector<std::string> split(std::string_view body, std::size_t cut) {
  StreamSplitter s(1 << 16);
  std::vector<std::string> out;
  for (std::size_t at = 0; at < body.size(); at += cut) {
    s.feed(body.substr(at, cut));
    while (auto m = s.next()) out.push_back(std::move(*m));
  }
  if (!s.overflowed()) out.push_back(s.take_rest());
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int mode = data[0] % 21;
  const std::size_t cut = 1 + data[1] % 64;
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  switch (mode) {
    case 0:
      if (auto r = decode_range(body); r.ok()) {
        for (const auto& kv : r.value->kvs) round_trip(kv);
      }
      break;
    case 1: (void)decode_put(body); break;
    case 2: (void)decode_delete(body); break;
    case 3:
      if (auto r = decode_txn(body); r.ok()) {
        for (const auto& resp : r.value->responses) {
          if (const auto* range = std::get_if<RangeResponse>(&resp)) {
            for (const auto& kv : range->kvs) round_trip(kv);
          }
        }
      }
      break;
    case 4: (void)decode_lease_grant(body); break;
    case 5: (void)decode_lease_keepalive(body); break;
    case 6:
      // A watch stream: every message the splitter finds, whole or cut, decodes the same.
      {
        const auto whole = split(body, body.size() + 1);
        const auto cut_up = split(body, cut);
        check(whole == cut_up);
        for (const auto& m : cut_up) {
          if (auto w = decode_watch(m); w.ok()) {
            for (const auto& e : w.value->events) round_trip(e.kv);
          }
        }
      }
      break;
    case 7: (void)decode_campaign(body); break;
    case 8: (void)decode_leader(body); break;
    case 9: (void)decode_authenticate(body); break;
    case 10: (void)decode_member_list(body); break;
    case 11: (void)decode_status(body); break;
    case 12: (void)decode_alarms(body); break;
    case 14:
      // A member key's value (membership.hpp): what decodes re-encodes to a value that decodes the same.
      if (auto m = tradeshard::cluster::decode_member(body)) {
        const auto again = tradeshard::cluster::decode_member(tradeshard::cluster::encode(*m));
        check(again && again->id == m->id && again->addr == m->addr && again->pid == m->pid);
      }
      break;
    case 15:
      if (auto a = tradeshard::cluster::decode_assignments(body)) {
        const auto again = tradeshard::cluster::decode_assignments(tradeshard::cluster::encode(*a));
        check(again && again->hosts == a->hosts && again->nodes == a->nodes && again->version == a->version && again->epoch == a->epoch);
      }
      break;
    case 16:
      // The ledger log's head: what decodes re-encodes to a value that decodes the same.
      if (auto h = tradeshard::cluster::decode_head(body)) check(tradeshard::cluster::decode_head(encode(*h)) == h);
      break;
    case 17:
      // A ledger batch (first version from byte 1): what decodes is contiguous, and writing its
      // records again gives the same bytes.
      if (auto records = tradeshard::cluster::decode_batch(body, 1 + data[1] % 8)) {
        tradeshard::cluster::BatchWriter w;
        for (const auto& r : *records) check(w.add(r.version, r.bytes));
        check(w.take() == body);
      }
      break;
    case 18: {
      // A snapshot's chunks (values between "||", under the keys of version 1 + byte 1 % 8): what
      // joins splits and joins again to the same bytes.
      const tradeshard::cluster::LedgerKeys keys{"/f"};
      const std::uint64_t version = 1 + data[1] % 8;
      std::vector<std::string> names;
      const auto values = pieces(body);
      for (std::size_t i = 0; i < values.size(); ++i) names.push_back(keys.chunk(version, static_cast<std::uint32_t>(i)));
      std::vector<tradeshard::cluster::ChunkKV> chunks;
      for (std::size_t i = 0; i < values.size(); ++i) chunks.push_back({names[i], values[i]});
      if (auto joined = tradeshard::cluster::join_snapshot(keys, version, chunks)) {
        check(joined->size() <= body.size());
        const auto again = tradeshard::cluster::split_snapshot(version, *joined);
        std::vector<tradeshard::cluster::ChunkKV> kvs;
        for (std::size_t i = 0; i < again.size(); ++i) kvs.push_back({names.size() > i ? std::string_view(names[i]) : std::string_view(), again[i]});
        if (again.size() <= names.size()) check(tradeshard::cluster::join_snapshot(keys, version, kvs) == joined);
      }
      break;
    }
    case 19: {
      // The log after a snapshot at byte 1 % 16: batches between "||", each keyed by its first
      // version (its first byte % 32 + 1); what the assembler takes is contiguous from the snapshot.
      const tradeshard::cluster::LedgerKeys keys{"/f"};
      const std::uint64_t snapshot = data[1] % 16;
      tradeshard::cluster::LogAssembler log(keys, snapshot);
      for (const auto piece : pieces(body)) {
        if (piece.empty()) continue;
        const std::uint64_t first = 1 + static_cast<unsigned char>(piece[0]) % 32;
        if (!log.add(keys.log(first), piece.substr(1))) break;
      }
      std::uint64_t expect = snapshot + 1;
      for (const auto& r : log.records()) check(r.version == expect++);
      check(log.last() == expect - 1);
      check(log.ends_at(log.last()));
      break;
    }
    case 20:
      // A follower's status (replica process): what decodes re-encodes to a value that decodes the same.
      if (auto f = tradeshard::cluster::decode_follower(body)) check(tradeshard::cluster::decode_follower(encode(*f)) == f);
      break;
    default: {
      const auto decoded = base64_decode(body);
      if (decoded) check(base64_encode(*decoded) == body);
      break;
    }
  }
  return 0;
}
