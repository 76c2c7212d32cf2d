// tradeshard dashboard: one WebSocket, the `stats` channel (docs/protocol.md). The first message
// is the whole picture with history; then one update a second. Everything shown is escaped: symbol
// names come from clients and feeds.
(function () {
  "use strict";
  const MAX_POINTS = 300;
  const $ = (id) => document.getElementById(id);
  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  // Number formats built once, at load: building one (ICU's data) is costly, and a render must not.
  const formats = [0, 1].map((d) => new Intl.NumberFormat("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
  formats.forEach((f) => f.format(1234.5));
  const fmt = (n, d = 0) => (typeof n === "number" ? formats[d].format(n) : "–");

  const series = { t: [], orders: [], ticks: [], fills: [], p50: [], p99: [] };
  let rates = null, latency = null;

  function push(sample) {
    if (!sample) return;
    const t = sample.ts / 1000;
    if (series.t.length && t <= series.t[series.t.length - 1]) return;
    series.t.push(t);
    series.orders.push(sample.orders_per_s);
    series.ticks.push(sample.ticks_per_s);
    series.fills.push(sample.fills_per_s);
    series.p50.push(sample.ack_p50_us);
    series.p99.push(sample.ack_p99_us);
    if (series.t.length > MAX_POINTS) for (const k in series) series[k].shift();
  }

  function chart(el, labels, colors) {
    const width = Math.max(320, el.clientWidth - 4);
    const opts = {
      width, height: 200,
      scales: { x: { time: true } },
      axes: [{ stroke: "#7d8a99", grid: { stroke: "#26313d" } }, { stroke: "#7d8a99", grid: { stroke: "#26313d" }, size: 60 }],
      series: [{}].concat(labels.map((label, i) => ({ label, stroke: colors[i], width: 1.5 }))),
    };
    // Drawn once with two placeholder points at load: the first draw with data (axis ticks, date
    // labels) is costly, and must not fall on an update. The first stats message replaces them.
    const now = Date.now() / 1000;
    return new uPlot(opts, [[now - 1, now], ...labels.map(() => [0, 0])], el);
  }

  function drawCharts() {
    if (!rates || !latency) return;
    rates.setData([series.t, series.orders, series.ticks, series.fills]);
    latency.setData([series.t, series.p50, series.p99]);
  }

  function rows(tbody, list, row) {
    $(tbody).querySelector("tbody").innerHTML = list.map(row).join("");
  }

  function workerRow(w) {
    const pct = w.capacity ? Math.min(100, (100 * w.current_load) / w.capacity) : 0;
    const syms = w.symbols || [];
    const shown = syms.slice(0, 24).map(esc).join(" ") + (syms.length > 24 ? ` … +${syms.length - 24}` : "");
    return `<tr data-worker="${esc(w.id)}"><td class="worker-id">${esc(w.id)}</td>` +
      `<td class="state-${esc(w.state)}">${esc(w.state)}</td>` +
      `<td><span class="bar"><i style="width:${pct.toFixed(1)}%"></i></span>${fmt(w.current_load)} / ${fmt(w.capacity)}</td>` +
      `<td>${fmt(w.book_load, 1)}</td><td>${fmt(w.latency_us, 1)}</td><td>${fmt(w.queued)}</td>` +
      `<td class="syms" title="${syms.length} symbols">${syms.length}: ${shown}</td></tr>`;
  }

  function heatmap(load, owner) {
    const canvas = $("heatmap");
    const w = canvas.clientWidth || 600, h = canvas.clientHeight || 120;
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    const n = load.length;
    if (!n) return;
    const cols = Math.max(1, Math.ceil(Math.sqrt((n * w) / h)));
    const rowsN = Math.ceil(n / cols);
    const cw = w / cols, ch = h / rowsN;
    let max = 0;
    for (const v of load) if (v > max) max = v;
    for (let p = 0; p < n; p++) {
      const x = (p % cols) * cw, y = Math.floor(p / cols) * ch;
      const f = max > 0 ? load[p] / max : 0;
      ctx.fillStyle = f > 0 ? `hsl(${(1 - f) * 120}, 70%, ${25 + f * 25}%)` : "#1d2630";
      ctx.fillRect(x + 1, y + 1, cw - 2, ch - 2);
      if (owner && cw > 6) {
        ctx.fillStyle = `hsl(${(owner[p] * 67) % 360}, 60%, 60%)`;
        ctx.fillRect(x + 1, y + ch - 3, cw - 2, 2);
      }
    }
  }

  function render(d) {
    const healthy = d.health.status === "ok";
    $("health").textContent = d.health.status;
    $("health").className = "badge " + (healthy ? "ok" : "degraded");
    $("reasons").textContent = healthy ? "" : d.health.reasons.join("; ");
    const t = d.totals;
    $("count-orders").textContent = fmt(t.orders);
    $("count-ticks").textContent = fmt(t.ticks);
    $("count-fills").textContent = fmt(t.fills);
    $("count-trades").textContent = fmt(t.trades);
    $("count-live").textContent = fmt(t.live_orders);
    $("count-conns").textContent = fmt(t.connections);
    $("count-moved").textContent = fmt(t.books_moved);
    $("strategy").textContent = "strategy " + d.strategy;
    rows("workers", d.workers, workerRow);
    const m = d.symbol_map;
    $("map-info").textContent = `${m.strategy}, ${fmt(m.symbols)} symbols, ${m.partition_load.length} partitions`;
    rows("nodes", m.nodes, (n) => `<tr data-node="${esc(n.id)}"><td>${esc(n.id)}</td><td>${fmt(n.partitions)}</td><td>${fmt(n.symbols)}</td><td>${fmt(n.ticks_per_s, 1)}</td></tr>`);
    heatmap(m.partition_load, m.partition_owner);
    if (d.history) { for (const k in series) series[k].length = 0; d.history.forEach(push); } else push(d.sample);
    // The lower panels and the charts in the next frame: two short tasks rather than one long one.
    requestAnimationFrame(() => {
      renderLower(d);
      drawCharts();
    });
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  const renders = [];  // ms per update, newest last (the browser test reads them)
  let firstAt = null;  // when the first stats message (the snapshot) arrived (performance.now)
  let liveAt = null;   // when the first update after it arrived
  function renderLower(d) {
    const r = d.replicas;
    $("consistency").textContent = `committed v${r.committed_version}, quorum ${r.quorum}${r.has_quorum ? "" : " (lost)"}, ` +
      (d.consistency.is_consistent ? "consistent" : `inconsistent (lag ${d.consistency.version_lag})`);
    rows("replicas", r.replicas, (x) => `<tr><td>${esc(x.node_id)}</td><td>${esc(x.state)}</td><td>${fmt(x.version)}</td><td>${fmt(x.lag)}</td></tr>`);
    rows("feeds", d.feeds, (f) => `<tr><td>${esc(f.url)}</td><td>${esc(f.state)}</td><td>${fmt(f.ticks)}</td><td>${fmt(f.reconnects)}</td></tr>`);
    rows("trades", d.trades, (x) => `<tr><td>${esc(x.symbol)}</td><td>${esc(x.trade_id)}</td><td>${esc(x.price)}</td><td>${esc(x.qty)}</td><td>${esc(x.aggressor)}</td></tr>`);
    rows("signals", d.signals, (x) => `<tr><td>${esc(x.symbol)}</td><td>${esc(x.strategy)}</td><td>${esc(x.node)}</td><td>${esc(x.side)}</td><td>${esc(x.price)}</td><td>${esc(x.size)}</td></tr>`);
  }

  let backoff = 250;
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = () => {
      backoff = 250;
      $("link").textContent = "live";
      ws.send(JSON.stringify({ type: "subscribe", channels: ["stats"] }));
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "stats") {
        const t0 = performance.now();
        if (firstAt === null) firstAt = t0;
        else if (liveAt === null) liveAt = t0;
        render(msg.data);
        renders.push(Math.round(performance.now() - t0));
        if (renders.length > 50) renders.shift();
      }
    };
    ws.onclose = () => {
      $("link").textContent = "disconnected; retrying";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }
  // The charts are part of the page's skeleton: created (one per frame: a chart's first draw is the
  // page's costliest step) before the data is asked for, so no update ever pays for it.
  requestAnimationFrame(() => {
    rates = chart($("chart-rates"), ["orders/s", "ticks/s", "fills/s"], ["#4aa3ff", "#f0b429", "#2fbf71"]);
    requestAnimationFrame(() => {
      latency = chart($("chart-latency"), ["p50", "p99"], ["#2fbf71", "#e5534b"]);
      connect();
    });
  });
  // Read-only hooks for the browser test (tests/browser): how many points the charts hold.
  window.tradeshardDashboard = { points: () => series.t.length, renders: () => renders.slice(), firstAt: () => firstAt, liveAt: () => liveAt };
})();
