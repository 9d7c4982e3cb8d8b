// Surveys on the supervisor page: answers as they arrive (survey.* frames over /ws, handed
// over by supervisor.js), and the results of a campaign or a script with Chart.js charts.
// Shares supervisor.js's helpers ($, el, api, toast, S): both are classic scripts.
"use strict";
const SV = { feed: [], charts: [] };
const FEED_MAX = 50;

function answerText(value) {
  if (value === null || value === undefined) return "—";
  if (value === true) return "yes";
  if (value === false) return "no";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

window.ctiSurveyFrame = (msg) => {
  const s = msg.survey;
  const last = s.answers.length ? s.answers[s.answers.length - 1] : null;
  const what = msg.type === "survey.started" ? "started"
    : msg.type === "survey.finished" ? `finished: ${s.status}`
    : last ? `${last.text || last.question_id} — ${answerText(last.value)}` : "answer";
  SV.feed.unshift({ id: s.id, text: `${new Date().toLocaleTimeString()} · ${s.title} · ` +
    `${s.agent ? `ext ${s.agent}` : s.mode} · call ${s.call_key} · ${what}` });
  SV.feed.length = Math.min(SV.feed.length, FEED_MAX);
  $("#survey-feed").replaceChildren(...SV.feed.map((f) => el("li", { "data-survey": String(f.id) }, f.text)));
  $("#no-survey-feed").hidden = SV.feed.length > 0;
};

async function fillCampaigns() {
  try {
    const list = await api("GET", "/api/campaigns");
    const select = $("#results-campaign"); const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "—"),
      ...list.items.map((c) => el("option", { value: String(c.id) }, c.title || c.name)));
    select.value = chosen;
  } catch (err) { /* the board shows the error */ }
}

function resultsQuery() {
  const f = new FormData($("#results-form"));
  const q = new URLSearchParams();
  if (f.get("campaign_id")) q.set("campaign_id", f.get("campaign_id"));
  else if (f.get("script")) q.set("script", String(f.get("script")).trim());
  if (f.get("campaign_id") && f.get("list_id")) q.set("list_id", f.get("list_id"));
  if (f.get("from")) q.set("from", `${f.get("from")}T00:00:00Z`);
  if (f.get("to")) q.set("to", `${f.get("to")}T23:59:59Z`);
  if (f.get("agent")) q.set("agent", String(f.get("agent")).trim());
  return q;
}

function pct(v) { return v === null || v === undefined ? "—" : `${v} %`; }

function questionBox(q) {
  const box = el("div", { class: "question-result", "data-question": q.id },
    el("h4", {}, q.text),
    el("p", { class: "muted" }, `reached ${q.reached} · answered ${q.answered} · skipped ${q.skipped} · ` +
      `dropped ${q.dropped} (drop-off ${pct(q.drop_off_percent)})`));
  if (q.nps) box.append(el("p", { "data-nps": "" }, `NPS ${q.nps.score === null ? "—" : q.nps.score} ` +
    `(promoters ${q.nps.promoters}, passives ${q.nps.passives}, detractors ${q.nps.detractors})`));
  if (q.csat) box.append(el("p", { "data-csat": "" }, `CSAT ${pct(q.csat.percent)} (${q.csat.satisfied} of ${q.csat.total})`));
  if (q.average !== null) box.append(el("p", {}, `average ${q.average}`));
  if (q.distribution.length) {
    const canvas = el("canvas", { "data-chart": q.id, role: "img", "aria-label": `answers to ${q.id}` });
    box.append(canvas);
    SV.charts.push(new Chart(canvas, {
      type: "bar",
      data: { labels: q.distribution.map((d) => d.key),
        datasets: [{ label: "answers", data: q.distribution.map((d) => d.count), backgroundColor: "#0b57d0" }] },
      options: { animation: false, plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    }));
  }
  return box;
}

function renderResults(data) {
  for (const chart of SV.charts) chart.destroy();
  SV.charts = [];
  const root = $("#results"); root.replaceChildren();
  if (!data.versions.length) { root.append(el("p", { class: "muted" }, "No survey responses.")); return; }
  for (const v of data.versions) {
    const section = el("div", { class: "version", "data-version": v.version },
      el("h3", {}, `${v.title} `, el("span", { class: "muted" }, `version ${v.version}`)),
      el("p", { "data-completion": "" }, `started ${v.started} · complete ${v.complete} · partial ${v.partial} · ` +
        `in progress ${v.in_progress} · completion ${pct(v.completion_percent)}`));
    const grid = el("div", { class: "questions" });
    section.append(grid); root.append(section);
    for (const q of v.questions) grid.append(questionBox(q));
  }
}

$("#results-campaign").addEventListener("focus", fillCampaigns);
$("#results-campaign").addEventListener("change", async () => {
  const id = $("#results-campaign").value;
  const lists = id ? (await api("GET", `/api/campaigns/${id}`).catch(() => ({ lists: [] }))).lists : [];
  $("#results-list").replaceChildren(el("option", { value: "" }, "all"),
    ...lists.map((l) => el("option", { value: String(l.id) }, l.name)));
});
$("#results-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try { renderResults(await api("GET", `/api/survey-results?${resultsQuery()}`)); }
  catch (err) { toast(`Results: ${err.message}`, true); }
});
$("#results-csv").addEventListener("click", async () => {
  try {
    const res = await fetch(`/api/survey-results/csv?${resultsQuery()}`, { headers: { Authorization: `Bearer ${S.token}` } });
    if (!res.ok) throw new Error(((await res.json().catch(() => null)) || {}).message || res.statusText);
    const link = el("a", { href: URL.createObjectURL(await res.blob()), download: "survey-answers.csv" });
    document.body.append(link); link.click(); link.remove();
  } catch (err) { toast(`CSV: ${err.message}`, true); }
});
if (S.token) fillCampaigns();
