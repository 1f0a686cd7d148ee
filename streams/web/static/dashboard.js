// The reviewers' dashboard: listens to /dashboard/events (a snapshot of the worker's sessions about once a
// second), keeps each session's risk and attention over time from the snapshots it has seen, and draws
// the selected session's timeline with uPlot, from the session's start: its earlier timeline and
// behaviours come from /sessions/{id}/ when it is first shown. A reviewer confirms or dismisses each
// behaviour, or a range dragged on the chart: POST /sessions/{id}/reviews, shown at once and marked kept
// once the session's reviews (in the snapshots) hold it. Plain script, no build step.
"use strict";

const COLOURS = {
  risk: "#c62828",
  attention: "#2f5fd0",
  review: "#c77700",
  flagged: "#c62828",
  verdict: { clear: "#1f8a4c", review: "#c77700", flagged: "#c62828", inconclusive: "#6b7280" },
};
// Behaviour bands: one tint per type, the same type always the same tint.
const BAND_TINTS = ["#7c3aed", "#0e7490", "#b45309", "#be185d", "#15803d", "#4338ca", "#a16207"];
const MAX_POINTS = 3600; // an hour at one snapshot a second
const HISTORY_RETRY_MS = 10000; // after a failed /sessions/{id}/ (its worker restarting, say)

const history = new Map(); // session id -> {t: [], risk: [], attention: [], intervals: Map(id -> interval)}
let latest = []; // the last snapshot's sessions, riskiest first
let selected = null;
let chart = null;
let chartFor = null;
let snapshots = 0;
let reviewer = { reviewer: null, how: "", why_not: "not known yet" }; // GET /dashboard/reviewer
const pending = new Map(); // review id -> {review, state: "sending" | "sent" | "failed", error}
let rangeSel = null; // {session, start, end} in ms: a range dragged on the chart, not reviewed yet
const notes = new Map(); // event id -> the note typed beside it (kept while the list redraws)
let eventsShown = ""; // what the events list shows now: redrawn only when it changes
// A link to one session: /dashboard/#session=ID (the printable report links here).
let wanted = location.hash.startsWith("#session=") ? decodeURIComponent(location.hash.slice(9)) : null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value)}`;
}

function ago(ms) {
  if (!ms) return "–";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return new Date(ms).toLocaleTimeString();
}

function clock(ms) {
  return ms ? new Date(ms).toLocaleTimeString() : "–";
}

function label(kind) {
  return String(kind).replaceAll("_", " ");
}

function tint(kind) {
  let hash = 0;
  for (const ch of String(kind)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return BAND_TINTS[hash % BAND_TINTS.length];
}

function remember(session) {
  let past = history.get(session.session_id);
  if (!past) {
    past = { t: [], risk: [], attention: [], intervals: new Map() };
    history.set(session.session_id, past);
  }
  const at = session.at_ms;
  if (at && (past.t.length === 0 || at / 1000 > past.t[past.t.length - 1])) {
    past.t.push(at / 1000);
    past.risk.push(session.risk_score);
    past.attention.push(session.attention);
    if (past.t.length > MAX_POINTS) for (const key of ["t", "risk", "attention"]) past[key].shift();
  }
  // A snapshot carries the last minute's behaviours: keep what was seen, with its latest end.
  for (const item of session.intervals || []) past.intervals.set(item.id, item);
}

function shownInterval(id, b) {
  return { id, type: b.type, start: b.start, end: b.end || b.until };
}

// The server's timeline ([ms, risk, attention] points, coarser the longer the session) merged with the
// snapshots this page has seen (which win at the same time).
function mergeTimeline(past, points) {
  const byTime = new Map(points.map(([ms, risk, attention]) => [ms / 1000, [risk, attention]]));
  past.t.forEach((t, i) => byTime.set(t, [past.risk[i], past.attention[i]]));
  const times = [...byTime.keys()].sort((a, b) => a - b).slice(-MAX_POINTS);
  past.t = times;
  past.risk = times.map((t) => byTime.get(t)[0]);
  past.attention = times.map((t) => byTime.get(t)[1]);
}

// A session's history from before this page saw it: once per session (again later if it failed).
async function loadHistory(id) {
  const past = history.get(id);
  if (!past || past.loaded || past.loading || Date.now() < (past.retryAt || 0)) return;
  past.loading = true;
  try {
    const response = await fetch(`/sessions/${encodeURIComponent(id)}/`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`/sessions/${id}/ answered ${response.status}`);
    const state = await response.json();
    mergeTimeline(past, (state.timeline && state.timeline.points) || []);
    for (const [key, b] of Object.entries(state.behaviours || {})) past.intervals.set(key, shownInterval(key, b));
    past.loaded = true;
  } catch (error) {
    console.warn(`history of ${id} not loaded:`, error);
    past.retryAt = Date.now() + HISTORY_RETRY_MS;
  } finally {
    past.loading = false;
  }
  if (past.loaded && selected === id) renderDetail();
}

function renderList() {
  const list = document.getElementById("sessions");
  list.replaceChildren();
  document.getElementById("empty").hidden = latest.length > 0;
  for (const s of latest) {
    const colour = COLOURS.verdict[s.verdict] || COLOURS.verdict.inconclusive;
    const item = el(
      "li",
      { "data-session": s.session_id, class: s.session_id === selected ? "selected" : "" },
      el("span", { class: "name", title: s.session_id }, `${s.candidate_id || "?"} · ${s.session_id}`),
      el("span", { class: `verdict ${s.verdict}` }, s.verdict || "–"),
      el("span", { class: "bar" }, el("span", { style: `width:${s.risk_score}%;background:${colour}` })),
      el(
        "span",
        { class: "meta" },
        `risk ${percent(s.risk_score)} · attention ${percent(s.attention)} · `,
        el("span", { class: "frames" }, `${s.frames ?? 0}`),
        ` frames · ${s.status} · ${ago(s.last_seen_ms)}`,
      ),
    );
    item.addEventListener("click", () => select(s.session_id));
    list.append(item);
  }
}

function figure(name, value) {
  return el("div", {}, el("dt", {}, name), el("dd", {}, value));
}

function renderDetail() {
  const pane = document.getElementById("detail");
  const s = latest.find((x) => x.session_id === selected);
  if (!s) {
    pane.hidden = true;
    return;
  }
  pane.hidden = false;
  pane.dataset.session = s.session_id;
  document.getElementById("detail-title").textContent = `${s.candidate_id || "?"} · ${s.session_id}`;
  document.getElementById("detail-sub").textContent =
    `policy ${s.policy || "default"} · review at ${s.review_at}, flagged at ${s.flagged_at} · ` +
    `last seen ${clock(s.last_seen_ms)}`;
  const verdict = document.getElementById("detail-verdict");
  verdict.textContent = s.verdict || "–";
  verdict.className = `verdict ${s.verdict}`;
  document.getElementById("figures").replaceChildren(
    figure("risk", percent(s.risk_score)),
    figure("peak risk", percent(s.peak_risk_score)),
    figure("attention", percent(s.attention)),
    el("div", {}, el("dt", {}, "frames"), el("dd", { class: "frames" }, `${s.frames ?? 0}`)),
    figure("status", s.status),
  );
  const reasons = document.getElementById("reasons");
  reasons.replaceChildren();
  if (!s.reasons || s.reasons.length === 0) reasons.append(el("li", { class: "empty" }, "no behaviour held so far"));
  for (const r of s.reasons || []) {
    const share = Math.round(100 * r.share);
    reasons.append(
      el(
        "li",
        {},
        el("span", {}, label(r.event_type)),
        el("span", { class: "bar" }, el("span", { style: `width:${share}%;background:${tint(r.event_type)}` })),
        el("span", { class: "share" }, `${share}%`),
      ),
    );
  }
  document.getElementById("report-link").href = `/sessions/${encodeURIComponent(s.session_id)}/report`;
  renderReport(s.final_report);
  renderEvents(s);
  renderRangeForm(s);
  renderReviews(s);
  renderChart(s);
  loadHistory(s.session_id);
}

function renderReport(report) {
  const box = document.getElementById("report-box");
  box.hidden = !report;
  if (!report) return;
  const held = Object.entries(report.time_in_ms || {})
    .filter(([, ms]) => ms > 0)
    .map(([kind, ms]) => `${label(kind)} ${(ms / 1000).toFixed(1)}s`)
    .join(", ");
  document.getElementById("report").replaceChildren(
    figure("verdict", `${report.verdict}${report.cheating ? " (cheating)" : ""}`),
    figure("confidence", `${Math.round(100 * report.confidence)}%`),
    figure("final risk", percent(report.final_risk_score)),
    figure("peak risk", percent(report.peak_risk_score)),
    figure("mean risk", percent(report.mean_risk_score)),
    figure("attention", percent(report.attention)),
    figure("observed", `${Math.round(report.observed_s)}s`),
    figure("ended by", report.reason),
    figure("behaviours held", held || "none"),
  );
}

// The reviews shown for a session: those the worker keeps (in the snapshots), then ours not kept yet.
function reviewsOf(s) {
  const kept = (s.reviews || []).map((r) => ({ review: r, state: "kept" }));
  const ours = [...pending.values()].filter((p) => p.review.session_id === s.session_id);
  return [...kept, ...ours];
}

// Reviewers' decisions: who decided what, about which behaviour and range, when, newest first.
function renderReviews(s) {
  const shown = reviewsOf(s).sort((a, b) => a.review.at_ms - b.review.at_ms);
  document.getElementById("reviews-box").hidden = shown.length === 0;
  const list = document.getElementById("reviews");
  list.replaceChildren();
  const words = { kept: "", sending: "sending…", sent: "sent; the worker keeps it in a moment", failed: "not sent: " };
  for (const { review: r, state, error } of shown.reverse()) {
    const what = r.behaviour ? label(r.behaviour) : "the whole range";
    const span = r.ended_at_ms > r.started_at_ms ? `${clock(r.started_at_ms)}–${clock(r.ended_at_ms)}` : clock(r.started_at_ms);
    list.append(
      el(
        "li",
        { class: `${r.decision} ${state}`, "data-review": r.review_id, "data-state": state },
        el("span", { class: `decision ${r.decision}` }, r.decision),
        el("span", { class: "what", style: r.behaviour ? `border-color:${tint(r.behaviour)}` : "" }, what),
        el("span", { class: "when" }, span),
        el("span", { class: "who" }, `by ${r.reviewer}${r.policy ? ` · ${r.policy}` : ""} · at ${clock(r.at_ms)}`),
        state === "kept" ? "" : el("span", { class: "state" }, `${words[state]}${error || ""}`),
        r.note ? el("span", { class: "note" }, r.note) : "",
      ),
    );
  }
}

function newReviewId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // crypto.randomUUID needs https, which a worker on a private network may not have
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// One decision: shown at once, sent to any worker (the record finds its session's partition by its key).
async function submitReview(s, fields) {
  const body = { review_id: newReviewId(), policy: s.policy_id || "", note: "", ...fields };
  const review = { session_id: s.session_id, event_id: null, behaviour: "", reviewer: reviewer.reviewer, at_ms: Date.now(), ...body };
  pending.set(body.review_id, { review, state: "sending" });
  renderDetail();
  try {
    const response = await fetch(`/sessions/${encodeURIComponent(s.session_id)}/reviews`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error || `the worker answered ${response.status}`);
    if (pending.has(body.review_id)) pending.set(body.review_id, { review: answer.review, state: "sent" });
  } catch (error) {
    pending.set(body.review_id, { review, state: "failed", error: String(error.message || error) });
  }
  renderDetail();
}

function latestReviewOf(s, eventId) {
  const about = reviewsOf(s).filter((p) => p.review.event_id === eventId && p.state !== "failed");
  return about.length ? about.sort((a, b) => a.review.at_ms - b.review.at_ms)[about.length - 1].review : null;
}

function decisionButtons(onDecide) {
  const can = Boolean(reviewer.reviewer);
  const why = can ? "" : `you may not review here: ${reviewer.why_not}`;
  return ["confirmed", "dismissed"].map((decision) => {
    const button = el("button", { type: "button", class: decision === "confirmed" ? "confirm" : "dismiss", "data-decision": decision }, decision === "confirmed" ? "Confirm" : "Dismiss");
    button.disabled = !can;
    if (why) button.title = why;
    button.addEventListener("click", () => onDecide(decision));
    return button;
  });
}

// The session's behaviours, each with confirm / dismiss and a note. Redrawn only when what it shows
// changes, so a note being typed keeps its text and focus while snapshots arrive.
function renderEvents(s) {
  const past = history.get(s.session_id);
  const intervals = past ? [...past.intervals.values()].sort((a, b) => a.start - b.start) : [];
  const list = document.getElementById("events");
  document.getElementById("no-events").hidden = intervals.length > 0;
  const rows = intervals.map((i) => {
    const last = latestReviewOf(s, i.id);
    return { i, last, key: `${i.id}|${i.end ? "" : "ongoing"}|${last ? `${last.review_id}:${last.decision}` : ""}` };
  });
  const spanOf = (i) =>
    i.end ? `${clock(i.start)}–${clock(i.end)} (${((i.end - i.start) / 1000).toFixed(1)} s)` : `${clock(i.start)}–… (ongoing)`;
  const shown = `${s.session_id}|${reviewer.reviewer}|${rows.map((r) => r.key).join(",")}`;
  if (shown === eventsShown) {
    // The same rows: only an interval's end moves (a condition seen again). The inputs stay as they are.
    for (const { i } of rows) {
      const when = list.querySelector(`li[data-event="${CSS.escape(i.id)}"] .when`);
      if (when) when.textContent = spanOf(i);
    }
    return;
  }
  eventsShown = shown;
  for (const input of list.querySelectorAll("input.note")) notes.set(input.dataset.event, input.value);
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.event : null;
  list.replaceChildren();
  for (const { i, last } of rows) {
    const span = spanOf(i);
    const note = el("input", { class: "note", type: "text", maxlength: "2000", placeholder: "note (optional)", "data-event": i.id });
    note.value = notes.get(i.id) || "";
    note.addEventListener("input", () => notes.set(i.id, note.value));
    const decide = (decision) => {
      // The interval as known when the reviewer decides: an ongoing one up to the session's newest frame.
      const now = history.get(s.session_id).intervals.get(i.id) || i;
      const end = Math.max(now.end || latest.find((x) => x.session_id === s.session_id)?.at_ms || i.start, i.start);
      const text = note.value.trim();
      notes.delete(i.id); // cleared before the list redraws with the new review
      note.value = "";
      submitReview(s, { decision, event_id: i.id, behaviour: i.type, started_at_ms: i.start, ended_at_ms: end, note: text });
    };
    list.append(
      el(
        "li",
        { "data-event": i.id, class: last ? `reviewed ${last.decision}` : "" },
        el("span", { class: "what", style: `border-color:${tint(i.type)}` }, label(i.type)),
        el("span", { class: "when" }, span),
        el("span", { class: "status" }, last ? `${last.decision} by ${last.reviewer}` : "not reviewed"),
        note,
        ...decisionButtons(decide),
      ),
    );
    if (focused === i.id) note.focus();
  }
}

// The range dragged on the chart, its behaviour (anything, or one seen in the session) and a note.
function renderRangeForm(s) {
  const form = document.getElementById("range-form");
  const here = rangeSel && rangeSel.session === s.session_id;
  form.hidden = !here;
  if (!here) return;
  document.getElementById("range-text").textContent =
    `${clock(rangeSel.start)}–${clock(rangeSel.end)} (${((rangeSel.end - rangeSel.start) / 1000).toFixed(1)} s)`;
  const past = history.get(s.session_id);
  const types = [...new Set(past ? [...past.intervals.values()].map((i) => i.type) : [])].sort();
  const select = document.getElementById("range-behaviour");
  const options = ["", ...types];
  if ([...select.options].map((o) => o.value).join(",") !== options.join(",")) {
    const before = select.value;
    select.replaceChildren(...options.map((t) => el("option", { value: t }, t ? label(t) : "anything in it")));
    select.value = options.includes(before) ? before : "";
  }
  for (const button of form.querySelectorAll("button[data-decision]")) {
    button.disabled = !reviewer.reviewer;
    button.title = reviewer.reviewer ? "" : `you may not review here: ${reviewer.why_not}`;
  }
}

function decideRange(decision) {
  const s = latest.find((x) => x.session_id === selected);
  if (!s || !rangeSel || rangeSel.session !== s.session_id) return;
  const note = document.getElementById("range-note");
  const fields = { decision, behaviour: document.getElementById("range-behaviour").value, note: note.value.trim() };
  const range = { started_at_ms: rangeSel.start, ended_at_ms: rangeSel.end };
  note.value = "";
  rangeSel = null;
  submitReview(s, { ...fields, ...range });
  if (chart) chart.redraw(false);
}

// A drag across the chart selects a range to review (uPlot's selection; the chart does not zoom).
function onSelect(u) {
  if (u.select.width < 2) return;
  const start = u.posToVal(u.select.left, "x");
  const end = u.posToVal(u.select.left + u.select.width, "x");
  rangeSel = { session: chartFor, start: Math.round(start * 1000), end: Math.round(end * 1000) };
  u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
  u.redraw(false);
  renderDetail();
}

async function loadReviewer() {
  try {
    const response = await fetch("/dashboard/reviewer", { credentials: "same-origin" });
    if (!response.ok) throw new Error(`answered ${response.status}`);
    reviewer = await response.json();
  } catch (error) {
    reviewer = { reviewer: null, how: "", why_not: `who you are is not known (${error.message})` };
  }
  const line = document.getElementById("reviewer");
  line.textContent = reviewer.reviewer ? `as ${reviewer.reviewer} (${reviewer.how})` : `not possible here: ${reviewer.why_not}`;
  line.className = reviewer.reviewer ? "sub" : "sub warning";
  document.body.dataset.reviewer = reviewer.reviewer || "";
  eventsShown = "";
  if (selected !== null) renderDetail();
}

function chartSize() {
  const box = document.getElementById("chart");
  return { width: Math.max(320, box.clientWidth), height: 270 };
}

// Behaviour bands behind the series and the verdict thresholds across them, labelled on the chart itself.
function drawOverlays(u) {
  const s = latest.find((x) => x.session_id === chartFor);
  const past = history.get(chartFor);
  if (!s || !past) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const dpr = window.devicePixelRatio || 1;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.font = `${12 * dpr}px system-ui, sans-serif`;
  ctx.textAlign = "left"; // uPlot leaves its axes' alignment on the context
  ctx.textBaseline = "top";
  const now = past.t.length ? past.t[past.t.length - 1] : null;
  let row = 0;
  for (const interval of [...past.intervals.values()].sort((a, b) => a.start - b.start)) {
    const end = interval.end ? interval.end / 1000 : now;
    if (end === null) continue;
    const x0 = u.valToPos(interval.start / 1000, "x", true);
    const x1 = Math.max(u.valToPos(end, "x", true), x0 + 2 * dpr);
    ctx.globalAlpha = 0.16;
    ctx.fillStyle = tint(interval.type);
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.globalAlpha = 1;
    ctx.fillStyle = tint(interval.type);
    const text = label(interval.type) + (interval.end ? "" : " (ongoing)");
    ctx.fillText(text, Math.max(x0, left) + 4 * dpr, top + (4 + 16 * row) * dpr);
    row = (row + 1) % 3;
  }
  for (const [name, value, colour] of [
    ["flagged", s.flagged_at, COLOURS.flagged],
    ["review", s.review_at, COLOURS.review],
  ]) {
    const y = u.valToPos(value, "y", true);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash([6 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colour;
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    ctx.fillText(`${name} ≥ ${value}`, left + width - 6 * dpr, y - 2 * dpr);
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
  }
  // Reviewed ranges as a strip along the bottom (dark red: confirmed, blue: dismissed).
  for (const { review: r, state } of reviewsOf(s)) {
    if (state === "failed") continue;
    const x0 = u.valToPos(r.started_at_ms / 1000, "x", true);
    const x1 = Math.max(u.valToPos(r.ended_at_ms / 1000, "x", true), x0 + 3 * dpr);
    ctx.fillStyle = r.decision === "confirmed" ? "#9b1c1c" : "#1e429f";
    ctx.fillRect(x0, top + height - 6 * dpr, x1 - x0, 6 * dpr);
  }
  // The range dragged, waiting for a decision.
  if (rangeSel && rangeSel.session === chartFor) {
    const x0 = u.valToPos(rangeSel.start / 1000, "x", true);
    const x1 = u.valToPos(rangeSel.end / 1000, "x", true);
    ctx.fillStyle = "rgba(29, 35, 48, 0.12)";
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.strokeStyle = "#1d2330";
    ctx.lineWidth = 1 * dpr;
    ctx.strokeRect(x0, top, x1 - x0, height);
  }
  ctx.restore();
}

// Each series named at its newest point, with its value: no legend to look up.
function drawSeriesLabels(u) {
  const n = u.data[0].length;
  if (n === 0) return;
  const { ctx } = u;
  const dpr = window.devicePixelRatio || 1;
  const x = u.valToPos(u.data[0][n - 1], "x", true);
  const placed = [];
  ctx.save();
  ctx.font = `600 ${13 * dpr}px system-ui, sans-serif`;
  ctx.textBaseline = "middle";
  for (const [index, name, colour] of [
    [1, "risk", COLOURS.risk],
    [2, "attention", COLOURS.attention],
  ]) {
    const value = u.data[index][n - 1];
    if (value === null || value === undefined) continue;
    let y = u.valToPos(value, "y", true);
    for (const other of placed) if (Math.abs(other - y) < 16 * dpr) y = other + (y < other ? -16 : 16) * dpr;
    placed.push(y);
    const text = `${name} ${Math.round(value)}`;
    const right = x + 8 * dpr + ctx.measureText(text).width > ctx.canvas.width;
    ctx.textAlign = right ? "right" : "left";
    ctx.fillStyle = colour;
    ctx.fillText(text, right ? x - 8 * dpr : x + 8 * dpr, y);
  }
  ctx.restore();
}

// From the earliest behaviour shown (it may predate the first snapshot this page saw), at least a minute.
// Computed from the data, not from uPlot's min and max: for a single point uPlot widens a time scale by a
// day in milliseconds, which our seconds make 1000 days.
function xRange(u) {
  const past = history.get(chartFor);
  const times = past ? past.t : [];
  let lo = times.length ? times[0] : Date.now() / 1000;
  const hi = times.length ? times[times.length - 1] : lo;
  for (const interval of past ? past.intervals.values() : []) lo = Math.min(lo, interval.start / 1000);
  return [lo, Math.max(hi, lo + 60)];
}

function renderChart(s) {
  const past = history.get(s.session_id);
  const data = [past.t, past.risk, past.attention];
  if (chart && chartFor === s.session_id) {
    chart.setData(data);
    return;
  }
  if (chart) chart.destroy();
  chartFor = s.session_id;
  const options = {
    ...chartSize(),
    padding: [12, 112, 0, 0], // room on the right for the series' names
    scales: {
      x: { time: true, range: xRange },
      y: { range: [0, 100] },
    },
    axes: [{}, { label: "0 – 100", size: 50 }],
    series: [
      { label: "time" },
      { label: "risk", stroke: COLOURS.risk, width: 2.5, value: (u, v) => (v === null ? "–" : v.toFixed(1)) },
      {
        label: "attention",
        stroke: COLOURS.attention,
        width: 2,
        dash: [2, 0],
        value: (u, v) => (v === null ? "–" : v.toFixed(1)),
      },
    ],
    legend: { show: true, live: false },
    cursor: { drag: { x: true, y: false, setScale: false } },
    hooks: { drawClear: [drawOverlays], draw: [drawSeriesLabels], setSelect: [onSelect] },
  };
  chart = new uPlot(options, data, document.getElementById("chart"));
}

function select(id) {
  selected = id;
  window.history.replaceState(null, "", `#session=${encodeURIComponent(id)}`);
  renderList();
  renderDetail();
}

function onSnapshot(message) {
  const body = JSON.parse(message.data);
  latest = body.sessions;
  for (const s of latest) remember(s);
  if (wanted !== null && latest.some((s) => s.session_id === wanted)) {
    selected = wanted;
    wanted = null;
  }
  if (selected === null || !latest.some((s) => s.session_id === selected)) {
    selected = latest.length ? latest[0].session_id : null;
  }
  // A review the worker keeps now is no longer ours to show: the snapshot has it.
  for (const s of latest) for (const r of s.reviews || []) pending.delete(r.review_id);
  snapshots += 1;
  document.body.dataset.snapshots = String(snapshots);
  const status = document.getElementById("connection");
  status.textContent = `live · updated ${new Date(body.sent_at_ms).toLocaleTimeString()}`;
  status.className = "connection live";
  renderList();
  renderDetail();
}

function connect() {
  const source = new EventSource("/dashboard/events");
  source.addEventListener("snapshot", onSnapshot);
  source.addEventListener("error", () => {
    const status = document.getElementById("connection");
    status.textContent = "reconnecting…";
    status.className = "connection lost";
  });
}

window.addEventListener("resize", () => {
  if (chart) chart.setSize(chartSize());
});
for (const button of document.querySelectorAll("#range-form button[data-decision]")) {
  button.addEventListener("click", () => decideRange(button.dataset.decision));
}
document.getElementById("range-clear").addEventListener("click", () => {
  rangeSel = null;
  if (chart) chart.redraw(false);
  renderDetail();
});
document.getElementById("range-form").addEventListener("submit", (event) => event.preventDefault());
loadReviewer();
connect();
