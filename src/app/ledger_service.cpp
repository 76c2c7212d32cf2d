#include "tradeshard/app/ledger_service.hpp"

#include <memory>
#include <stdexcept>

#include "tradeshard/core/hash.hpp"
#include "tradeshard/ledger/codec.hpp"
#include "tradeshard/ledger/ledger_state.hpp"

namespace tradeshard::app {
namespace {

ledger::CashRules build_rules(const core::InstrumentTable& instruments) {
  auto b = ledger::CashRules::build(instruments);
  if (!b.ok()) throw std::invalid_argument("instruments: no valid cash rules (" + b.detail + ")");
  return std::move(b.rules);
}

// Replicas are named replica-1..N (processing nodes are node-N: the names must not collide).
std::vector<std::unique_ptr<ledger::Replica>> make_replicas(const Config& c, const ledger::CashRules* rules) {
  std::vector<std::unique_ptr<ledger::Replica>> out;
  for (std::uint32_t i = 1; i <= c.replication.replicas; ++i) {
    out.push_back(std::make_unique<ledger::MemoryReplica>("replica-" + std::to_string(i), rules));
  }
  return out;
}

ledger::CoordinatorConfig coordinator_config(const Config& c) {
  ledger::CoordinatorConfig cc;
  cc.replicas = c.replication.replicas;
  cc.quorum = c.replication.quorum;
  cc.log_retain = c.replication.log_keep;
  return cc;
}

}  // namespace

LedgerService::LedgerService(const Config& config, const core::InstrumentTable& instruments)
    : config_(config),
      rules_(build_rules(instruments)),
      coord_(&rules_, make_replicas(config, &rules_), coordinator_config(config)) {}

std::string LedgerService::recover(const std::optional<std::string>& snapshot, const std::vector<std::string>& records) {
  if (snapshot) {
    if (auto err = restore_snapshot(*snapshot); !err.empty()) return err;
  }
  for (const auto& bytes : records) {
    if (auto err = replay(bytes); !err.empty()) return err;
  }
  // What was recovered was read back from the files.
  stats_.durable_version = coord_.committed_version();
  return {};
}

std::string LedgerService::restore_snapshot(std::string_view bytes) {
  auto s = ledger::decode_snapshot(bytes, &rules_);
  if (!s.ok() || !s.value) {
    return "ledger snapshot does not decode (" + std::string(ledger::to_string(s.error)) + "; config instruments changed?)";
  }
  if (!coord_.restore(*s.value)) return "ledger snapshot could not be restored";
  stats_.durable_version = coord_.committed_version();
  return {};
}

std::string LedgerService::replay(std::string_view change_set) {
  const auto next = coord_.committed_version() + 1;
  auto cs = ledger::decode_change_set(change_set);
  if (!cs.ok()) {
    return "ledger record version " + std::to_string(next) + " does not decode (" +
           std::string(ledger::to_string(cs.error)) + ")";
  }
  const auto r = coord_.replay(cs.value);
  if (!r.committed) {
    return "ledger record version " + std::to_string(cs.value.version) + " does not apply: " +
           std::string(ledger::to_string(r.error));
  }
  stats_.durable_version = coord_.committed_version();
  checkpoint();
  return {};
}

std::uint64_t LedgerService::digest() const {
  const auto* state = coord_.committed_state();
  if (state == nullptr) return 0;
  std::string bytes;
  ledger::encode(*state, bytes);
  return core::stable_hash(bytes);
}

void LedgerService::checkpoint() {
  if (checkpoint_every_ == 0 || coord_.committed_version() % checkpoint_every_ != 0) return;
  if (checkpoints_.size() == 16) checkpoints_.erase(checkpoints_.begin());
  checkpoints_.push_back(Checkpoint{coord_.committed_version(), digest()});
}

bool LedgerService::available() const {
  return !stats_.storage_failed && stats_.trade_refused.empty() && coord_.has_quorum();
}

bool LedgerService::propose(ledger::ChangeSet& cs) {
  if (stats_.storage_failed) return false;
  const auto r = coord_.propose(cs);
  if (!r.committed) {
    if (r.error == ledger::ProposeError::no_quorum) ++stats_.refused_no_quorum;
    else ++stats_.refused_invalid;
    return false;
  }
  ++stats_.commits;
  ++since_snapshot_;
  checkpoint();
  if (log_) {
    buf_.clear();
    ledger::encode(cs, buf_);
    if (!log_->stage(r.version, buf_)) stats_.storage_failed = true;
    staged_ = true;
  }
  return true;
}

std::uint64_t LedgerService::commit(const Trade& t) {
  ledger::ChangeSet cs;
  const auto buyer = coord_.resolve_account(cs, t.buyer);
  const auto seller = coord_.resolve_account(cs, t.seller);
  if (!buyer || !seller) return 0;
  if (const auto e = ledger::add_fill(cs, rules_, *buyer, *seller, t.instrument, t.price, t.qty); e != ledger::LedgerError::ok) {
    ++stats_.refused_invalid;
    if (stats_.trade_refused.empty()) stats_.trade_refused = ledger::to_string(e);
    return 0;
  }
  const auto invalid_before = stats_.refused_invalid;
  if (propose(cs)) return coord_.committed_version();
  if (stats_.refused_invalid != invalid_before && stats_.trade_refused.empty()) stats_.trade_refused = "refused by the replicas";
  return 0;
}

bool LedgerService::flush() {
  if (!staged_ || !log_) return true;  // nothing new to write
  staged_ = false;
  // A change set that could not even be staged is not in the log, whatever the write does.
  if (stats_.storage_failed || !log_->flush()) {
    stats_.storage_failed = true;
    return false;
  }
  // Snapshots bound recovery time and let the log drop old segments.
  if (since_snapshot_ >= config_.ledger.snapshot_every) {
    since_snapshot_ = 0;
    std::string snap;
    ledger::encode(*coord_.committed_state(), snap);
    log_->snapshot(coord_.committed_version(), std::move(snap));
    ++stats_.snapshots;
  }
  return true;
}

std::string LedgerService::transfer(std::string_view account, std::string_view currency, core::Decimal amount,
                                    bool deposit, std::uint64_t& version) {
  const auto cur = rules_.find_currency(currency);
  if (!cur) return "unknown_currency";
  const auto units = core::to_steps(amount, core::Decimal{1, rules_.currency(*cur).scale});
  if (!units.ok() || units.steps <= 0) return "bad_amount";
  if (!available()) return "ledger_unavailable";
  ledger::ChangeSet cs;
  const auto id = coord_.resolve_account(cs, account);
  if (!id) return "bad_account";
  const auto e = deposit ? cs.deposit(*id, *cur, units.steps) : cs.withdraw(*id, *cur, units.steps);
  if (e != ledger::LedgerError::ok) return std::string(ledger::to_string(e));
  if (!propose(cs)) return "ledger_unavailable";
  version = coord_.committed_version();
  return {};
}

}  // namespace tradeshard::app
