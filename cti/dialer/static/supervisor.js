// The supervisor's campaign board: figures come over the WebSocket (a "campaigns" frame
// every few seconds while subscribed to all calls); commands go to the REST API.
"use strict";
const $ = (sel) => document.querySelector(sel);
const S = { token: sessionStorage.getItem("cti.token"), ws: null, retry: 0, campaigns: new Map() };
const COMMANDS = { draft: ["start"], stopped: ["start"], running: ["pause", "stop"], paused: ["resume", "stop"] };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function toast(text, bad = false) {
  const node = el("div", { class: `toast${bad ? " error" : ""}` }, text);
  $("#toasts").append(node); setTimeout(() => node.remove(), 5000);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${S.token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && path !== "/api/login") { logout(); throw new Error("session expired"); }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error((data && data.message) || res.statusText);
  return data;
}

function percent(value) { return value === null || value === undefined ? "—" : `${value.toFixed(1)} %`; }
function counts(obj) {
  const parts = Object.entries(obj || {}).sort().map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(" · ") : "none";
}

function figure(label, value, over = false) {
  return el("div", { class: `figure${over ? " over" : ""}`, "data-figure": label }, el("b", {}, value), label);
}

function renderCampaign(c) {
  const box = el("section", { class: "panel campaign", "data-campaign": c.name });
  const controls = el("span", { class: "controls" });
  for (const command of COMMANDS[c.status] || []) {
    const button = el("button", { type: "button", "data-command": command }, command);
    button.addEventListener("click", () => command_(c, command));
    controls.append(button);
  }
  box.append(el("h2", {}, c.title || c.name, el("span", { class: "badge", "data-status": c.status }, c.status),
    el("span", { class: "muted" }, `${c.mode}${c.mode === "predictive" ? ` · ratio ${c.pacing_ratio.toFixed(2)}` : ""}`),
    controls));
  const over = c.abandon_percent_24h !== null && c.abandon_percent_24h > c.abandon_cap_percent;
  const leads = c.leads || {};
  const total = Object.values(leads).reduce((a, b) => a + b, 0);
  box.append(el("div", { class: "figures" },
    figure("dialled 24 h", c.dialled_24h),
    figure("answered 24 h", c.answered_24h),
    figure("abandoned 24 h", percent(c.abandon_percent_24h), over),
    figure("abandoned 30 d", percent(c.abandon_percent_30d)),
    figure("calls up", c.calls_up),
    figure("leads done", `${leads.done || 0} / ${total}`)));
  box.append(el("p", {}, "Outcomes: ", el("span", { "data-outcomes": "" }, counts(c.outcomes))));
  const lists = el("table", {}, el("tr", {}, el("th", {}, "list"), el("th", {}, "priority"), el("th", {}, "done")));
  for (const l of c.lists || []) lists.append(el("tr", {}, el("td", {}, l.name), el("td", {}, l.priority), el("td", {}, `${l.done} / ${l.leads}`)));
  box.append(lists);
  const agents = el("table", { "data-agents": "" }, el("tr", {}, el("th", {}, "agent"), el("th", {}, "state"), el("th", {}, "since")));
  for (const a of c.agents || []) {
    const state = a.state + (a.pause_reason ? ` (${a.pause_reason})` : "");
    agents.append(el("tr", {}, el("td", {}, a.extension), el("td", { class: `state-${a.state}` }, state),
      el("td", {}, new Date(a.state_since).toLocaleTimeString())));
  }
  if (!(c.agents || []).length) agents.append(el("tr", {}, el("td", { colspan: "3", class: "muted" }, "no agents")));
  box.append(agents);
  return box;
}

function render() {
  const root = $("#campaigns"); root.replaceChildren();
  const all = [...S.campaigns.values()].sort((a, b) => a.name.localeCompare(b.name));
  $("#no-campaigns").hidden = all.length > 0;
  for (const c of all) root.append(renderCampaign(c));
}

async function command_(c, command) {
  try {
    await api("POST", `/api/campaigns/${c.id}/${command}`);
    S.campaigns.set(c.name, (await api("GET", `/api/campaigns/${c.id}/figures`)));
    render(); toast(`${c.name}: ${command}`);
  } catch (err) { toast(`${c.name}: ${err.message}`, true); }
}

async function load() {
  const list = await api("GET", "/api/campaigns");
  S.campaigns.clear();
  for (const c of list.items) S.campaigns.set(c.name, await api("GET", `/api/campaigns/${c.id}/figures`));
  render();
}

function setLink(on, text) { const l = $("#link"); l.className = `badge ${on ? "on" : "off"}`; l.textContent = text; }

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const ws = new WebSocket(url, ["cti.bearer", S.token]);
  S.ws = ws;
  ws.onopen = () => { S.retry = 0; setLink(true, "live"); ws.send(JSON.stringify({ type: "subscribe", scope: "all" })); };
  ws.onmessage = (ev) => {
    let msg; try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.type === "campaigns") {
      for (const c of msg.campaigns) S.campaigns.set(c.name, c);
      render(); $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } else if (typeof msg.type === "string" && msg.type.startsWith("survey.")) {
      if (window.ctiSurveyFrame) window.ctiSurveyFrame(msg);  // surveys.js
    } else if (msg.type === "error" && msg.error_id === "forbidden") {
      setLink(false, "no live figures (role)");
    }
  };
  ws.onclose = (ev) => {
    setLink(false, "offline");
    if (ev.code === 4401) { logout(); return; }
    const wait = Math.min(10000, 500 * 2 ** S.retry++);
    setTimeout(() => { if (S.token && S.ws === ws) connect(); }, wait);
  };
}

function showLogin() { $("#login-view").hidden = false; $("#board-view").hidden = true; $("#logout").hidden = true; $("#who").textContent = ""; }
async function showBoard() {
  $("#login-view").hidden = true; $("#board-view").hidden = false; $("#logout").hidden = false;
  try {
    const me = await api("GET", "/api/me"); $("#who").textContent = `${me.username} (${me.role})`;
    await load(); connect();
  } catch (err) { toast(err.message, true); }
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  $("#login-error").textContent = "";
  try {
    const out = await api("POST", "/api/login", { username: form.get("username"), password: form.get("password") });
    S.token = out.token; sessionStorage.setItem("cti.token", S.token);
    ev.target.reset(); await showBoard();
  } catch (err) { $("#login-error").textContent = err.message; }
});

function logout() {
  if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
  if (S.token) fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${S.token}` } });
  S.token = null; sessionStorage.removeItem("cti.token"); S.campaigns.clear(); render(); showLogin();
}
$("#logout").addEventListener("click", logout);

if (S.token) showBoard(); else showLogin();
