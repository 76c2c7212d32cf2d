// HTTP views of the market-data history (docs/history.md): partitions, trades and quotes by time
// range with paging, bars of any range (1h and 1d rolled up from stored minute bars), restoring
// an archived partition. Every store access runs on the history's query thread; the session
// gets its answer back on the loop (HttpResponse::deferred).
#include <charconv>

#include "http_api.hpp"
#include "routes.hpp"
#include "views.hpp"
#include "tradeshard/app/gateway.hpp"
#include "tradeshard/history/service.hpp"
#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::net {
using nlohmann::json;

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::int64_t max_ms = 253'402'300'799'999;  // 9999-12-31: beyond is a typo, not a time

// A non-negative integer, digits only; nullopt when absent, error text when malformed.
struct Num {
  std::optional<std::int64_t> value;
  std::string error;
};
Num number(std::string_view query, std::string_view key, std::int64_t max) {
  const std::string v = HttpApi::query_param(query, key);
  if (v.empty()) return {};
  std::int64_t n = 0;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v[0] == '-' || v[0] == '+' || r.ec != std::errc{} || r.ptr != v.data() + v.size() || n > max) {
    return {std::nullopt, std::string(key) + " must be an integer from 0 to " + std::to_string(max) + " (got \"" +
                              v + "\")"};
  }
  return {n, {}};
}

struct Range {
  std::int64_t from = 0, to = 0;
  std::size_t limit = 1'000;
  std::optional<history::Cursor> cursor;
};

// from/to (ms, inclusive), limit, cursor; `span` = the default range's length before `to`.
std::optional<HttpResponse> parse_range(const HttpRequest& req, std::uint32_t max_rows, std::int64_t span,
                                        Range& out) {
  const auto from = number(req.query, "from", max_ms);
  const auto to = number(req.query, "to", max_ms);
  const auto limit = number(req.query, "limit", INT64_MAX);
  for (const auto* n : {&from, &to}) {
    if (!n->error.empty()) return HttpApi::error(400, "bad_range", n->error);
  }
  if (!limit.error.empty()) return HttpApi::error(400, "bad_limit", limit.error);
  out.to = to.value.value_or(wall_ms());
  out.from = from.value.value_or(std::max<std::int64_t>(0, out.to - span));
  if (out.from > out.to) {
    return HttpApi::error(400, "bad_range", "from (" + std::to_string(out.from) + ") is after to (" +
                                                std::to_string(out.to) + ")");
  }
  if (limit.value) {
    if (*limit.value < 1 || *limit.value > max_rows) {
      return HttpApi::error(400, "bad_limit", "limit must be 1.." + std::to_string(max_rows) +
                                                  " (history.max_query_rows); got " + std::to_string(*limit.value));
    }
    out.limit = static_cast<std::size_t>(*limit.value);
  }
  const std::string cursor = HttpApi::query_param(req.query, "cursor");
  if (!cursor.empty()) {
    out.cursor = history::parse_cursor(cursor);
    if (!out.cursor) return HttpApi::error(400, "bad_cursor", "cursor must be a \"next\" value from an earlier page");
  }
  return std::nullopt;
}

HttpResponse disabled() {
  return HttpApi::error(404, "history_disabled", "market-data history is off (history.enabled in the config)");
}

HttpResponse busy() {
  return HttpApi::error(503, "busy", "too many history queries waiting; retry shortly");
}

bool known_symbol(const app::Gateway& g, const history::HistoryService& h, std::string_view symbol) {
  return g.instruments().find(symbol) || g.ticks().map().find(symbol) || h.knows_symbol(symbol);
}

HttpResponse raw_json(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Defers the answer to the history's query thread: `work` runs there and returns the response.
HttpResponse deferred(history::HistoryService& h, std::function<HttpResponse(const history::Store&)> work) {
  HttpResponse r;
  r.deferred = [&h, work = std::move(work)](std::function<void(HttpResponse)> done) {
    auto shared_done = std::make_shared<std::function<void(HttpResponse)>>(std::move(done));
    // The continuation takes the job's reference: the session must not be released on the
    // query thread (the last reference goes where the answer is delivered, on the loop).
    const bool queued = h.query([work, shared_done](const history::Store& store) mutable -> std::function<void()> {
      auto res = std::make_shared<HttpResponse>(work(store));
      return [done = std::move(shared_done), res] { (*done)(std::move(*res)); };
    });
    if (!queued) (*shared_done)(busy());
  };
  return r;
}

void append_next(std::string& out, const std::optional<history::Cursor>& next) {
  out += ",\"next\":";
  out += next ? "\"" + history::to_string(*next) + "\"" : std::string("null");
  out += '}';
}

std::string head(std::string_view symbol, std::string_view list) {
  std::string out = "{\"symbol\":";
  out += json(symbol).dump();
  out += ",\"";
  out += list;
  out += "\":[";
  return out;
}

// A market-data value with exactly `scale` decimals (the instrument's grid, as fills print it);
// scale < 0: as few as needed.
void append_scaled(std::string& out, std::int64_t v, int scale) {
  if (scale < 0 || scale > 8) return protocol::append_md(out, v);
  constexpr std::int64_t one = 100'000'000;
  if (v < 0) out += '-';
  const std::uint64_t a = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  out += std::to_string(a / one);
  if (scale == 0) return;
  std::string frac = std::to_string(a % one);
  frac.insert(0, 8 - frac.size(), '0');
  out += '.';
  out.append(frac, 0, static_cast<std::size_t>(scale));
}

HttpResponse trades_page(std::string_view symbol, const history::Page<history::TradeRow>& p, int price_scale,
                         int qty_scale) {
  if (!p.error.empty()) return HttpApi::error(500, "storage_error", p.error);
  std::string out = head(symbol, "trades");
  out.reserve(out.size() + p.rows.size() * 96);
  bool first = true;
  for (const auto& t : p.rows) {
    out += first ? "{\"ts\":" : ",{\"ts\":";
    first = false;
    out += std::to_string(t.ts);
    out += ",\"trade_id\":\"t-";  // as on the wire (fills, trades channel)
    out += std::to_string(t.trade_id);
    out += "\",\"price\":\"";
    append_scaled(out, t.price, price_scale);
    out += "\",\"qty\":\"";
    append_scaled(out, t.qty, qty_scale);
    out += t.aggressor == core::Side::buy ? "\",\"aggressor\":\"buy\"}" : "\",\"aggressor\":\"sell\"}";
  }
  out += ']';
  append_next(out, p.next);
  return raw_json(200, std::move(out));
}

HttpResponse quotes_page(std::string_view symbol, const history::Page<history::QuoteRow>& p) {
  if (!p.error.empty()) return HttpApi::error(500, "storage_error", p.error);
  std::string out = head(symbol, "quotes");
  out.reserve(out.size() + p.rows.size() * 110);
  bool first = true;
  for (const auto& q : p.rows) {
    out += first ? "{\"ts\":" : ",{\"ts\":";
    first = false;
    out += std::to_string(q.ts);
    out += ",\"bid\":\"";
    protocol::append_md(out, q.bid);
    out += "\",\"ask\":\"";
    protocol::append_md(out, q.ask);
    out += "\",\"bid_size\":\"";
    protocol::append_md(out, q.bid_size);
    out += "\",\"ask_size\":\"";
    protocol::append_md(out, q.ask_size);
    out += "\"}";
  }
  out += ']';
  append_next(out, p.next);
  return raw_json(200, std::move(out));
}

json bar_json(const market::Bar& b) {
  return {{"start", b.start_ms}, {"open", views::md(b.open)}, {"high", views::md(b.high)},
          {"low", views::md(b.low)}, {"close", views::md(b.close)}, {"ticks", b.ticks}};
}

// Bars of [from, to] from the store, the open bar (in memory) merged in, rolled up when the
// interval is coarser than what is stored; at most `limit`, `next` = the first bar not returned.
HttpResponse stored_bars(const history::Store& store, const std::string& symbol, history::QueryInterval qi,
                         const Range& range, const std::optional<market::Bar>& open) {
  const auto src = history::source_of(qi);
  const std::int64_t width = history::width_ms(qi);
  const std::int64_t from = history::window_start(range.from, width);
  const bool rolled = qi == history::QueryInterval::h1 || qi == history::QueryInterval::d1;
  // Enough fine bars for `limit` coarse ones plus one (to know whether there is a next).
  const std::int64_t to = rolled ? std::min(range.to, from + static_cast<std::int64_t>(range.limit + 1) * width - 1)
                                 : range.to;
  constexpr std::size_t max_fine = 5'000'000;
  auto page = store.bars(symbol, src, from, rolled ? history::window_start(to, width) + width - 1 : to,
                         rolled ? max_fine : range.limit + 1);
  if (!page.error.empty()) return HttpApi::error(500, "storage_error", page.error);
  std::vector<market::Bar> bars;
  bars.reserve(page.rows.size() + 1);
  bool stored_closed = false;  // the open bar's window is already stored closed
  for (const auto& sb : page.rows) {
    if (open && sb.bar.start_ms == open->start_ms) {
      // A piece saved at a shutdown merges with the open bar; a closed bar means the bar closed
      // after the request took its copy: the stored one is complete, the copy is stale.
      if (sb.partial) {
        bars.push_back(history::merge_bars(sb.bar, *open));
      } else {
        bars.push_back(sb.bar);
      }
      stored_closed = true;
      continue;
    }
    bars.push_back(sb.bar);
  }
  if (open && !stored_closed && open->start_ms >= from &&
      open->start_ms <= (rolled ? history::window_start(to, width) + width - 1 : to)) {
    const auto at = std::lower_bound(bars.begin(), bars.end(), open->start_ms,
                                     [](const market::Bar& b, std::int64_t s) { return b.start_ms < s; });
    bars.insert(at, *open);
  }
  if (rolled) bars = history::roll_up(bars, width);
  std::erase_if(bars, [&](const market::Bar& b) { return b.start_ms < from || b.start_ms > range.to; });
  json next = nullptr;
  if (bars.size() > range.limit) {
    next = bars[range.limit].start_ms;
    bars.resize(range.limit);
  }
  json list = json::array();
  for (const auto& b : bars) list.push_back(bar_json(b));
  return HttpApi::reply(200, {{"symbol", symbol}, {"interval", history::to_string(qi)}, {"bars", list}, {"next", next}});
}

}  // namespace

// GET /bars/{symbol} with a range, or 1h/1d: answered from the history (routes_ticks.cpp keeps
// the in-memory answer for the plain form).
HttpResponse history_bars(HttpApi& api, app::Gateway& g, const HttpRequest& req, std::string_view symbol) {
  const auto qi = history::parse_query_interval(HttpApi::query_param(req.query, "interval"));
  if (!qi) return HttpApi::error(400, "bad_field", "interval must be 1s, 1m, 1h or 1d");
  auto* h = api.history();
  if (!h) {
    return HttpApi::error(400, "bad_field", "bars by range and 1h/1d bars need the history (history.enabled)");
  }
  Range range;
  if (auto bad = parse_range(req, h->config().max_query_rows, 600 * history::width_ms(*qi), range)) return *bad;
  if (!HttpApi::query_param(req.query, "cursor").empty()) {
    return HttpApi::error(400, "bad_field", "bars page with from=<next>, not a cursor");
  }
  if (!known_symbol(g, *h, symbol)) return HttpApi::error(404, "unknown_symbol", "no data for this symbol");
  const auto open = g.ticks().open_bar(symbol, history::source_of(*qi));
  return deferred(*h, [sym = std::string(symbol), qi = *qi, range, open](const history::Store& store) {
    return stored_bars(store, sym, qi, range, open);
  });
}

void add_history_routes(HttpApi& api, app::Gateway& g) {
  api.route("GET", "/history/partitions", false, [&api](const HttpRequest&, const HttpApi::Params&) {
    auto* h = api.history();
    if (!h) return disabled();
    return deferred(*h, [](const history::Store& store) {
      json list = json::array();
      for (const auto& p : store.partitions()) {
        list.push_back({{"id", p.start},
                        {"start", p.start},
                        {"end", p.end},
                        {"state", history::to_string(p.state)},
                        {"restored", p.restored},
                        {"rows", p.rows},
                        {"bytes", p.bytes}});
      }
      return HttpApi::reply(200, {{"partitions", list}});
    });
  });
  const auto range_route = [&api, &g](bool trades) {
    return [&api, &g, trades](const HttpRequest& req, const HttpApi::Params& p) {
      auto* h = api.history();
      if (!h) return disabled();
      Range range;
      if (auto bad = parse_range(req, h->config().max_query_rows, 3'600'000, range)) return *bad;
      if (!known_symbol(g, *h, p[0])) return HttpApi::error(404, "unknown_symbol", "no data for this symbol");
      // Trades print on their instrument's grid, like fills (a symbol no longer configured: trimmed).
      int price_scale = -1, qty_scale = -1;
      if (const auto id = g.instruments().find(p[0])) {
        price_scale = g.instruments().at(*id).tick_size.scale;
        qty_scale = g.instruments().at(*id).lot_size.scale;
      }
      return deferred(*h, [sym = std::string(p[0]), range, trades, price_scale, qty_scale](const history::Store& store) {
        return trades ? trades_page(sym, store.trades(sym, range.from, range.to, range.limit, range.cursor), price_scale,
                                    qty_scale)
                      : quotes_page(sym, store.quotes(sym, range.from, range.to, range.limit, range.cursor));
      });
    };
  };
  api.route("GET", "/history/trades/{}", false, range_route(true));
  api.route("GET", "/history/quotes/{}", false, range_route(false));
  api.route("POST", "/admin/history/partitions/{}/restore", true,
            [&api](const HttpRequest&, const HttpApi::Params& p) {
              auto* h = api.history();
              if (!h) return disabled();
              const auto id = number(std::string("id=") + std::string(p[0]), "id", max_ms);
              if (!id.value) return HttpApi::error(400, "bad_field", "partition id must be its start in ms");
              HttpResponse r;
              r.deferred = [h, start = *id.value](std::function<void(HttpResponse)> done) {
                auto shared_done = std::make_shared<std::function<void(HttpResponse)>>(std::move(done));
                const bool queued = h->restore(start, [shared_done, start](std::string why) {
                  if (why.empty()) return (*shared_done)(HttpApi::reply(200, {{"ok", true}, {"id", start}}));
                  if (why == "unknown_partition") {
                    return (*shared_done)(HttpApi::error(404, why, "no partition starts at " + std::to_string(start)));
                  }
                  if (why == "not_archived") {
                    return (*shared_done)(HttpApi::error(409, why, "the partition is live, not archived"));
                  }
                  (*shared_done)(HttpApi::error(500, "storage_error", why));
                });
                if (!queued) (*shared_done)(busy());
              };
              return r;
            });
}

void attach_history(HttpApi& api, history::HistoryService& h) {
  api.set_history(&h);
  api.add_health_check([&h] {
    const auto s = h.stats();
    return s.error.empty() ? std::string() : "history storage failing (" + s.error + "): market data is not being kept";
  });
  api.add_stats_section("history", [&h] {
    const auto s = h.stats();
    const auto& c = h.config();
    return json{{"enabled", true},
                {"rows_in", s.rows_in},
                {"queued_rows", s.queued_rows},
                {"queue_rows", c.queue_rows},
                {"on_full", app::to_string(c.on_full)},
                {"written_rows", s.written_rows},
                {"batches", s.batches},
                {"max_batch_rows", s.max_batch_rows},
                {"max_write_ms", s.max_write_ms},
                {"dropped", {{"quotes", s.dropped_quotes}, {"trades", s.dropped_trades}, {"bars", s.dropped_bars}}},
                {"conflated", s.conflated},
                {"late", s.late},
                {"reordered", s.reordered},
                {"write_errors", s.write_errors},
                {"lost_rows", s.lost_rows},
                {"queries", s.queries},
                {"queries_refused", s.queries_refused},
                {"error", s.error.empty() ? json(nullptr) : json(s.error)}};
  });
  auto& m = api.metrics();
  m.counter("tradeshard_history_rows_written_total", "Market-data rows written to the history store.",
            [&h] { return static_cast<double>(h.stats().written_rows); });
  m.counter("tradeshard_history_rows_dropped_total", "Rows the history queue dropped (full) or a failed write lost.",
            [&h] {
              const auto s = h.stats();
              return static_cast<double>(s.dropped_quotes + s.dropped_trades + s.dropped_bars + s.lost_rows);
            });
  m.gauge("tradeshard_history_queued_rows", "Rows waiting for the history's storage thread.",
          [&h] { return static_cast<double>(h.stats().queued_rows); });
}

}  // namespace tradeshard::net
