// cti operator page: login, live pops over /ws, wrap-up actions through the REST API.
// No build step, no framework. Every value from the server is put in the DOM as text.
"use strict";

const $ = (sel) => document.querySelector(sel);
const S = { token: sessionStorage.getItem("cti.token"), user: null, ws: null, retry: 0,
  calls: new Map(), order: [], selected: null, due: new Map() };
const SNOOZE_MINUTES = 15;

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function toast(text, bad) {
  const el = h("div", { class: bad ? "toast bad" : "toast" }, text);
  $("#toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

// ---- due tasks: listed until done or snoozed (the server sends the list again then) --------
function renderDue() {
  const tasks = [...S.due.values()].sort((a, b) => (a.due_at || "").localeCompare(b.due_at || ""));
  $("#reminders").replaceChildren(...tasks.map((t) => h("li", { "data-task": t.id },
    `${t.kind === "callback" ? "☎ " : ""}${t.title}`,
    h("span", { class: "muted" }, ` · due ${when(t.due_at)} `),
    h("button", { type: "button", class: "small", onclick: () => closeTask(t, { done: true }) }, "Done"),
    h("button", { type: "button", class: "small", title: `due again in ${SNOOZE_MINUTES} minutes`,
      onclick: () => closeTask(t, { due_at: new Date(Date.now() + SNOOZE_MINUTES * 60e3).toISOString() }) },
      "Snooze"))));
  $("#no-reminders").hidden = tasks.length > 0;
}

async function closeTask(task, change) {
  try {
    await api("PATCH", `/api/tasks/${task.id}`, change);
    S.due.delete(task.id); renderDue();
  } catch (err) { toast(`Task: ${err.message}`, true); }
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${S.token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && path !== "/api/login") { logout(); throw new Error("session expired"); }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const fields = data && data.details && data.details.fields;
    const extra = fields ? ` (${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("; ")})` : "";
    throw new Error(((data && data.message) || res.statusText) + extra);
  }
  return data;
}

// ---- campaign work: join, pause, leave; the disposition that ends a call's wrap-up ---------
const A = { agent: null, campaigns: [], spec: null, timer: null };

async function loadCampaigns() {
  try {
    const list = await api("GET", "/api/campaigns");
    A.campaigns = list.items.filter((c) => c.status !== "stopped");
    $("#join-campaign").replaceChildren(...A.campaigns.map((c) =>
      h("option", { value: c.id }, `${c.title || c.name} (${c.status})`)));
    $("#join-form").hidden = A.campaigns.length === 0 || A.agent !== null;
  } catch (err) { /* campaigns are optional on this page */ }
}

async function refreshAgent() {
  try { A.agent = await api("GET", "/api/agent"); }
  catch (err) { A.agent = null; }
  renderAgent();
}

function renderAgent() {
  const a = A.agent;
  $("#agent").dataset.state = a ? a.state : "out";
  $("#join-form").hidden = a !== null || A.campaigns.length === 0;
  $("#agent-state").hidden = a === null; $("#agent-actions").hidden = a === null;
  if (!a) { $("#wrap-up").hidden = true; return; }
  const c = A.campaigns.find((x) => x.id === a.campaign_id);
  $("#agent-state").textContent = `${c ? c.title || c.name : "campaign"} · ${a.state}` +
    (a.pause_reason ? ` (${a.pause_reason})` : "");
  $("#agent-pause").hidden = a.state === "paused"; $("#agent-resume").hidden = a.state !== "paused";
  const wrapping = a.state === "wrap-up" && a.attempt_id !== null;
  $("#wrap-up").hidden = !wrapping;
  if (wrapping && c) {
    $("#dispositions").replaceChildren(...(c.spec.dispositions || []).map((d) => h("button",
      { type: "button", class: "small", "data-disposition": d.name,
        onclick: () => dispose(a.attempt_id, d.name) }, d.title || d.name)));
  }
}

async function agentCall(method, path, body) {
  try { A.agent = await api(method, path, body); }
  catch (err) { toast(err.message, true); }
  renderAgent();
}

async function dispose(attemptId, name) {
  await agentCall("POST", "/api/agent/disposition", { attempt_id: attemptId, disposition: name });
  toast(`Call closed: ${name}`);
}

$("#join-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const chosen = Number($("#join-campaign").value);
  if (chosen > 0) agentCall("POST", "/api/agent/join", { campaign_id: chosen });
});
$("#agent-pause").addEventListener("click", () => agentCall("POST", "/api/agent/pause", { reason: "break" }));
$("#agent-resume").addEventListener("click", () => agentCall("POST", "/api/agent/unpause"));
$("#agent-leave").addEventListener("click", async () => {
  try { await api("POST", "/api/agent/leave"); A.agent = null; } catch (err) { toast(err.message, true); }
  renderAgent();
});

function startAgentWatch() {
  loadCampaigns().then(refreshAgent);
  clearInterval(A.timer);
  A.timer = setInterval(() => { if (S.token) refreshAgent(); }, 2000);  // the PBX moves it
}

// ---- login / session ------------------------------------------------------------------------
function showLogin() {
  $("#login-view").hidden = false; $("#desk-view").hidden = true;
  $("#dial-form").hidden = true; $("#logout").hidden = true; $("#who").textContent = "";
  $("#login-form [name=username]").focus();
}

function showDesk() {
  $("#login-view").hidden = true; $("#desk-view").hidden = false;
  $("#dial-form").hidden = false; $("#logout").hidden = false;
  connect(); startAgentWatch();
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  $("#login-error").textContent = "";
  try {
    // the device token of an earlier login on this browser, per user: it keeps this desk
    // out of the limits an attacker elsewhere (or behind the same address) would trip
    const devices = JSON.parse(localStorage.getItem("cti.devices") || "{}");
    const username = String(form.get("username"));
    const out = await api("POST", "/api/login",
      { username, password: form.get("password"), device: devices[username] || undefined });
    devices[username] = out.device; localStorage.setItem("cti.devices", JSON.stringify(devices));
    S.token = out.token; sessionStorage.setItem("cti.token", S.token);
    ev.target.reset(); showDesk();
  } catch (err) { $("#login-error").textContent = err.message; }
});

function logout() {
  if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
  if (S.token) fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${S.token}` } });
  S.token = null; sessionStorage.removeItem("cti.token");
  clearInterval(A.timer); A.agent = null;
  S.calls.clear(); S.order = []; S.selected = null; S.due.clear(); renderDue(); render(); showLogin();
}
$("#logout").addEventListener("click", logout);

// ---- live feed ------------------------------------------------------------------------------
function setLink(on, text) {
  const el = $("#link"); el.className = `badge ${on ? "on" : "off"}`; el.textContent = text;
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const ws = new WebSocket(url, ["cti.bearer", S.token]);  // token never in a URL or log
  S.ws = ws;
  ws.onopen = () => { S.retry = 0; setLink(true, "live"); };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    onMessage(msg);
  };
  ws.onclose = (ev) => {
    setLink(false, "offline");
    if (ev.code === 4401) { logout(); return; }
    const wait = Math.min(10000, 500 * 2 ** S.retry++);
    setTimeout(() => { if (S.token && S.ws === ws) connect(); }, wait);
  };
}

function upsert(msg) {
  let c = S.calls.get(msg.call_id);
  if (!c) {
    c = { id: msg.call_id, call: msg.call || {}, pop: null, state: "ringing", contactId: null,
      note: "", history: null, survey: null, surveyChecked: false, editing: null, drafts: {} };
    S.calls.set(msg.call_id, c); S.order.unshift(msg.call_id);
    // keep the list short: forget the oldest finished calls beyond 20
    while (S.order.length > 20) {
      const old = [...S.order].reverse().find((id) => S.calls.get(id).state === "ended" && id !== S.selected);
      if (!old) break;
      S.order = S.order.filter((id) => id !== old); S.calls.delete(old);
    }
  }
  return c;
}

function setPop(c, pop) {
  c.pop = pop;
  const m = pop && pop.match;
  if (c.contactId === null && m && (m.status === "exact" || m.status === "partial") && m.contacts.length)
    c.contactId = m.contacts[0].id;
}

function onMessage(msg) {
  const mine = S.user ? S.user.extensions : [];
  switch (msg.type) {
    case "hello":
      S.user = { ...msg.user, extensions: msg.extensions };
      $("#who").textContent = `${msg.user.username} · ext ${msg.extensions.join(", ") || "—"}`;
      // supervisors follow every call (operators only ever get the calls ringing them)
      if (["supervisor", "manager"].includes(msg.user.role))
        S.ws.send(JSON.stringify({ type: "subscribe", scope: "all" }));
      return;
    case "call.ringing": {
      const c = upsert(msg); c.call = msg.call;
      if (c.state === "ended") c.state = "ringing";
      setPop(c, msg.pop);
      if (!S.selected || S.calls.get(S.selected).state === "ended") S.selected = c.id;
      break;
    }
    case "pop.update": { const c = S.calls.get(msg.call_id); if (c) setPop(c, msg.pop); break; }
    case "call.answered": {
      const c = S.calls.get(msg.call_id); if (!c) return;
      c.state = mine.includes(msg.agent) ? "up" : "elsewhere"; c.agent = msg.agent;
      c.agentUsers = msg.agent_users; break;
    }
    case "call.stopped_ringing": {
      const c = S.calls.get(msg.call_id); if (c && c.state === "ringing") c.state = "stopped"; break;
    }
    case "call.transferred": {
      const c = S.calls.get(msg.call_id);
      if (c) c.transfer = `${msg.kind} transfer ${msg.by || "?"} → ${msg.to || "?"}`; break;
    }
    case "call.ended": {
      const c = S.calls.get(msg.call_id); if (!c) return;
      c.state = "ended"; c.status = msg.status; c.talk = msg.talk_seconds; break;
    }
    case "tasks.due":  // the whole list of my due tasks (on connect, and when it changed)
      S.due = new Map(msg.tasks.map((t) => [t.id, t])); renderDue(); return;
    case "task.due":  // one task fell due now (pushed once per due time)
      S.due.set(msg.task.id, msg.task); renderDue();
      toast(`Due: ${msg.task.title}`);
      return;
    case "error": toast(msg.message, true); return;
    default: return;
  }
  render();
}

// ---- rendering ------------------------------------------------------------------------------
const STATE_TEXT = { ringing: "ringing", up: "on the line", elsewhere: "answered elsewhere",
  stopped: "stopped ringing here", ended: "ended" };

function callerName(c) {
  const m = c.pop && c.pop.match;
  const chosen = m && m.contacts.find((x) => x.id === c.contactId);
  return (chosen && chosen.name) || c.call.from_name || c.call.from || "unknown caller";
}

function render() {
  const list = $("#call-list"); list.replaceChildren();
  S.order.forEach((id, i) => {
    const c = S.calls.get(id);
    const li = h("li", { tabindex: 0, class: id === S.selected ? "selected" : "", "data-call": id,
        onclick: () => { S.selected = id; render(); } },
      h("div", { class: "who" }, callerName(c)),
      h("div", { class: "muted" }, `${i < 9 ? `Alt+${i + 1} · ` : ""}${c.call.from || ""} → ${c.call.to || ""}`),
      h("span", { class: `badge ${c.state}` }, STATE_TEXT[c.state]));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { S.selected = id; render(); } });
    list.append(li);
  });
  $("#no-calls").hidden = S.order.length > 0;
  renderCard();
}

function section(title, ...kids) { return h("div", { class: "box" }, h("h2", {}, title), ...kids); }

function renderCard() {
  const card = $("#card");
  const c = S.selected && S.calls.get(S.selected);
  if (!c) { card.hidden = true; card.replaceChildren(); return; }
  card.hidden = false;
  // a pop update must not steal the operator's cursor: remember the focused field
  const active = card.contains(document.activeElement) ? document.activeElement : null;
  const focusKey = active && (active.id || active.name);
  const pop = c.pop || {};
  const m = pop.match || { status: "…", contacts: [] };
  const stateText = c.state === "elsewhere"
    ? `answered elsewhere${c.agent ? ` (ext ${c.agent}${c.agentUsers && c.agentUsers.length ? `, ${c.agentUsers.join(", ")}` : ""})` : ""}`
    : c.state === "ended" ? `ended · ${c.status}${c.talk ? ` · talked ${Math.round(c.talk)} s` : ""}`
    : STATE_TEXT[c.state];
  const byContact = (items) => (items || []).filter((x) => c.contactId === null || x.contact_id === undefined || x.contact_id === c.contactId);
  card.replaceChildren(
    h("div", { class: "caller" },
      h("h1", { id: "caller-name" }, callerName(c)),
      h("span", { class: `badge ${m.status === "none" ? "bad" : ""}` }, `match: ${m.status}`),
      h("span", { class: "muted" }, `${c.call.direction || ""} · ${c.call.from || "?"} → ${c.call.to || "?"}`,
        c.call.queue ? ` · queue ${c.call.queue}` : "", c.call.campaign ? ` · campaign ${c.call.campaign}` : "")),
    h("div", { class: "state" }, h("span", { class: `badge ${c.state}` }, stateText),
      c.transfer ? h("span", { class: "muted" }, ` · ${c.transfer}`) : null,
      pop.complete === false ? h("span", { class: "muted" }, " · loading details…") : null,
      pop.error ? h("span", { class: "error" }, ` · ${pop.error}`) : null),
    h("div", { class: "grid" },
      contactBox(c, m),
      section("Open deals", list(byContact(pop.deals), (d) => `${d.title} — ${d.stage}${d.amount ? ` · ${d.amount} ${d.currency}` : ""}`)),
      section("Open tickets", list(byContact(pop.tickets), (t) => h("span", {}, `#${t.id} ${t.subject} — ${t.status}, ${t.priority}`,
        h("span", { class: `badge ${t.sla_breached ? "bad" : ""}` }, t.sla_breached ? "SLA breached" : `SLA ${when(t.sla_due)}`)))),
      section("Last calls with this number", list(pop.calls, (x) => `${when(x.when)} · ${x.direction} · ${x.status}${x.agent ? ` · ext ${x.agent}` : ""}`)),
      section("Open tasks", list(pop.tasks, (t) => `${t.kind === "callback" ? "☎ " : ""}${t.title}${t.due_at ? ` · due ${when(t.due_at)}` : ""}`)),
      scriptBox(c, pop.script),
      wrapUpBox(c),
      createBox(c),
      historyBox(c)));
  if (focusKey) {
    const again = document.getElementById(focusKey) || card.querySelector(`[name="${CSS.escape(focusKey)}"]`);
    if (again) again.focus();
  }
}

function list(items, fmt) {
  if (items === null || items === undefined) return h("p", { class: "muted" }, "loading…");
  if (!items.length) return h("p", { class: "muted" }, "none");
  return h("ul", {}, items.map((x) => h("li", {}, fmt(x))));
}

function dialButton(number) {
  return h("button", { class: "small ghost", type: "button", title: `Call ${number}`,
    onclick: () => dial(number) }, `☎ ${number}`);
}

function contactBox(c, m) {
  if (m.status === "none") {
    const form = h("form", { class: "stack", id: "new-contact" },
      h("label", {}, "First name", h("input", { name: "first_name", required: true })),
      h("label", {}, "Last name", h("input", { name: "last_name" })),
      h("label", {}, "Phone", h("input", { name: "phone", value: c.call.direction === "outbound" ? c.call.to || "" : c.call.from || "" })),
      h("button", { type: "submit" }, "Create contact"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault(); const f = new FormData(form);
      try {
        const out = await api("POST", "/api/contacts", { first_name: f.get("first_name"),
          last_name: f.get("last_name"), phones: f.get("phone") ? [{ number: f.get("phone") }] : [] });
        m.status = "exact"; m.contacts = [{ id: out.id, name: out.name, company: out.company_name,
          phones: out.phones.map((p) => p.e164 || p.raw) }];
        c.contactId = out.id; toast(`Contact ${out.name} created`); renderCard();
      } catch (err) { toast(err.message, true); }
    });
    return section("Unknown caller", form);
  }
  const people = m.contacts.map((x) => h("li", {},
    m.status === "multiple"
      ? h("label", { class: "pick" }, h("input", { type: "radio", name: "pick", value: x.id,
          checked: x.id === c.contactId, onchange: () => { c.contactId = x.id; renderCard(); } }),
          `${x.name || "?"}${x.company ? ` (${x.company})` : ""}`,
          h("span", { class: "muted" }, ` · ${activity(x)}`))
      : h("strong", {}, `${x.name || "?"}${x.company ? ` — ${x.company}` : ""}`),
    h("div", {}, (x.phones || []).map(dialButton))));
  return section(m.status === "multiple" ? "Pick the caller" : "Contact", h("ul", {}, people));
}

function activity(x) {  // why people sharing a number are listed in this order
  const open = (x.open_deals || 0) + (x.open_tickets || 0);
  return `${x.last_call_at ? `last call ${when(x.last_call_at)}` : "no calls yet"}` +
    (open ? ` · ${open} open deal(s)/ticket(s)` : "");
}

// ---- the call's survey: walked question by question, each answer saved at once -------------
// The server decides the path (branches) and keeps every answer; the page only shows the
// question it names next, or the one the operator went back to. A reload asks the server for
// the call's survey and carries on where it was.
function scriptBox(c, script) {
  if (!script) return section("Script", h("p", { class: "muted" }, "no script"));
  if (!c.surveyChecked) { c.surveyChecked = true; findSurvey(c); }
  const sv = c.survey;
  const box = h("div", { class: "stack survey", "data-survey": sv ? sv.response.id : "" },
    h("p", {}, h("strong", {}, script.title)));
  if (!sv) {
    box.append(h("ol", { class: "muted" }, script.questions.map((q) => h("li", {}, q.text))),
      h("button", { type: "button", id: "survey-start", onclick: () => startSurvey(c, script) }, "Start survey"));
    return section("Survey", box);
  }
  if (sv.intro) box.append(h("p", { class: "intro" }, sv.intro));
  const texts = Object.fromEntries(sv.script.questions.map((q) => [q.id, q]));
  box.append(h("ol", { class: "answers" }, sv.answers.map((a) => h("li", { "data-answer": a.question_id },
    `${texts[a.question_id] ? texts[a.question_id].text : a.question_id} — `, h("strong", {}, shown(a.value)),
    sv.response.status === "in_progress" ? h("button", { type: "button", class: "small ghost",
      onclick: () => { c.editing = a.question_id; renderCard(); } }, "change") : null))));
  const status = sv.response.status;
  if (status !== "in_progress") {
    box.append(h("p", { class: "badge", "data-status": status }, status === "complete" ? "survey complete" : "survey stopped (partial)"));
    return section("Survey", box);
  }
  const editing = c.editing && texts[c.editing];
  const q = editing || sv.next;
  if (q) box.append(questionForm(c, q, editing ? sv.answers.find((a) => a.question_id === q.id) : null));
  else box.append(h("p", { class: "closing" }, sv.closing || "All questions answered."),
    h("button", { type: "button", id: "survey-finish", onclick: () => finishSurvey(c, "complete") }, "Finish survey"));
  const back = sv.answers.length && !editing ? sv.answers[sv.answers.length - 1].question_id : null;
  box.append(h("p", {},
    back ? h("button", { type: "button", class: "small ghost", id: "survey-back",
      onclick: () => { c.editing = back; renderCard(); } }, "← Back") : null,
    editing ? h("button", { type: "button", class: "small ghost", onclick: () => { c.editing = null; renderCard(); } }, "Cancel") : null,
    q ? h("button", { type: "button", class: "small ghost", id: "survey-stop",
      onclick: () => finishSurvey(c, "partial") }, "Stop survey (partial)") : null));
  return section("Survey", box);
}

function shown(value) {
  if (value === null || value === undefined) return "—";
  if (value === true) return "yes";
  if (value === false) return "no";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

function questionForm(c, q, current) {
  const send = (value) => answerSurvey(c, q.id, value);
  const had = current ? current.value : undefined;
  const buttons = (pairs) => h("div", { class: "choices" }, pairs.map(([label, value]) =>
    h("button", { type: "button", class: had === value ? "chosen" : "", "data-value": String(label),
      onclick: () => send(value) }, label)));
  let input = null;
  const form = h("form", { class: "stack question", "data-question": q.id },
    h("p", {}, h("strong", {}, q.text), q.required ? null : h("span", { class: "muted" }, " (optional)")));
  if (q.kind === "yesno") form.append(buttons([["yes", true], ["no", false]]));
  else if (q.kind === "single") form.append(buttons(q.options.map((o) => [o, o])));
  else if (q.kind === "scale") {
    const points = []; for (let i = q.min; i <= q.max; i++) points.push([String(i), i]);
    form.append(buttons(points));
  } else if (q.kind === "multi") {
    const picked = c.drafts[q.id] || (Array.isArray(had) ? had : []);
    form.append(h("div", { class: "choices" }, q.options.map((o) => h("label", {},
      h("input", { type: "checkbox", name: "opt", value: o, checked: picked.includes(o),
        onchange: () => { c.drafts[q.id] = [...form.querySelectorAll("input[name=opt]:checked")].map((x) => x.value); } }),
      ` ${o}`))));
  } else {
    // what the operator typed survives a re-render (a pop update, the call ending)
    const draft = c.drafts[q.id] !== undefined ? c.drafts[q.id] : had === undefined || had === null ? "" : String(had);
    const attrs = { name: "value", id: `q-${q.id}`, value: draft, oninput: (ev) => { c.drafts[q.id] = ev.target.value; } };
    if (q.kind === "number") Object.assign(attrs, { type: "number", step: q.integer ? "1" : "any", min: q.min, max: q.max });
    if (q.kind === "date") attrs.type = "date";
    input = q.kind === "text" ? h("textarea", attrs, attrs.value) : h("input", attrs);
    form.append(input);
  }
  if (["multi", "number", "date", "text"].includes(q.kind)) form.append(h("button", { type: "submit" }, "Save answer"));
  if (!q.required) form.append(h("button", { type: "button", class: "ghost", onclick: () => send(null) }, "Skip"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (q.kind === "multi") send([...form.querySelectorAll("input[name=opt]:checked")].map((x) => x.value));
    else if (q.kind === "number") send(input.value === "" ? null : Number(input.value));
    else send(input.value.trim() === "" ? null : input.value);
  });
  return form;
}

async function findSurvey(c) {
  try {
    const found = await api("GET", `/api/surveys?call_key=${encodeURIComponent(c.id)}`);
    if (found.items.length) { c.survey = found.items[found.items.length - 1]; renderCard(); }
  } catch (err) { /* no survey yet */ }
}

async function startSurvey(c, script) {
  const campaign = c.call.campaign && A.campaigns.find((x) => x.name === c.call.campaign);
  const body = { call_key: c.id, pbx: c.call.pbx || null, script: script.name,
    contact_id: c.contactId, campaign_id: campaign ? campaign.id : null,
    attempt_id: A.agent && A.agent.attempt_id && campaign && A.agent.campaign_id === campaign.id ? A.agent.attempt_id : null };
  try { c.survey = await api("POST", "/api/surveys", body); renderCard(); }
  catch (err) { toast(`Survey: ${err.message}`, true); }
}

async function answerSurvey(c, questionId, value) {
  try {
    c.survey = await api("POST", `/api/surveys/${c.survey.response.id}/answers`, { question_id: questionId, value });
    delete c.drafts[questionId]; c.editing = null; renderCard();
  } catch (err) { toast(`Survey: ${err.message}`, true); }
}

async function finishSurvey(c, status) {
  try {
    c.survey = await api("POST", `/api/surveys/${c.survey.response.id}/finish`, { status });
    c.editing = null; renderCard(); toast(status === "complete" ? "Survey saved" : "Survey stopped");
  } catch (err) { toast(`Survey: ${err.message}`, true); }
}

function wrapUpBox(c) {
  const form = h("form", { class: "stack", id: "wrapup" },
    h("label", {}, "Note", h("textarea", { name: "note", id: "note",
      oninput: (ev) => { c.note = ev.target.value; } }, c.note)),
    h("label", {}, "Disposition", h("select", { name: "disposition" },
      ["", "resolved", "interested", "not interested", "callback", "wrong number", "voicemail"].map((d) =>
        h("option", { value: d, selected: c.disposition === d }, d || "—")))),
    h("button", { type: "submit" }, "Save wrap-up"));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); saveWrapUp(c, new FormData(form)); });
  return section("Wrap-up", form);
}

async function callRow(c) {
  // the call log stores the call when it ends; find our row by its linkedid
  const number = c.call.direction === "outbound" ? c.call.to : c.call.from;
  if (!number) return null;
  for (let i = 0; i < 6; i++) {
    const page = await api("GET", `/api/calls?number=${encodeURIComponent(number)}&limit=20`);
    const row = page.items.find((x) => x.linkedid === c.id && x.pbx === c.call.pbx);
    if (row) return row;
    if (c.state !== "ended") return null;
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

async function saveWrapUp(c, f) {
  const body = (f.get("note") || "").trim();  // survey answers are saved as they are given
  c.disposition = f.get("disposition");
  try {
    let row = null;  // the logged call, to link the note and carry the disposition
    try { row = await callRow(c); } catch (err) { if (c.disposition) throw err; }
    if (body) {
      if (c.contactId === null && !row) throw new Error("pick or create a contact first (or wait for the call to end)");
      await api("POST", "/api/notes", { body, contact_id: c.contactId, call_id: row ? row.id : null });
    }
    if (c.disposition) {
      if (!row) throw new Error("the disposition can be set once the call has ended");
      await api("PATCH", `/api/calls/${row.id}`, { disposition: c.disposition });
    }
    c.note = ""; toast("Wrap-up saved"); renderCard();
  } catch (err) { toast(err.message, true); }
}

function createBox(c) {
  const kind = h("select", { name: "kind" }, ["ticket", "deal", "task"].map((k) => h("option", { value: k }, k)));
  const form = h("form", { class: "stack" }, h("label", {}, "Create", kind),
    h("label", {}, "Title / subject", h("input", { name: "title", required: true })),
    h("label", {}, "Amount (deal) / due (task)", h("input", { name: "extra", placeholder: "1200 or 2026-12-01T10:00" })),
    h("button", { type: "submit" }, "Create"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault(); const f = new FormData(form);
    if (c.contactId === null) { toast("pick or create a contact first", true); return; }
    const title = f.get("title"), extra = (f.get("extra") || "").trim();
    try {
      if (f.get("kind") === "ticket") await api("POST", "/api/tickets", { subject: title, contact_id: c.contactId });
      else if (f.get("kind") === "deal") await api("POST", "/api/deals", { title, contact_id: c.contactId, amount: extra || null });
      else await api("POST", "/api/tasks", { title, contact_id: c.contactId, due_at: extra || null,
        phone: c.call.direction === "outbound" ? c.call.to : c.call.from });
      toast(`${f.get("kind")} created`); form.reset();
    } catch (err) { toast(err.message, true); }
  });
  return section("Linked to this call", form);
}

function historyBox(c) {
  const number = c.call.direction === "outbound" ? c.call.to : c.call.from;
  const body = c.history === null
    ? h("button", { class: "ghost", type: "button", onclick: async () => {
        try { c.history = (await api("GET", `/api/calls?number=${encodeURIComponent(number)}&limit=20`)).items; }
        catch (err) { toast(err.message, true); return; }
        renderCard(); } }, "Show full call history")
    : h("table", {}, h("tr", {}, ["when", "dir", "status", "ext", "talk"].map((x) => h("th", {}, x))),
        c.history.map((x) => h("tr", {}, h("td", {}, when(x.started_at)), h("td", {}, x.direction),
          h("td", {}, x.status), h("td", {}, x.agent || ""), h("td", {}, x.talk_seconds ? `${Math.round(x.talk_seconds)} s` : ""))));
  return section("Call history", number ? body : h("p", { class: "muted" }, "no number"));
}

async function dial(number) {
  try {
    const out = await api("POST", "/api/dial", { number });
    toast(`Calling ${out.number}: your phone (ext ${out.extension}) rings first`);
  } catch (err) { toast(err.message, true); }
}

$("#dial-form").addEventListener("submit", (ev) => {
  ev.preventDefault(); const n = $("#dial-number").value.trim(); if (n) dial(n);
});

// ---- keyboard -------------------------------------------------------------------------------
document.addEventListener("keydown", (ev) => {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (ev.altKey && /^[1-9]$/.test(ev.key)) {
    const id = S.order[Number(ev.key) - 1]; if (id) { S.selected = id; render(); ev.preventDefault(); }
  } else if (ev.key === "Escape") {
    if (typing) document.activeElement.blur(); else { S.selected = null; render(); }
  } else if (ev.key === "Enter" && ev.ctrlKey && document.activeElement.id === "note") {
    $("#wrapup").requestSubmit();
  } else if (!typing && ev.key === "/") { ev.preventDefault(); $("#dial-number").focus(); }
  else if (!typing && ev.key === "n" && $("#note")) { ev.preventDefault(); $("#note").focus(); }
});

if (S.token) showDesk(); else showLogin();
