// The managers' page: a dashboard of the reports (/api/reports/*) for a period in a time
// zone, with Chart.js charts, and the call history (/api/calls) with filters, a count and
// exports. Operators see their own agent figures; the other reports answer them 403.
"use strict";
const $ = (sel, root = document) => root.querySelector(sel);
const S = { token: sessionStorage.getItem("cti.token"), charts: {}, cursor: null, rows: 0 };
const HISTORY_COLUMNS = ["started_at", "direction", "status", "from_number", "to_number", "queue", "agent", "talk_seconds", "disposition"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function toast(text, bad = false) {
  const node = el("div", { class: `toast${bad ? " error" : ""}` }, text);
  $("#toasts").append(node); setTimeout(() => node.remove(), 5000);
}

class ApiError extends Error { constructor(status, message) { super(message); this.status = status; } }

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${S.token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && path !== "/api/login") { logout(); throw new ApiError(401, "session expired"); }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, (data && data.message) || res.statusText);
  return data;
}

// -- formatting ------------------------------------------------------------------------------
const fmt = {
  n: (v) => (v === null || v === undefined ? "—" : String(v)),
  pct: (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)} %`),
  s: (v) => {
    if (v === null || v === undefined) return "—";
    const t = Math.round(v); const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    return h ? `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}` : `${m}:${String(s).padStart(2, "0")}`;
  },
  t: (v) => (v ? new Date(v).toLocaleString() : "—"),
};

function fillTable(table, columns, rows) {
  table.replaceChildren(el("tr", {}, ...columns.map(([label]) => el("th", {}, label))));
  for (const row of rows) {
    table.append(el("tr", {}, ...columns.map(([, key, f]) => {
      const value = typeof key === "function" ? key(row) : row[key];
      return el("td", { class: f === fmt.t || f === undefined ? "" : "num" }, (f || fmt.n)(value));
    })));
  }
  if (!rows.length) table.append(el("tr", {}, el("td", { colspan: String(columns.length), class: "muted" }, "none in this period")));
}

function chart(id, config) {
  if (S.charts[id]) S.charts[id].destroy();
  if (typeof Chart === "undefined") return;  // the vendored library did not load: tables only
  S.charts[id] = new Chart(document.getElementById(id), { ...config, options: { animation: false, responsive: true, ...(config.options || {}) } });
}

// -- the reports -----------------------------------------------------------------------------
function periodQuery() {
  const f = new FormData($("#period"));
  return new URLSearchParams({ from: f.get("from"), to: f.get("to"), tz: f.get("tz") }).toString();
}

function renderQueues(r) {
  const box = $('[data-report="queues"]');
  $(".definition", box).textContent = r.definition;
  const rows = [...r.queues, r.total];
  fillTable($("table", box), [
    ["queue", "queue"], ["offered", "offered"], ["answered", "answered"], ["abandoned", "abandoned"],
    ["short", "short_abandons"], ["timed out", "timed_out"], [`SL ${r.service_level_seconds}s`, "service_level", fmt.pct],
    ["ASA", "average_speed_of_answer", fmt.s], ["longest wait", "longest_wait", fmt.s], ["abandon rate", "abandon_rate", fmt.pct],
  ], rows);
  chart("queues-chart", {
    type: "bar",
    data: { labels: r.queues.map((q) => q.queue), datasets: [
      { label: "answered", data: r.queues.map((q) => q.answered) },
      { label: "abandoned", data: r.queues.map((q) => q.abandoned) },
      { label: "timed out", data: r.queues.map((q) => q.timed_out) },
    ] },
    options: { scales: { x: { stacked: true }, y: { stacked: true } } },
  });
}

function renderAgents(r) {
  const box = $('[data-report="agents"]');
  $(".definition", box).textContent = r.definition;
  fillTable($("table", box), [
    ["agent", (a) => a.user ? `${a.agent} ${a.user}` : a.agent], ["rung", "offered"], ["answered", "answered"], ["missed", "missed"],
    ["talk", "talk_seconds", fmt.s], ["hold", "hold_seconds", fmt.s], ["wrap-up", "wrap_up_seconds", fmt.s],
    ["AHT", "average_handle_seconds", fmt.s], ["logged in", "logged_in_seconds", fmt.s], ["paused", "pause_seconds", fmt.s],
    ["occupancy", "occupancy", fmt.pct],
  ], r.agents);
  chart("agents-chart", {
    type: "bar",
    data: { labels: r.agents.map((a) => a.agent), datasets: [
      { label: "answered", data: r.agents.map((a) => a.answered) },
      { label: "missed", data: r.agents.map((a) => a.missed) },
    ] },
  });
}

function renderHeatmap(r) {
  const table = $('[data-report="heatmap"] table');
  const max = Math.max(1, ...r.cells.flat());
  table.replaceChildren(el("tr", {}, el("th", {}, ""), ...Array.from({ length: 24 }, (_, h) => el("th", {}, h))));
  r.cells.forEach((row, d) => {
    table.append(el("tr", {}, el("th", {}, r.weekdays[d]), ...row.map((v, h) => {
      const td = el("td", { title: `${r.weekdays[d]} ${h}:00 — ${v} calls`, "data-cell": `${d}-${h}` }, v || "");
      td.style.background = `rgba(31, 111, 235, ${(v / max).toFixed(3)})`;
      if (v / max > 0.6) td.style.color = "#fff";
      return td;
    })));
  });
}

function renderCallbacks(r) {
  fillTable($('[data-report="callbacks"] table'), [
    ["number", "number"], ["misses", "misses"], ["first missed", "first_missed_at", fmt.t], ["age", "age_seconds", fmt.s],
    ["queue", "queue"], ["owner", "assignee"],
  ], r.items);
}

function renderCampaigns(r) {
  fillTable($('[data-report="campaigns"] table'), [
    ["campaign", "campaign"], ["attempts", "attempts"], ["contacts", "contacts"], ["contact rate", "contact_rate", fmt.pct],
    ["abandon rate", "abandon_rate", fmt.pct], ["24 h", "abandon_rate_24h", fmt.pct], ["30 d", "abandon_rate_30d", fmt.pct],
  ], r.campaigns);
  chart("campaigns-chart", {
    type: "bar",
    data: { labels: r.campaigns.map((c) => c.campaign), datasets: [
      { label: "contact rate %", data: r.campaigns.map((c) => (c.contact_rate || 0) * 100) },
      { label: "abandon rate %", data: r.campaigns.map((c) => (c.abandon_rate || 0) * 100) },
    ] },
  });
}

function renderSla(r) {
  const box = $('[data-report="sla"]');
  fillTable($('[data-part="sla"]', box), [
    ["agent", "key"], ["first response", "first_response_compliance", fmt.pct], ["met", "first_response_met"],
    ["breached", "first_response_breached"], ["resolution", "resolution_compliance", fmt.pct],
    ["met", "resolution_met"], ["breached", "resolution_breached"],
  ], [...r.by_agent, ...r.by_priority.map((p) => ({ ...p, key: `priority ${p.key}` }))]);
  fillTable($('[data-part="deals"]', box), [["status", "status"], ["stage", "stage"], ["owner", "owner"], ["deals", "deals"], ["amount", "amount"]], r.deals);
  fillTable($('[data-part="tasks"]', box), [["owner", "owner"], ["overdue tasks", "overdue"], ["oldest due", "oldest_due", fmt.t]], r.overdue_tasks);
}

const REPORTS = { queues: renderQueues, agents: renderAgents, heatmap: renderHeatmap, callbacks: renderCallbacks, campaigns: renderCampaigns, sla: renderSla };

async function loadReports() {
  $("#period-error").textContent = "";
  const query = periodQuery();
  await Promise.all(Object.entries(REPORTS).map(async ([name, render]) => {
    const box = $(`[data-report="${name}"]`);
    box.querySelector(".denied")?.remove();
    try {
      render(await api("GET", `/api/reports/${name}?${query}`));
      box.dataset.loaded = "true";
    } catch (err) {
      if (err.status === 403) { box.append(el("p", { class: "denied" }, "not for your role")); box.dataset.loaded = "denied"; return; }
      $("#period-error").textContent = `${name}: ${err.message}`; box.dataset.loaded = "error";
    }
  }));
  document.body.dataset.reports = "loaded";
}

// -- call history ----------------------------------------------------------------------------
function historyFilters() {
  const f = new FormData($("#period"));
  const filters = {};
  const from = f.get("from"), to = f.get("to"), tz = f.get("tz");
  // the period's dates are whole days in the zone: the history takes them as day_from/day_to
  if (from) filters.day_from = from; if (to) filters.day_to = to; if (tz) filters.tz = tz;
  for (const [k, v] of new FormData($("#history-filters")).entries()) if (v) filters[k] = v;
  return filters;
}

function historyRow(call) {
  return el("tr", { "data-call": call.id }, ...HISTORY_COLUMNS.map((c) => el("td", {}, c === "started_at" ? fmt.t(call[c]) : fmt.n(call[c]))));
}

async function loadHistory(more = false) {
  const table = $("#history-table");
  const params = new URLSearchParams({ ...historyFilters(), limit: "50" });
  if (more && S.cursor) params.set("cursor", S.cursor);
  if (!more) { table.replaceChildren(el("tr", {}, ...HISTORY_COLUMNS.map((c) => el("th", {}, c.replace("_", " "))))); S.rows = 0; }
  try {
    const page = await api("GET", `/api/calls?${params}`);
    for (const call of page.items) table.append(historyRow(call));
    S.rows += page.items.length;
    S.cursor = page.next_cursor ?? null;
    $("#history-more").hidden = !S.cursor;
    $("#history-status").textContent = `${S.rows} calls shown${S.cursor ? "; more below" : ""}`;
  } catch (err) { $("#history-status").textContent = err.message; }
}

async function countHistory() {
  try {
    const { sort, ...filters } = historyFilters(); // a count has no order
    const out = await api("GET", `/api/calls/count?${new URLSearchParams(filters)}`);
    $("#history-status").textContent = `${out.count} calls match`;
  } catch (err) { $("#history-status").textContent = `count: ${err.message}`; }
}

async function exportHistory(format) {
  try {
    // the order is the export's own field; the rest are the history's filters
    const { sort, ...filters } = historyFilters();
    const out = await api("POST", "/api/exports", { kind: "calls", format, filters, ...(sort ? { sort } : {}) });
    location.assign(out.url);  // a short-lived, single-use download link: no token in the URL
  } catch (err) { toast(`export: ${err.message}`, true); }
}

// -- page ------------------------------------------------------------------------------------
function defaults() {
  const form = $("#period");
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  const now = new Date();
  if (!form.elements.to.value) form.elements.to.value = day(now);
  if (!form.elements.from.value) form.elements.from.value = day(new Date(now.getTime() - 6 * 86400000));
  if (!form.elements.tz.value) form.elements.tz.value = tz;
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [tz, "UTC"];
  $("#zones").replaceChildren(...zones.map((z) => el("option", { value: z })));
}

function showTab(name) {
  for (const tab of document.querySelectorAll("[data-tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  $("#dashboard").hidden = name !== "dashboard"; $("#history").hidden = name !== "history";
  if (name === "history" && !S.rows) loadHistory();
}

function showLogin() { $("#login-view").hidden = false; $("#reports-view").hidden = true; $("#logout").hidden = true; $("#who").textContent = ""; }
async function showReports() {
  $("#login-view").hidden = true; $("#reports-view").hidden = false; $("#logout").hidden = false;
  defaults();
  try {
    const me = await api("GET", "/api/me"); $("#who").textContent = `${me.username} (${me.role})`;
    await loadReports();
  } catch (err) { toast(err.message, true); }
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  $("#login-error").textContent = "";
  try {
    const out = await api("POST", "/api/login", { username: form.get("username"), password: form.get("password") });
    S.token = out.token; sessionStorage.setItem("cti.token", S.token);
    ev.target.reset(); await showReports();
  } catch (err) { $("#login-error").textContent = err.message; }
});
$("#period").addEventListener("submit", (ev) => { ev.preventDefault(); loadReports(); if (!$("#history").hidden) loadHistory(); });
for (const tab of document.querySelectorAll("[data-tab]")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
$("#history-filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadHistory(); });
$("#history-more").addEventListener("click", () => loadHistory(true));
$("#history-count").addEventListener("click", countHistory);
for (const b of document.querySelectorAll("[data-export]")) b.addEventListener("click", () => exportHistory(b.dataset.export));

function logout() {
  if (S.token) fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${S.token}` } });
  S.token = null; sessionStorage.removeItem("cti.token"); showLogin();
}
$("#logout").addEventListener("click", logout);

if (S.token) showReports(); else showLogin();
