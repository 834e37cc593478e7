// initlab page: controls, one WebSocket, and the drawings of what the server streams.
// The server does all the maths (training, statistics, verdict); the page only shows numbers.
// Modules: util (helpers, colours), charts (line charts, histograms), draw (boundary, network,
// layer cards), verdict, state (the address and the presets), controls (the form).

import { lineChart } from "./charts.js";
import { buildControls, describeScheme, readRequest, setControls, syncLayers } from "./controls.js";
import { drawBoundary, drawLayers, drawNetwork } from "./draw.js";
import { PRESETS, PRESET_NET, PRESET_SPEED, decodeState, encodeState } from "./state.js";
import { $, COLORS, DASHES, GHOST, INK, PALETTE, el, f32, fmt, option, pct, setText, setVal } from "./util.js";
import { drawVerdict } from "./verdict.js";

const MAX_POINTS = 4000;   // per curve; older points are thinned beyond that
const MAX_COLUMNS = 400;   // per histogram-over-time
const SUMMARY_EVERY = 2000; // ms between two updates of the charts' text summaries
const NO_POINTS = { train: { x: [], y: [] }, test: { x: [], y: [] } };
const SLOW_EVERY = 250;     // ms between two redraws of the network and the layer cards

const S = {
  options: null, ws: null, ready: null, frame: null, run: null, history: [], ghost: null,
  ghostNext: undefined, hists: [], focus: 0, links: "weights", dirty: true, sendTimer: null,
  frames: 0, draws: 0, applied: null, pending: false, autostart: false, summaryAt: 0,
  colors: COLORS, perf: {}, onScreen: new Set(["network", "diag"]),
};

// while training, pictures scrolled out of view wait (they are drawn when they come back, and
// whenever the run pauses or ends)
const watcher = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (e.isIntersecting) { S.onScreen.add(e.target.dataset.watch); S.dirty = true; S.slowPending = true; }
    else S.onScreen.delete(e.target.dataset.watch);
  }
});
window.initlab = S;  // for curious learners (and tests): the page's state

// ------------------------------------------------------------------ sending

function send(msg) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(msg));
}

function speedMessage() {
  const v = $("speed").value;
  return { type: "speed", steps_per_frame: v === "max" ? null : Number(v) };
}

// the configuration in the controls, sent unless it is the one already running (so fixing a
// bad value does not restart a run it never affected)
function sendConfig() {
  const req = readRequest(S);
  const text = JSON.stringify(req);
  S.pending = false;
  history.replaceState(null, "", encodeState({ config: req.config, compare: req.compare, speed: $("speed").value, log: $("cost-log").checked }));
  if (text === S.applied) {
    clearError();
    if (S.autostart) { send({ type: "reset" }); start(); }  // a preset clicked again: once more
    return;
  }
  S.sent = text;
  S.pending = true;
  send(req);
}

// controls apply 200 ms after the last change; `pending` until the server answers
function schedule() {
  clearTimeout(S.sendTimer);
  S.pending = true;
  S.sendTimer = setTimeout(sendConfig, 200);
}

function start() { S.autostart = false; send({ type: "start" }); }

function applyPreset(name) {
  const p = PRESETS[name];
  const rec = S.ready && S.ready.recommended.length ? S.ready.recommended[0] : null;
  const fields = { ...PRESET_NET, activation: null, seed: null };
  if (p.compare) fields.compare = p.compare(rec); else fields.init = p.init(rec);
  setControls(S, fields);
  $("speed").value = PRESET_SPEED; send(speedMessage());
  $("cost-log").checked = Boolean(p.compare);
  setText($("preset-hint"), p.look);
  for (const b of document.querySelectorAll("[data-preset]")) b.setAttribute("aria-pressed", String(b.dataset.preset === name));
  S.preset = name;
  S.autostart = true;
  clearTimeout(S.sendTimer);
  sendConfig();
}

function copyLink() {
  const url = location.href;
  const done = (ok) => {
    setText($("link-status"), ok ? "link copied" : "copy this link: " + url);
    setTimeout(() => setText($("link-status"), ""), 4000);
  };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).then(() => done(true), () => done(false));
  else done(false);
}

// ------------------------------------------------------------------ connection

// initlab's one JSON convention: non-finite numbers travel as "nan", "inf", "-inf"
const NONFINITE = new Map([["nan", NaN], ["inf", Infinity], ["-inf", -Infinity]]);
const revive = (k, v) => (typeof v === "string" && NONFINITE.has(v) ? NONFINITE.get(v) : v);

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/ws");
  S.ws = ws;
  $("conn").dataset.state = "connecting"; $("conn").textContent = "connecting…";
  ws.onopen = () => {
    $("conn").dataset.state = "open"; $("conn").textContent = "connected";
    clearTimeout(S.sendTimer);
    S.speedSent = false;
    sendConfig();  // the configuration first; the speed once it applied (onReady)
  };
  ws.onclose = () => {
    $("conn").dataset.state = "closed"; $("conn").textContent = "disconnected — reload the page";
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data, revive); } catch (e) { showError({ message: "unreadable message from the server" }); return; }
    if (m.type === "ready") onReady(m);
    else if (m.type === "frame") timed("message", () => onFrame(m));
    else if (m.type === "error") showError(m);
  };
}

// the controls of a RunConfig field.  For `hidden` (a list), the boxes of the rejected value
// that differ from the running configuration, i.e. the ones just changed (all of them when
// there is no running one); an index in the field (`hidden[1]`) names one box directly.
function controlsFor(m) {
  const [name, index] = String(m.field).split(/[.[\]]/).filter((x) => x !== "");
  if (name === "hidden" && index !== undefined && $("units-" + index)) return [$("units-" + index)];
  if (name === "hidden" && Array.isArray(m.value) && S.ready) {
    const running = S.ready.configs[0].hidden;
    const changed = m.value.map((v, i) => (String(v) !== String(running[i]) ? $("units-" + i) : null)).filter(Boolean);
    if (changed.length) return changed;
  }
  const box = document.querySelector(`[data-field="${name}"]`);
  return box ? [box] : [];
}

function showError(m) {
  S.pending = false;
  S.autostart = false;
  const box = $("errors");
  box.hidden = false;
  const f = m.field ? String(m.field) : null;
  const base = f ? f.split(/[.[]/)[0] : null;
  const targets = f ? controlsFor(m) : [];
  // the boxes are labelled L1, L2, ...: say which box is hidden[i] of the message
  const layers = targets.filter((t) => /^units-\d+$/.test(t.id)).map((t) => Number(t.id.slice(6)));
  const where = layers.length ? layers.map((i) => `L${i + 1} (hidden[${i}])`).join(", ") + ": "
    : f && !m.message.startsWith(base) ? f + ": " : "";
  box.textContent = where + m.message + (S.applied ? "\nThe run in progress is kept." : "");
  for (const e of document.querySelectorAll(".invalid")) e.classList.remove("invalid");
  for (const target of targets) target.classList.add("invalid");
  const r = box.getBoundingClientRect();
  if (r.top < 0 || r.bottom > window.innerHeight) box.scrollIntoView({ block: "center" });
}

function clearError() {
  $("errors").hidden = true; $("errors").textContent = "";
  for (const e of document.querySelectorAll(".invalid")) e.classList.remove("invalid");
}

// ------------------------------------------------------------------ messages

function onReady(m) {
  clearError();
  if (!S.speedSent) { S.speedSent = true; send(speedMessage()); }
  const old = S.ready;
  S.pending = false;
  S.applied = S.sent || S.applied;
  S.ready = m;
  const ds = m.dataset;
  S.points = { train: { x: f32(ds.train.x), y: ds.train.y }, test: { x: f32(ds.test.x), y: ds.test.y } };
  S.boundary = null;
  setText($("steps-limit"), String(m.steps_limit));
  // previous run's curve: kept when only run-state fields changed (same initial weights)
  S.ghostNext = m.same_initial_weights && m.members.length === 1 && old && old.members.length === 1
    ? ghostLabel(old.configs[0], m.configs[0]) : null;
  if (old && old.compare !== m.compare && !S.logFromUrl) $("cost-log").checked = m.compare;
  S.logFromUrl = false;
  recommendations(m);
  legends(m);
  boundaryPanels(m);
  const focus = $("focus"); focus.textContent = "";
  m.members.forEach((mem, k) => focus.append(option(String(k), mem.label)));
  S.focus = m.focus; focus.value = String(m.focus);
  $("focus-box").hidden = !m.compare;
  // in compare mode the scheme box names the compared schemes, not the one it held before
  $("init").disabled = m.compare;
  $("init-params").hidden = m.compare;
  if (m.compare) {
    setText($("init-formula"), "comparing " + m.members.map((x) => x.label).join(", ") + " (tick them under \"Compare\")");
    setText($("init-summary"), "");
  } else describeScheme(S);
  S.dirty = true;
}

function ghostLabel(a, b) {
  const diff = ["optimizer", "lr", "batch_size", "steps"].filter((k) => a[k] !== b[k]).map((k) => `${k === "batch_size" ? "batch" : k} ${a[k] ?? "all"}`);
  return "previous run" + (diff.length ? " (" + diff.join(", ") + ")" : "");
}

function recommendations(m) {
  for (const id of ["recommend", "verdict-recommend"]) {
    const rec = $(id); rec.textContent = "";
    if (m.recommended.length) {
      const best = m.recommended[0];
      rec.append("Recommended for ", el("b", { text: m.activation }), ": ", el("code", { text: best }));
      if (m.recommended.length > 1) rec.append(" (also " + m.recommended.slice(1).join(", ") + ")");
      const b = el("button", { type: "button", class: "small", id: "use-" + id }, "use it");
      b.addEventListener("click", () => { setControls(S, { init: best, compare: null }); schedule(); });
      rec.append(b);
    } else rec.textContent = "No scheme is registered as recommended for " + m.activation + ".";
  }
}

function legends(m) {
  const cl = $("cost-legend"); cl.textContent = "";
  if (m.compare) cl.append("training cost; each scheme has its own colour and line style, named at its end");
  else cl.append(el("i", { class: "solid" }), " train ", el("i", { class: "dashed" }), " test ", el("i", { class: "ghost" }), " previous run");
  const box = $("class-legend"); box.textContent = "";
  const names = m.dataset.class_names || [];
  for (let c = 0; c < (m.dataset.n_classes || 2); c++) {
    const chip = el("i", { class: "chip" }); chip.style.background = S.colors.CLASS[c] || "#777";
    box.append(chip, " " + (names[c] || "class " + c) + " ");
  }
  box.append("· filled: train, ringed: test");
}

function boundaryPanels(m) {
  const box = $("boundaries"); box.textContent = "";
  document.querySelector(".panels.first").classList.toggle("compare", m.compare);
  box.classList.toggle("single", m.members.length === 1);
  S.boundaryCanvases = m.members.map((mem, k) => {
    const cv = el("canvas", { "data-member": k, role: "img", "aria-label": "decision boundary" + (m.compare ? " of " + mem.label : "") });
    const cap = el("figcaption", {});
    cap.append(el("span", { class: "name", text: m.compare ? mem.label : "" }), " ", el("span", { class: "score", id: "score-" + k }));
    const fig = el("figure", { class: "boundary" }, cv, cap);
    if (m.compare) {
      fig.style.cursor = "pointer"; fig.title = mem.summary + " — click for its details";
      fig.tabIndex = 0; fig.setAttribute("role", "button");
      fig.setAttribute("aria-label", "show the details of " + mem.label);
      fig.addEventListener("click", () => setFocus(k));
      fig.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); setFocus(k); } });
    }
    box.append(fig);
    return cv;
  });
}

function setFocus(k) {
  S.focus = k; $("focus").value = String(k);
  send({ type: "focus", member: k });
  S.dirty = true; S.diagVersion = (S.diagVersion || 0) + 1;
}

function newRun(m) {
  const old = S.history;
  const keep = S.ghostNext === undefined ? (S.ready && S.ready.members.length === 1 ? "previous run" : null) : S.ghostNext;
  if (keep && old.length === 1 && old[0].train.length > 1) S.ghost = { label: keep, points: old[0].train.slice() };
  else if (!keep) S.ghost = null;
  S.ghostNext = undefined;
  S.history = m.members.map(() => ({ train: [], test: [] }));
  S.hists = m.members.map((_, k) => ({ member: k, layers: {}, steps: [], latest: null }));
  S.run = m.run;
  S.verdict = null; S.verdictFrame = null; S.diagVersion = (S.diagVersion || 0) + 1;
}

function push(arr, p) {
  if (arr.length && arr[arr.length - 1][0] === p[0]) arr[arr.length - 1] = p;
  else arr.push(p);
  if (arr.length > MAX_POINTS) {
    const keep = [arr[0]];
    for (let i = 1; i < arr.length; i += 2) keep.push(arr[i]);
    arr.splice(0, arr.length, ...keep);
  }
}

function onFrame(m) {
  if (m.run !== S.run || S.history.length !== m.members.length) newRun(m);
  S.frame = m;
  S.frames += 1;
  m.members.forEach((mem, k) => {
    push(S.history[k].train, [m.step, mem.cost_train]);
    push(S.history[k].test, [m.step, mem.cost_test]);
  });
  if (m.boundary) { S.boundary = m.boundary; S.boundaryVersion = (S.boundaryVersion || 0) + 1; }
  if (m.diag) { onDiag(m.diag); S.diagVersion = (S.diagVersion || 0) + 1; }
  if (m.verdict) { S.verdict = m.verdict; S.verdictFrame = m; S.verdictVersion = (S.verdictVersion || 0) + 1; }
  if (S.autostart && !m.running) start();
  S.dirty = true;
}

// every member's rows (each compared scheme keeps its own history); older servers send the
// focused member's only
function onDiag(d) {
  const all = d.members || null;
  if (d.first) {
    const firsts = d.first.members || [d.first.layers];
    firsts.forEach((rows, i) => addRows(d.first.members ? i : d.member, d.first.step, rows, d));
  }
  if (all) all.forEach((rows, k) => addRows(k, d.step, rows, d));
  else addRows(d.member, d.step, d.layers, d);
}

function addRows(k, step, rows, d) {
  const D = S.hists[k]; if (!D || !rows || !rows.length) return;
  D.edges = d.edges; D.thresholds = d.thresholds || D.thresholds;
  D.latest = { step, layers: rows };
  const last = D.steps.length ? D.steps[D.steps.length - 1] : -1;
  if (step <= last) return;
  D.steps.push(step);
  for (const r of rows) {
    const L = D.layers[r.layer] || (D.layers[r.layer] = { norm: [], ratio: [], zCols: [], gCols: [], from: step });
    push(L.norm, [step, r.dW_norm]);
    push(L.ratio, [step, r.update_data]);
    for (const [key, val] of [["zCols", r.z_hist ? { counts: r.z_hist, range: r.z_range } : null], ["gCols", r.dZ_hist ? { counts: r.dZ_hist.counts, range: null } : null]]) {
      if (!val) continue;
      L[key].push(val);
      if (L[key].length > MAX_COLUMNS) L[key] = L[key].filter((_, i) => i % 2 === 0);
    }
    L.to = step;
  }
}

// ------------------------------------------------------------------ drawing

function render() {
  requestAnimationFrame(render);
  const slowDue = S.slowPending && performance.now() - (S.slowAt || 0) >= SLOW_EVERY;
  if ((!S.dirty && !slowDue) || !S.ready || !S.frame) return;
  const m = S.frame, R = S.ready;
  // between a new configuration's `ready` and its first frame, the last frame is the old run's
  if (m.run < R.run || m.members.length !== R.members.length || S.history.length !== R.members.length) return;
  S.dirty = false;
  S.draws += 1;
  const k = Math.min(m.members.length - 1, S.focus);
  timed("numbers", () => numbers(m, R, k));
  timed("cost", () => costChart(m, R));
  if (S.boundaryCanvases) S.boundaryCanvases.forEach((cv, i) => {
    if (fresh(cv, S.boundaryVersion)) timed("boundary", () => drawBoundary(cv, S.boundary, i, R.grid, $("show-points").checked ? S.points : NO_POINTS, S.boundaryCanvases.length > 1));
    cv.parentElement.classList.toggle("focused", R.compare && i === k);
  });
  // the slower pictures at most every SLOW_EVERY ms while running (always when paused or done):
  // a frame's budget goes to the cost and the numbers first, and no task grows long
  const now = performance.now(), settle = !m.running || m.done;
  const slow = settle || now - (S.slowAt || 0) >= SLOW_EVERY;
  if (slow && (settle || S.onScreen.has("network")) && m.diagram && m.diagram.weights.length === R.network.sizes.length - 1) {
    if (fresh($("network"), m.run + ":" + m.step + ":" + S.links)) timed("network", () => drawNetwork($("network"), m.diagram, R.network, S.links === "grads", $("network-note")));
  }
  if (fresh($("verdict"), S.verdictVersion + ":" + S.run)) S.modes = timed("verdict", () => drawVerdict(S.verdictFrame, R));
  const D = S.hists[k];
  $("diag").hidden = !(D && D.latest);
  if (slow && (settle || S.onScreen.has("diag")) && fresh($("layers-panel"), S.diagVersion + ":" + k)) timed("layers", () => diagPanels(S.hists[k], S.modes ? S.modes[k] : null));
  if (slow) { S.slowAt = now; S.slowPending = false; } else S.slowPending = true;  // later
  if (now - S.summaryAt > SUMMARY_EVERY || m.done || !m.running) { S.summaryAt = now; summaries(m, R, k); }
}

// how long each part of the drawing takes (count, total and longest, in ms): S.perf
function timed(name, fn) {
  const t = performance.now(), out = fn(), d = performance.now() - t;
  const p = S.perf[name] || (S.perf[name] = { n: 0, total: 0, max: 0 });
  p.n += 1; p.total += d; p.max = Math.max(p.max, d);
  return out;
}

function numbers(m, R, k) {
  const mem = m.members[k];
  setVal("step", m.step, String(m.step));
  setText($("stats-member"), R.members.length > 1 ? R.members[k].label + ": " : "");
  setVal("cost-train", mem.cost_train);
  setVal("cost-test", mem.cost_test);
  setVal("acc-train", mem.acc_train, pct(mem.acc_train));
  setVal("acc-test", mem.acc_test, pct(mem.acc_test));
  const h0 = S.history[k] && S.history[k].train.find((p) => p[0] === 0);
  setVal("cost-train0", h0 ? h0[1] : null);
  setText($("rate"), m.running ? fmt(m.steps_per_second, 3) : "—");
  setText($("btn-start"), m.running ? "Pause" : (m.step > 0 && !m.done ? "Resume" : "Start"));
  const div = m.members.map((x, i) => x.diverged_at !== null ? `${R.members[i].label}: diverged at step ${x.diverged_at}` : null).filter(Boolean);
  setText($("status"), (m.done ? (div.length === m.members.length ? "stopped: " : `reached ${m.steps_limit} steps — Reset, or raise max steps`) : "") + (div.length ? " " + div.join("; ") : ""));
  m.members.forEach((x, i) => setText($("score-" + i), "cost " + fmt(x.cost_train, 3) + " · acc " + pct(x.acc_train)));
}

function costChart(m, R) {
  const many = R.members.length > 1, series = [];
  if (S.ghost && !many) series.push({ color: GHOST, width: 2.5, points: S.ghost.points, label: S.ghost.label, scale: false });
  S.history.forEach((hh, i) => {
    if (many) {
      series.push({ color: PALETTE[i % PALETTE.length], dash: DASHES[i % DASHES.length], points: hh.train, label: R.members[i].label, direct: true, width: 2.2 });
    } else {
      series.push({ color: INK, points: hh.train, label: "train" });
      series.push({ color: INK, dash: [5, 4], points: hh.test, label: "test", width: 1.5 });
    }
  });
  const loss = R.network.loss.replace(/_/g, " ");
  S.costScale = lineChart($("cost-chart"), series, { xLabel: "step", yLabel: "cost (" + loss + ")", logY: $("cost-log").checked, zero: true, empty: "no positive cost to draw on a log scale", legend: false });
}

function diagPanels(D, modes) {
  $("diag").hidden = !(D && D.latest);
  if (!D || !D.latest) { $("layers-panel").textContent = ""; $("layers-panel").dataset.n = ""; return; }
  const th = D.thresholds || {};
  const layers = Object.keys(D.layers).map(Number).sort((a, b) => a - b);
  const style = (l, i) => ({ color: PALETTE[i % PALETTE.length], dash: DASHES[i % DASHES.length], label: layers.length - 1 === i ? "out" : "L" + l, direct: true });
  lineChart($("gradnorm-chart"), layers.map((l, i) => ({ ...style(l, i), points: D.layers[l].norm })), { logY: true, xLabel: "step", yLabel: "‖dW‖" });
  const guide = th.healthy_update_data;
  setText($("guide-label"), guide ? fmt(guide) + " guide" : "guide");
  lineChart($("ratio-chart"), layers.map((l, i) => ({ ...style(l, i), points: D.layers[l].ratio })),
    { logY: true, xLabel: "step", yLabel: "update : data", guides: guide ? [{ y: guide, label: fmt(guide) + " (healthy)", color: "#007a59" }] : [],
      empty: "undefined so far: update:data divides by the weights' std, which is 0" });
  timed("layers.cards", () => drawLayers($("layers-panel"), D, modes));
}

// short text alternatives of the charts (also read by screen readers)
function summaries(m, R, k) {
  const curve = (i) => {
    const t = S.history[i].train.filter((p) => p[1] !== null);
    if (!t.length) return "no cost yet";
    const a = t[0], b = t[t.length - 1];
    const trend = b[1] < 0.9 * a[1] ? "falling" : b[1] > 1.1 * a[1] ? "rising" : "flat";
    return `${fmt(a[1], 3)} at step ${a[0]} → ${fmt(b[1], 3)} at step ${b[0]} (${trend})`;
  };
  setText($("cost-summary"), R.members.length > 1
    ? "Training cost: " + R.members.map((mem, i) => mem.label + " " + curve(i)).join("; ")
    : "Training cost " + curve(0) + (S.ghost ? "; the previous run is drawn in grey" : ""));
  setText($("boundary-summary"), "Accuracy: " + m.members.map((x, i) => (R.members.length > 1 ? R.members[i].label + " " : "") + pct(x.acc_train) + " train, " + pct(x.acc_test) + " test").join("; "));
  const D = S.hists[k];
  if (D && D.latest) {
    const rows = D.latest.layers;
    setText($("gradnorm-summary"), `‖dW‖ at step ${D.latest.step}: ` + rows.map((r) => (r.hidden ? "L" + r.layer : "out") + " " + fmt(r.dW_norm, 2)).join(", "));
    setText($("ratio-summary"), `update:data at step ${D.latest.step}: ` + rows.map((r) => (r.hidden ? "L" + r.layer : "out") + " " + fmt(r.update_data, 2)).join(", "));
  }
}

// redraw a node only when its data or its size changed
function fresh(node, version) {
  const key = version + ":" + node.clientWidth + "x" + node.clientHeight;
  if (node._drawn === key) return false;
  node._drawn = key;
  return true;
}

// ------------------------------------------------------------------ start

function wire() {
  $("network").dataset.watch = "network"; $("diag").dataset.watch = "diag";
  watcher.observe($("network")); watcher.observe($("diag"));
  for (const b of document.querySelectorAll("[data-preset]")) b.addEventListener("click", () => applyPreset(b.dataset.preset));
  $("speed").addEventListener("change", () => { send(speedMessage()); schedule(); });
  $("btn-start").addEventListener("click", () => send({ type: S.frame && S.frame.running ? "pause" : "start" }));
  $("btn-step").addEventListener("click", () => send({ type: "step", n: 1 }));
  $("btn-reset").addEventListener("click", () => send({ type: "reset" }));
  $("btn-link").addEventListener("click", copyLink);
  $("focus").addEventListener("change", () => setFocus(Number($("focus").value)));
  for (const r of document.querySelectorAll("input[name=links]")) r.addEventListener("change", () => { S.links = r.value; S.dirty = true; });
  window.addEventListener("resize", () => { S.dirty = true; });
  $("cost-log").addEventListener("change", () => { S.dirty = true; schedule(); });
  $("show-points").addEventListener("change", () => { S.boundaryVersion = (S.boundaryVersion || 0) + 1; S.dirty = true; });
}

fetch("/api/options").then((r) => r.json()).then((opts) => {
  S.options = opts;
  buildControls(S, schedule);
  const fromUrl = decodeState(location.hash);
  if (Object.keys(fromUrl.config).length || fromUrl.compare) setControls(S, { ...fromUrl.config, compare: fromUrl.compare ?? null });
  if (fromUrl.speed && [...$("speed").options].some((o) => o.value === fromUrl.speed)) $("speed").value = fromUrl.speed;
  else if (fromUrl.speed) setText($("link-status"), `the link's speed=${fromUrl.speed} is not offered (one of ${[...$("speed").options].map((o) => o.value).join(", ")}); using ${$("speed").value} steps per frame`);
  if (fromUrl.log !== undefined) { $("cost-log").checked = fromUrl.log; S.logFromUrl = true; }
  syncLayers(S);
  wire();
  connect();
  requestAnimationFrame(render);
}).catch((e) => showError({ message: "cannot load the page's options: " + e }));
