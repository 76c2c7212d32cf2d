#pragma once
// A worker process's end of the link (cluster mode, docs/cluster.md "The link"): the frames a
// gateway sends go in, RESULT/WELCOME/REFUSE/PONG frames come out, and the matching happens in an
// app::InProcessVenue (the embedded venue's queues, lanes and engines, one per gateway worker
// slot). No sockets: the edge moves the bytes; everything here is tested without them.
//
// The rules it keeps:
//  - HELLO first. A digest of another instrument table is refused (config_mismatch); an epoch
//    older than the one it serves is refused (stale_epoch): an old gateway can change nothing.
//    A newer epoch (a new gateway leader) starts a new command sequence; the books stay, orders
//    still queued for the old gateway are dropped without events. reset drops the books too.
//  - Commands arrive with seq = last received + 1; a gap is a protocol error (REFUSE bad_frame).
//  - Every command gets exactly one RESULT carrying all of its events. An order's RESULT comes
//    when it is matched (pump); one cancelled while still queued gets an empty RESULT, sent
//    before the cancel's own.
//  - Reconnecting with the same epoch, the gateway re-sends every command it has no RESULT for.
//    One received before is not applied again. The cached RESULTs (the last `result_cache`) of
//    seqs from the HELLO's resend_from on are replayed right after WELCOME in the order they were
//    made (a vip order matched before an earlier normal one keeps its place); a re-sent command
//    whose RESULT was replayed gets no second one, one still queued is answered when matched.
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tradeshard/app/inprocess_venue.hpp"
#include "tradeshard/link/codec.hpp"
#include "tradeshard/link/peer_host.hpp"

namespace tradeshard::link {

struct WorkerHostOptions {
  std::string id = "worker";
  std::uint64_t instruments_digest = 0;
  std::uint32_t queue_capacity = 10'000;  // per slot, as workers[].capacity
  std::uint32_t reserved = 0;             // of which for vip/emergency only
  std::uint32_t batch_size = 64;
  std::size_t result_cache = 8192;        // >= the gateway's cap on commands in flight per link
  std::uint32_t max_slots = 64;
  std::size_t max_payload = default_max_payload;
};

struct WorkerHostStats {
  std::uint64_t commands = 0;        // commands applied
  std::uint64_t duplicates = 0;      // commands received again after a reconnect (not re-applied)
  std::uint64_t results = 0;         // RESULT frames made
  std::uint64_t links = 0;           // HELLOs accepted
  std::uint64_t refused = 0;         // HELLOs refused and protocol errors
  std::uint64_t dropped_queued = 0;  // orders of an older epoch dropped unmatched
};

class WorkerHost final : public PeerHost, private app::VenueSink {
 public:
  // The table must outlive the host.
  WorkerHost(const core::InstrumentTable& instruments, book::EngineOptions engine, WorkerHostOptions options);
  ~WorkerHost() override;
  WorkerHost(const WorkerHost&) = delete;
  WorkerHost& operator=(const WorkerHost&) = delete;

  // Bytes the gateway sent; frames to send back are appended to `out`. False: close the link
  // once `out` is written (a REFUSE or a protocol error; error() says why).
  [[nodiscard]] bool on_bytes(std::string_view bytes, std::string& out) override;
  // The link is gone; the next one starts with HELLO. Books, queued orders and results stay.
  void on_link_closed() override;
  // Whether this HELLO would be accepted (nothing changes): the edge checks a second connection's
  // HELLO before it lets it replace the link that serves.
  [[nodiscard]] std::optional<Refuse> check_hello(const Hello& h) const override;
  // Matches queued orders; their RESULTs go to `out` (to the cache only when no link is up).
  // True while orders remain queued.
  bool pump(app::Now now, std::string& out) override;

  [[nodiscard]] bool linked() const noexcept { return linked_; }
  [[nodiscard]] std::uint64_t epoch() const noexcept override { return epoch_; }
  [[nodiscard]] std::uint64_t received_seq() const noexcept { return received_; }
  [[nodiscard]] const std::string& error() const noexcept override { return error_; }
  [[nodiscard]] const WorkerHostStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const app::InProcessVenue& venue() const noexcept { return venue_; }
  // The local venue slot serving the gateway's worker slot, if any.
  [[nodiscard]] std::optional<std::uint32_t> local_slot(std::uint32_t gateway_slot) const;

 private:
  struct Slot {
    std::uint32_t gateway = 0;  // the gateway's slot number
  };
  struct Pending {
    std::uint64_t seq = 0;
    std::uint32_t gateway_slot = 0;
    std::uint32_t local_slot = 0;
    book::AccountId account = 0;
  };

  void on_events(std::uint32_t worker, std::span<const book::Event> events, app::Now now) override;
  void on_refused(const app::OrderRef& order, app::VenueOp op, book::RejectReason reason,
                  std::uint64_t reply_to) override;

  bool refuse(std::string& out, RefuseCode code, std::string reason);
  bool hello(const Hello& h, std::string& out);
  void command(std::uint64_t seq, const Message& m, std::string& out);
  void begin(std::uint64_t seq, std::uint32_t gateway_slot);
  void finish(std::string& out);
  std::optional<std::uint32_t> slot_for(std::uint32_t gateway_slot);
  void emit(std::uint64_t seq, Result r, std::string& out);
  void drop_queued();

  const core::InstrumentTable& instruments_;
  WorkerHostOptions options_;
  app::InProcessVenue venue_;
  std::vector<Slot> slots_;                                    // by local slot
  std::unordered_map<std::uint32_t, std::uint32_t> by_gateway_;  // gateway slot -> local slot
  FrameReader reader_;
  bool linked_ = false;
  std::uint64_t epoch_ = 0;
  std::uint64_t received_ = 0;  // the last command seq received under epoch_
  std::uint64_t replayed_from_ = 1;  // cached RESULTs from this seq were replayed at this link's HELLO
  std::unordered_map<book::OrderKey, Pending> pending_;  // orders queued, not matched yet
  std::unordered_set<std::uint64_t> pending_seqs_;       // their commands' seqs
  std::map<std::uint64_t, std::string> cache_;           // seq -> its RESULT frame
  std::deque<std::uint64_t> cache_order_;                 // seqs as their RESULTs were made (eviction)
  // The command being applied (its events collect here), and where frames go meanwhile.
  std::uint64_t current_seq_ = 0;
  Result current_;
  std::string* out_ = nullptr;
  bool silent_ = false;  // events of dropped orders go nowhere
  std::string error_;
  WorkerHostStats stats_;
};

}  // namespace tradeshard::link
