// initlab page: controls, one WebSocket, and canvas drawings of what the server streams.
// The server does all the maths (training, statistics, verdict); this file only shows numbers.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2",
    "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488", "#b45309", "#be123c",
    "#1d4ed8", "#15803d"];
  const CLASS_RGB = [[234, 88, 12], [37, 99, 235], [22, 163, 74], [147, 51, 234],
    [220, 38, 38], [8, 145, 178], [202, 138, 4], [219, 39, 119], [75, 85, 99], [101, 163, 13]];
  const MAX_POINTS = 4000;   // per curve; older points are thinned beyond that
  const MAX_COLUMNS = 400;   // per histogram-over-time

  const S = {
    options: null, ws: null, ready: null, frame: null, run: null,
    history: [], ghost: null, diag: null, verdict: null, links: "weights",
    dirty: true, sendTimer: null, layers: 2, units: [10, 5], frames: 0, draws: 0,
  };
  window.initlab = S;  // for curious learners (and tests): the page's state

  // ------------------------------------------------------------------ helpers

  function fmt(v, digits = 4) {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return Number(v.toPrecision(digits)).toString();
  }
  function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%"; }
  function bytes(b64) {
    const s = atob(b64); const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function f32(b64) { return new Float32Array(bytes(b64).buffer); }
  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }
  function setVal(id, v, text) {
    const e = $(id);
    e.dataset.value = v === null || v === undefined ? "" : String(v);
    e.textContent = text !== undefined ? text : fmt(v);
  }

  // canvas sized to its box and the screen's pixel ratio
  function ctx2d(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    const c = canvas.getContext("2d");
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, h);
    return { c, w, h };
  }

  function niceTicks(lo, hi, n = 5) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push(t);
    return out;
  }

  // series: [{color, dash, width, alpha, points: [[x, y], ...], label}]
  function lineChart(canvas, series, opt = {}) {
    const { c, w, h } = ctx2d(canvas);
    const L = 52, R = 10, T = 8, B = 24;
    const ty = (v) => (opt.logY ? (v > 0 ? Math.log10(v) : null) : v);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const s of series) for (const [x, y] of s.points) {
      const v = y === null ? null : ty(y);
      if (v === null || !Number.isFinite(v)) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, v); y1 = Math.max(y1, v);
    }
    for (const g of opt.guides || []) { const v = ty(g.y); if (v !== null) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); } }
    c.font = "11px system-ui, sans-serif"; c.fillStyle = "#6b7280"; c.strokeStyle = "#d9dbe0";
    if (!Number.isFinite(x0)) {
      const any = series.some((s) => s.points.some((p) => p[1] !== null));
      c.fillText(any && opt.logY ? "every value is 0: nothing to draw on a log scale" : (opt.empty || "no data yet"), L + 8, T + 20);
      return;
    }
    if (x1 === x0) x1 = x0 + 1;
    if (y1 - y0 < 1e-12) { const pad = opt.logY ? 0.5 : Math.max(Math.abs(y0) * 0.05, 1e-3); y0 -= pad; y1 += pad; }
    else { const pad = (y1 - y0) * 0.06; y0 -= pad; y1 += pad; }
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (w - L - R);
    const Y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (h - T - B);
    // axes and ticks
    c.beginPath(); c.moveTo(L, T); c.lineTo(L, h - B); c.lineTo(w - R, h - B); c.stroke();
    c.textAlign = "right"; c.textBaseline = "middle";
    const yt = opt.logY ? niceTicks(Math.floor(y0), Math.ceil(y1), 5).filter((t) => Number.isInteger(t) || Math.abs(t - Math.round(t)) < 1e-9)
      : niceTicks(y0, y1, 4);
    for (const t of yt) {
      if (t < y0 || t > y1) continue;
      const y = Y(t);
      c.strokeStyle = "#eef0f3"; c.beginPath(); c.moveTo(L, y); c.lineTo(w - R, y); c.stroke();
      c.fillText(opt.logY ? "1e" + Math.round(t) : fmt(t, 3), L - 4, y);
    }
    c.textAlign = "center"; c.textBaseline = "top";
    for (const t of niceTicks(x0, x1, 5)) c.fillText(fmt(t, 4), X(t), h - B + 4);
    if (opt.xLabel) { c.textAlign = "right"; c.fillText(opt.xLabel, w - R, h - 12); }
    // guides
    for (const g of opt.guides || []) {
      const v = ty(g.y); if (v === null) continue;
      c.save(); c.setLineDash([5, 4]); c.strokeStyle = g.color || "#15803d"; c.lineWidth = 1.5;
      c.beginPath(); c.moveTo(L, Y(v)); c.lineTo(w - R, Y(v)); c.stroke(); c.restore();
      c.fillStyle = g.color || "#15803d"; c.textAlign = "left"; c.textBaseline = "bottom";
      c.fillText(g.label, L + 4, Y(v) - 2);
    }
    // series
    for (const s of series) {
      c.save();
      c.strokeStyle = s.color; c.lineWidth = s.width || 1.8; c.globalAlpha = s.alpha || 1;
      if (s.dash) c.setLineDash(s.dash);
      c.beginPath();
      let pen = false;
      for (const [x, y] of s.points) {
        const v = y === null ? null : ty(y);
        if (v === null || !Number.isFinite(v)) { pen = false; continue; }
        if (pen) c.lineTo(X(x), Y(v)); else { c.moveTo(X(x), Y(v)); pen = true; }
      }
      c.stroke(); c.restore();
    }
    // legend
    const named = series.filter((s) => s.label);
    c.textAlign = "left"; c.textBaseline = "middle";
    let ly = T + 8;
    for (const s of named) {
      const tw = c.measureText(s.label).width;
      const lx = w - R - tw - 26;
      c.fillStyle = "rgba(255,255,255,.8)"; c.fillRect(lx - 2, ly - 7, tw + 28, 14);
      c.strokeStyle = s.color; c.lineWidth = 2; c.globalAlpha = s.alpha || 1;
      c.beginPath(); c.moveTo(lx, ly); c.lineTo(lx + 18, ly); c.stroke(); c.globalAlpha = 1;
      c.fillStyle = "#1f2328"; c.fillText(s.label, lx + 22, ly);
      ly += 14;
    }
  }

  function bars(canvas, counts, opt = {}) {
    const { c, w, h } = ctx2d(canvas);
    const n = counts.length, B = 14;
    const max = Math.max(1, ...counts);
    c.fillStyle = opt.color || "#2563eb";
    for (let i = 0; i < n; i++) {
      const bh = (counts[i] / max) * (h - B - 4);
      c.fillRect((i / n) * w + 0.5, h - B - bh, w / n - 1, bh);
    }
    c.fillStyle = "#6b7280"; c.font = "10px system-ui, sans-serif"; c.textBaseline = "top";
    if (opt.left !== undefined) { c.textAlign = "left"; c.fillText(opt.left, 0, h - B + 2); }
    if (opt.right !== undefined) { c.textAlign = "right"; c.fillText(opt.right, w, h - B + 2); }
    if (opt.note) { c.textAlign = "center"; c.fillText(opt.note, w / 2, h - B + 2); }
  }

  // colour map for histograms over time: white -> blue -> purple -> orange -> yellow
  const STOPS = [[255, 255, 255], [96, 165, 250], [124, 58, 237], [234, 88, 12], [250, 204, 21]];
  function heat(t) {
    t = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    const i = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i;
    return STOPS[i].map((a, j) => Math.round(a + f * (STOPS[i + 1][j] - a)));
  }
  function overTime(canvas, columns) {
    const { c, w, h } = ctx2d(canvas);
    if (!columns.length) return;
    const nb = columns[0].length, nc = columns.length;
    const img = new ImageData(nc, nb);
    for (let j = 0; j < nc; j++) {
      const col = columns[j]; const m = Math.max(1, ...col);
      for (let i = 0; i < nb; i++) {
        const [r, g, b] = heat(Math.sqrt(col[i] / m));
        const p = ((nb - 1 - i) * nc + j) * 4;
        img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
      }
    }
    const off = document.createElement("canvas"); off.width = nc; off.height = nb;
    off.getContext("2d").putImageData(img, 0, 0);
    c.imageSmoothingEnabled = false;
    c.drawImage(off, 0, 0, w, h - 14);
    c.fillStyle = "#6b7280"; c.font = "10px system-ui, sans-serif"; c.textBaseline = "top";
    c.textAlign = "left"; c.fillText("step " + (canvas._from ?? 0), 0, h - 12);
    c.textAlign = "right"; c.fillText("step " + (canvas._to ?? ""), w, h - 12);
  }

  // ------------------------------------------------------------------ controls

  function option(value, text) { const o = el("option", { value }); o.textContent = text ?? value; return o; }

  function buildControls(opts) {
    const d = opts.defaults;
    const ds = $("dataset");
    for (const x of opts.datasets) ds.append(option(x.name));
    ds.value = d.dataset;
    fillDatasetDefaults();
    const act = $("activation");
    for (const a of opts.activations) act.append(option(a.name));
    act.value = d.activation.split(":")[0];
    const init = $("init");
    for (const cat of opts.categories) {
      const g = el("optgroup", { label: cat.replace("_", " ") });
      for (const s of opts.schemes.filter((s) => s.category === cat)) g.append(option(s.name));
      init.append(g);
    }
    init.value = d.init.split(":")[0];
    buildSchemeParams();
    const optim = $("optimizer");
    for (const o of opts.optimizers) optim.append(option(o));
    optim.value = d.optimizer;
    $("lr").value = d.lr; $("seed").value = d.seed; $("steps").value = d.steps;
    $("batch").value = d.batch_size ?? "";
    const sp = $("speed");
    for (const n of [1, 2, 5, 10, 20, 50, 100, 500]) sp.append(option(String(n), n + " steps / frame"));
    sp.append(option("max", "as fast as possible"));
    sp.value = "5";
    S.units = d.hidden.slice(); S.layers = S.units.length;
    buildUnits();
    const cl = $("compare-list");
    for (const s of opts.schemes) {
      const cb = el("input", { type: "checkbox", value: s.name });
      cb.checked = opts.compare_default.includes(s.name);
      cb.addEventListener("change", schedule);
      cl.append(el("label", { title: s.summary }, cb, s.name));
    }
    updateActParam(); describeScheme();

    for (const id of ["dataset"]) $(id).addEventListener("change", () => { fillDatasetDefaults(); schedule(); });
    for (const id of ["noise", "points", "lr", "batch", "seed", "steps", "act-param"]) $(id).addEventListener("input", schedule);
    for (const id of ["optimizer", "compare-on"]) $(id).addEventListener("change", schedule);
    $("activation").addEventListener("change", () => { updateActParam(); schedule(); });
    $("init").addEventListener("change", () => { buildSchemeParams(); describeScheme(); schedule(); });
    $("speed").addEventListener("change", () => {
      const v = $("speed").value;
      send({ type: "speed", steps_per_frame: v === "max" ? null : Number(v) });
    });
    $("layers-minus").addEventListener("click", () => setLayers(S.layers - 1));
    $("layers-plus").addEventListener("click", () => setLayers(S.layers + 1));
    $("btn-start").addEventListener("click", () => {
      const running = S.frame && S.frame.running;
      send({ type: running ? "pause" : "start" });
    });
    $("btn-step").addEventListener("click", () => send({ type: "step", n: 1 }));
    $("btn-reset").addEventListener("click", () => send({ type: "reset" }));
    $("focus").addEventListener("change", () => send({ type: "focus", member: Number($("focus").value) }));
    for (const r of document.querySelectorAll("input[name=links]")) {
      r.addEventListener("change", () => { S.links = r.value; S.dirty = true; });
    }
    window.addEventListener("resize", () => { S.dirty = true; });
    $("cost-log").addEventListener("change", () => { S.dirty = true; });
  }

  function fillDatasetDefaults() {
    const x = S.options.datasets.find((d) => d.name === $("dataset").value);
    if (!x) return;
    $("noise").value = x.defaults.noise ?? 0;
    $("points").value = x.defaults.n_samples ?? "";
    $("dataset-summary").textContent = x.summary;
  }

  function setLayers(n) {
    const max = S.options.limits.hidden_layers;
    n = Math.max(0, Math.min(max, n));
    while (S.units.length < n) S.units.push(S.units.length ? S.units[S.units.length - 1] : 8);
    S.layers = n;
    buildUnits();
    schedule();
  }

  function buildUnits() {
    $("layers").textContent = S.layers;
    const box = $("units"); box.textContent = "";
    if (S.layers === 0) { box.append(el("span", { class: "hint", text: "no hidden layer: logistic regression" })); return; }
    for (let i = 0; i < S.layers; i++) {
      const inp = el("input", { inputmode: "numeric", id: "units-" + i, "aria-label": "units in layer " + (i + 1) });
      inp.value = S.units[i];
      inp.addEventListener("input", () => { S.units[i] = inp.value; schedule(); });
      box.append(el("label", {}, "L" + (i + 1), inp));
    }
  }

  function updateActParam() {
    const a = S.options.activations.find((x) => x.name === $("activation").value);
    const has = a && a.param !== null && a.param !== undefined;
    $("act-param-box").hidden = !has;
    if (has) {
      $("act-param-box").firstChild.textContent = a.name === "elu" ? "alpha " : "slope ";
      $("act-param").value = a.param;
    }
  }

  function scheme(name) { return S.options.schemes.find((s) => s.name === name); }

  function buildSchemeParams() {
    const s = scheme($("init").value); const box = $("init-params"); box.textContent = "";
    if (!s) return;
    for (const [k, v] of Object.entries(s.params)) {
      let inp;
      if (typeof v === "boolean") { inp = el("input", { type: "checkbox" }); inp.checked = v; }
      else { inp = el("input", { inputmode: typeof v === "number" ? "decimal" : "text" }); inp.value = v ?? ""; }
      inp.dataset.param = k; inp.dataset.default = String(v);
      inp.addEventListener(inp.type === "checkbox" ? "change" : "input", schedule);
      box.append(el("label", {}, k, inp));
    }
  }

  function describeScheme() {
    const s = scheme($("init").value);
    $("init-formula").textContent = s ? s.formula : "";
    $("init-summary").textContent = s ? s.summary + (s.recommended_for.length ? " · recommended for " + s.recommended_for.join(", ") : "") : "";
  }

  function raw(id) {
    const t = $(id).value.trim();
    if (t === "") return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : t;   // a non-number goes to the server as text: it says why
  }

  function initSpec() {
    const name = $("init").value; const parts = [];
    for (const inp of $("init-params").querySelectorAll("input")) {
      const v = inp.type === "checkbox" ? String(inp.checked) : inp.value.trim();
      if (v !== inp.dataset.default && v !== "") parts.push(inp.dataset.param + "=" + v);
    }
    return parts.length ? name + ":" + parts.join(",") : name;
  }

  function activationSpec() {
    const a = $("activation").value;
    if ($("act-param-box").hidden) return a;
    const p = $("act-param").value.trim();
    return p === "" ? a : a + ":" + p;
  }

  function request() {
    const hidden = S.units.slice(0, S.layers).map((u) => { const n = Number(u); return String(u).trim() !== "" && Number.isFinite(n) ? n : u; });
    const config = {
      dataset: $("dataset").value, noise: raw("noise"), n_samples: raw("points"),
      hidden, activation: activationSpec(), init: initSpec(),
      optimizer: $("optimizer").value, lr: raw("lr"), batch_size: raw("batch"),
      seed: raw("seed"), steps: raw("steps"),
    };
    for (const k of ["noise", "n_samples", "batch_size"]) if (config[k] === null) delete config[k];
    let compare = null;
    if ($("compare-on").checked) {
      compare = [...$("compare-list").querySelectorAll("input:checked")].map((x) => x.value);
    }
    $("init").disabled = compare !== null;
    return { type: "config", config, compare };
  }

  // controls apply 200 ms after the last change; `pending` until the server answers
  function schedule() {
    clearTimeout(S.sendTimer);
    S.pending = true;
    S.sendTimer = setTimeout(() => send(request()), 200);
  }

  // ------------------------------------------------------------------ connection

  function send(msg) {
    if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(msg));
  }

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
      const v = $("speed").value;
      send({ type: "speed", steps_per_frame: v === "max" ? null : Number(v) });
      send(request());
    };
    ws.onclose = () => {
      $("conn").dataset.state = "closed"; $("conn").textContent = "disconnected — reload the page";
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data, revive); } catch (e) { showError({ message: "unreadable message from the server" }); return; }
      if (m.type === "ready") onReady(m);
      else if (m.type === "frame") onFrame(m);
      else if (m.type === "error") showError(m);
    };
  }

  function showError(m) {
    S.pending = false;
    const box = $("errors");
    box.hidden = false;
    const named = m.field && !m.message.startsWith(m.field.split(/[.[]/)[0]);
    box.textContent = (named ? m.field + ": " : "") + m.message;
    for (const e of document.querySelectorAll(".invalid")) e.classList.remove("invalid");
    if (m.field) {
      const target = document.querySelector(`[data-field="${m.field.split(/[.[]/)[0]}"]`);
      if (target) target.classList.add("invalid");
    }
  }
  function clearError() {
    $("errors").hidden = true; $("errors").textContent = "";
    for (const e of document.querySelectorAll(".invalid")) e.classList.remove("invalid");
  }

  // ------------------------------------------------------------------ messages

  function onReady(m) {
    clearError();
    S.pending = false;
    S.ready = m;
    const ds = m.dataset;
    S.points = {
      train: { x: f32(ds.train.x), y: ds.train.y },
      test: { x: f32(ds.test.x), y: ds.test.y },
    };
    S.boundary = null;
    $("steps-limit").textContent = m.steps_limit;
    // recommendation for the chosen activation, in the controls and under the verdict
    for (const id of ["recommend", "verdict-recommend"]) {
      const rec = $(id); rec.textContent = "";
      if (m.recommended.length) {
        const best = m.recommended[0];
        rec.append("Recommended for ", el("b", { text: m.activation }), ": ", el("code", { text: best }));
        if (m.recommended.length > 1) rec.append(" (also " + m.recommended.slice(1).join(", ") + ")");
        const b = el("button", { type: "button", class: "small", id: "use-" + id }, "use it");
        b.addEventListener("click", () => useScheme(best));
        rec.append(b);
      } else rec.textContent = "No scheme is registered as recommended for " + m.activation + ".";
    }
    // members: boundary panels and the focus picker
    const box = $("boundaries"); box.textContent = "";
    box.classList.toggle("single", m.members.length === 1);
    S.boundaryCanvases = m.members.map((mem, k) => {
      const cv = el("canvas", { "data-member": k });
      const cap = el("figcaption", {});
      cap.append(el("span", { class: "name", text: m.compare ? mem.label : "" }), " ",
        el("span", { class: "score", id: "score-" + k }));
      const fig = el("figure", { class: "boundary" }, cv, cap);
      if (m.compare) {
        fig.style.cursor = "pointer"; fig.title = mem.summary + " — click for its details";
        fig.addEventListener("click", () => { $("focus").value = String(k); send({ type: "focus", member: k }); });
      }
      box.append(fig);
      return cv;
    });
    const focus = $("focus"); focus.textContent = "";
    m.members.forEach((mem, k) => focus.append(option(String(k), mem.label)));
    focus.value = String(m.focus);
    $("focus-box").hidden = !m.compare;
    S.dirty = true;
  }

  function newRun(m) {
    // keep the last run's cost curve (one network only) as a grey "previous run"
    const old = S.history;
    if (old.length === 1 && old[0].train.length > 1 && old[0].train[old[0].train.length - 1][0] > 0) {
      S.ghost = { label: "previous: " + (S.lastLabel || "run"), points: old[0].train.slice() };
    }
    S.history = m.members.map(() => ({ train: [], test: [] }));
    S.run = m.run;
    S.diag = null; S.verdict = null; S.diagVersion = (S.diagVersion || 0) + 1;
    S.lastLabel = S.ready && S.ready.members.length === 1 ? S.ready.members[0].label : null;
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
    if (m.verdict) { S.verdict = m.verdict; S.verdictParts = m.verdict_parts; S.reference = m.reference; }
    S.dirty = true;
  }

  function onDiag(d) {
    if (!S.diag || S.diag.member !== d.member) {
      S.diag = { member: d.member, layers: {}, steps: [] };
      if (d.first) addDiag(d.first);
    }
    addDiag(d);
  }

  function addDiag(d) {
    const D = S.diag;
    D.edges = d.edges; D.latest = d; D.thresholds = d.thresholds || D.thresholds;
    const last = D.steps.length ? D.steps[D.steps.length - 1] : -1;
    if (d.step === last) return;
    D.steps.push(d.step);
    for (const r of d.layers) {
      const L = D.layers[r.layer] || (D.layers[r.layer] = { norm: [], ratio: [], aCols: [], gCols: [], from: d.step });
      push(L.norm, [d.step, r.dW_norm]);
      push(L.ratio, [d.step, r.update_data]);
      for (const [key, val] of [["aCols", r.a_hist], ["gCols", r.dZ_hist ? r.dZ_hist.counts : null]]) {
        if (!val) continue;
        L[key].push(val);
        if (L[key].length > MAX_COLUMNS) {
          const keep = [];
          for (let i = 0; i < L[key].length; i += 2) keep.push(L[key][i]);
          L[key] = keep;
        }
      }
      L.to = d.step;
    }
  }

  function useScheme(spec) {
    const [name, rest] = spec.split(":");
    $("compare-on").checked = false;
    $("init").value = name; buildSchemeParams(); describeScheme();
    if (rest) {
      for (const kv of rest.split(",")) {
        const [k, v] = kv.split("=");
        const inp = $("init-params").querySelector(`[data-param="${k}"]`);
        if (inp) inp.value = v;
      }
    }
    schedule();
  }

  // ------------------------------------------------------------------ drawing

  function render() {
    requestAnimationFrame(render);
    if (!S.dirty || !S.ready || !S.frame) return;
    S.dirty = false;
    S.draws += 1;
    const m = S.frame, R = S.ready;
    // numbers
    const f = m.focus ?? Number($("focus").value || 0);
    const k = Math.min(m.members.length - 1, m.diagram ? m.diagram.member : f);
    const mem = m.members[k];
    setVal("step", m.step, String(m.step));
    $("stats-member").textContent = R.members.length > 1 ? R.members[k].label + ": " : "";
    setVal("cost-train", mem.cost_train);
    setVal("cost-test", mem.cost_test);
    setVal("acc-train", mem.acc_train, pct(mem.acc_train));
    setVal("acc-test", mem.acc_test, pct(mem.acc_test));
    const h0 = S.history[k] && S.history[k].train.find((p) => p[0] === 0);
    setVal("cost-train0", h0 ? h0[1] : null);
    $("rate").textContent = m.running ? fmt(m.steps_per_second, 3) : "—";
    const btn = $("btn-start");
    btn.textContent = m.running ? "Pause" : (m.step > 0 && !m.done ? "Resume" : "Start");
    const div = m.members.map((x, i) => x.diverged_at !== null ? `${R.members[i].label}: diverged at step ${x.diverged_at}` : null).filter(Boolean);
    $("status").textContent = (m.done ? (div.length === m.members.length ? "stopped: " : `reached ${m.steps_limit} steps — Reset, or raise max steps`) : "") + (div.length ? " " + div.join("; ") : "");
    m.members.forEach((x, i) => {
      const s = $("score-" + i);
      if (s) s.textContent = "cost " + fmt(x.cost_train, 3) + " · acc " + pct(x.acc_train);
    });
    // cost curves
    const series = [];
    if (S.ghost && R.members.length === 1) series.push({ color: "#c8ccd2", width: 3, points: S.ghost.points, label: S.ghost.label });
    S.history.forEach((hh, i) => {
      const color = R.members.length === 1 ? "#1f2328" : PALETTE[i % PALETTE.length];
      series.push({ color, points: hh.train, label: R.members.length > 1 ? R.members[i].label : "train" });
      series.push({ color, dash: [5, 4], points: hh.test, alpha: 0.8 });
    });
    lineChart($("cost-chart"), series, { xLabel: "step", logY: $("cost-log").checked, empty: "no positive cost to draw on a log scale" });
    // decision boundaries
    if (S.boundaryCanvases) S.boundaryCanvases.forEach((cv, i) => {
      if (fresh(cv, S.boundaryVersion)) drawBoundary(cv, i);
      cv.parentElement.classList.toggle("focused", R.compare && i === k);
    });
    drawNetwork(m.diagram);
    if (fresh($("layers-panel"), S.diagVersion)) drawDiag();
    drawVerdict();
  }

  // redraw a canvas only when its data or its size changed
  function fresh(node, version) {
    const key = version + ":" + node.clientWidth + "x" + node.clientHeight;
    if (node._drawn === key) return false;
    node._drawn = key;
    return true;
  }

  function drawBoundary(canvas, k) {
    const { c, w, h } = ctx2d(canvas);
    const R = S.ready, b = S.boundary, g = R.grid;
    if (b && b.members[k]) {
      const G = b.steps, nOut = b.outputs, p = bytes(b.members[k]);
      const img = new ImageData(G, G);
      for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) {
        const idx = i * G + j; let r, gg, bb;
        if (nOut === 1) {
          const t = p[idx] / 255;  // p(class 1): orange -> white -> blue
          const [a, z] = t < 0.5 ? [CLASS_RGB[0], [255, 255, 255]] : [[255, 255, 255], CLASS_RGB[1]];
          const u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
          [r, gg, bb] = a.map((v, q) => v + u * (z[q] - v));
        } else {
          r = 0; gg = 0; bb = 0;
          for (let cc = 0; cc < nOut; cc++) {
            const w8 = p[cc * G * G + idx] / 255, col = CLASS_RGB[cc % CLASS_RGB.length];
            r += w8 * col[0]; gg += w8 * col[1]; bb += w8 * col[2];
          }
        }
        const q = ((G - 1 - i) * G + j) * 4;  // row 0 of the grid is the lowest y
        img.data[q] = 0.45 * r + 0.55 * 255; img.data[q + 1] = 0.45 * gg + 0.55 * 255;
        img.data[q + 2] = 0.45 * bb + 0.55 * 255; img.data[q + 3] = 255;
      }
      const off = document.createElement("canvas"); off.width = G; off.height = G;
      off.getContext("2d").putImageData(img, 0, 0);
      c.imageSmoothingEnabled = true;
      c.drawImage(off, 0, 0, w, h);
    }
    const X = (x) => ((x - g.x[0]) / (g.x[1] - g.x[0])) * w;
    const Y = (y) => h - ((y - g.y[0]) / (g.y[1] - g.y[0])) * h;
    const rad = S.boundaryCanvases.length > 1 ? 1.8 : 3;
    for (const split of ["train", "test"]) {
      const P = S.points[split];
      for (let i = 0; i < P.y.length; i++) {
        const col = CLASS_RGB[P.y[i] % CLASS_RGB.length];
        c.beginPath(); c.arc(X(P.x[2 * i]), Y(P.x[2 * i + 1]), rad, 0, 2 * Math.PI);
        if (split === "train") {
          c.fillStyle = `rgb(${col})`; c.fill(); c.strokeStyle = "#fff"; c.lineWidth = 0.8; c.stroke();
        } else {
          c.strokeStyle = `rgb(${col})`; c.lineWidth = 1.5; c.stroke();
        }
      }
    }
  }

  function drawNetwork(dg) {
    const { c, w, h } = ctx2d($("network"));
    const R = S.ready; if (!dg) return;
    const sizes = R.network.sizes, shown = R.network.shown, L = sizes.length;
    const useGrad = S.links === "grads";
    const mats = useGrad ? dg.grads : dg.weights;
    const note = $("network-note");
    if (!mats) { c.fillStyle = "#6b7280"; c.fillText("no gradient yet: press Step or Start", 12, 20); note.textContent = ""; return; }
    const W = mats.map(f32);
    let max = 0;
    for (const a of W) for (const v of a) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
    const colX = (l) => 40 + (l / (L - 1)) * (w - 80);
    const nodeY = (l, i) => { const n = shown[l]; const gap = Math.min(24, (h - 40) / Math.max(1, n)); return h / 2 + (i - (n - 1) / 2) * gap; };
    for (let l = 0; l < L - 1; l++) {
      const a = W[l], nin = shown[l], nout = shown[l + 1];
      for (let i = 0; i < nin; i++) for (let j = 0; j < nout; j++) {
        const v = a[i * nout + j];
        if (!Number.isFinite(v)) { c.strokeStyle = "#b91c1c"; c.lineWidth = 2; }
        else {
          const s = max > 0 ? Math.abs(v) / max : 0;
          c.strokeStyle = v >= 0 ? "rgba(37,99,235," + (0.15 + 0.85 * s) + ")" : "rgba(234,88,12," + (0.15 + 0.85 * s) + ")";
          c.lineWidth = max > 0 ? 0.3 + 4 * s : 0.5;
          if (max === 0) c.strokeStyle = "#d9dbe0";
        }
        c.beginPath(); c.moveTo(colX(l), nodeY(l, i)); c.lineTo(colX(l + 1), nodeY(l + 1, j)); c.stroke();
      }
    }
    const B = dg.biases.map(f32);
    c.font = "11px system-ui, sans-serif"; c.textAlign = "center";
    for (let l = 0; l < L; l++) {
      for (let i = 0; i < shown[l]; i++) {
        c.beginPath(); c.arc(colX(l), nodeY(l, i), 6, 0, 2 * Math.PI);
        c.fillStyle = "#fff"; c.fill();
        const bv = l > 0 ? B[l - 1][i] : 0;
        c.strokeStyle = l === 0 ? "#6b7280" : (bv > 0 ? "#2563eb" : bv < 0 ? "#ea580c" : "#6b7280");
        c.lineWidth = 1.5; c.stroke();
      }
      c.fillStyle = "#6b7280";
      const label = l === 0 ? "input" : l === L - 1 ? "output" : "layer " + l;
      c.fillText(label + " (" + sizes[l] + ")", colX(l), 12);
      if (sizes[l] > shown[l]) c.fillText("+" + (sizes[l] - shown[l]) + " more", colX(l), h - 6);
      if (l > 0) c.fillText(R.network.activations[l - 1], colX(l), 25);
    }
    const what = useGrad ? "gradient dW (step " + dg.grad_step + ")" : "weight";
    note.textContent = max > 0 ? `Line width is |${what}| relative to the largest shown, ${fmt(max, 3)}. Units whose links look alike compute the same thing.`
      : `Every ${what} shown is 0: no signal can tell the units apart.`;
  }

  function drawDiag() {
    // (statistics are the diagnostics' own; this only draws them)
    const D = S.diag, box = $("layers-panel");
    $("diag").hidden = !(D && D.latest);
    if (!D || !D.latest) { box.textContent = ""; box.dataset.n = ""; return; }
    const latest = D.latest, th = D.thresholds || {};
    const layers = Object.keys(D.layers).map(Number).sort((a, b) => a - b);
    const cols = (i) => PALETTE[i % PALETTE.length];
    lineChart($("gradnorm-chart"), layers.map((l, i) => ({ color: cols(i), points: D.layers[l].norm, label: "layer " + l })), { logY: true, xLabel: "step" });
    const guide = th.healthy_update_data;
    $("guide-label").textContent = guide ? fmt(guide) + " guide" : "guide";
    lineChart($("ratio-chart"), layers.map((l, i) => ({ color: cols(i), points: D.layers[l].ratio, label: "layer " + l })),
      { logY: true, xLabel: "step", guides: guide ? [{ y: guide, label: fmt(guide) + " (healthy)" }] : [],
        empty: "undefined so far: update:data divides by the weights' std, which is 0" });
    // one card per layer
    if (box.dataset.n !== String(latest.layers.length) || box.dataset.member !== String(D.member)) {
      box.textContent = "";
      for (const r of latest.layers) {
        const card = el("div", { class: "layer", id: "layer-" + r.layer });
        card.innerHTML = `<h3><span>${r.hidden ? "hidden layer " + r.layer : "output layer " + r.layer} · ${r.units} units · ${r.activation}</span><span class="facts"></span></h3>
          <div class="pair"><div><div class="cap">activations now</div><canvas class="a-now"></canvas></div><div><div class="cap">activations over time</div><canvas class="a-time"></canvas></div></div>
          <div class="cap note a-note"></div>
          <div class="pair"><div><div class="cap">gradients log10|dZ| now</div><canvas class="g-now"></canvas></div><div><div class="cap">gradients over time</div><canvas class="g-time"></canvas></div></div>
          <div class="cap note g-note"></div>`;
        box.append(card);
      }
      box.dataset.n = String(latest.layers.length); box.dataset.member = String(D.member);
    }
    for (const r of latest.layers) {
      const card = $("layer-" + r.layer); if (!card) continue;
      const L = D.layers[r.layer];
      const facts = [];
      // red where the diagnostics' own thresholds say so (their rules look at hidden layers)
      if (r.saturated !== null && r.saturated !== undefined) facts.push(`<span class="${r.hidden && r.saturated > (th.saturated_fraction ?? 1) ? "bad" : ""}">saturated ${pct(r.saturated)}</span>`);
      if (r.dead !== null && r.dead !== undefined) facts.push(`<span class="${r.hidden && r.dead > (th.dead_fraction ?? 1) ? "bad" : ""}">dead units ${pct(r.dead)}</span>`);
      if (r.distinct_units !== undefined && r.distinct_units !== null) facts.push(`<span class="${r.distinct_units === 1 && r.units > 1 ? "bad" : ""}">distinct units ${r.distinct_units}/${r.units}</span>`);
      card.querySelector(".facts").innerHTML = facts.join(" · ");
      const ae = D.edges && D.edges["a" + r.layer];
      const out = r.a_hist_outside || [0, 0];
      card.querySelector(".a-note").textContent = `mean ${fmt(r.a_mean, 3)}, std ${fmt(r.a_std, 3)}, exact zeros ${pct(r.a_zero)}` +
        (out[0] + out[1] ? ` · outside the bins: ${out[0]} below, ${out[1]} above` : "");
      if (r.a_hist) bars(card.querySelector(".a-now"), r.a_hist, { left: ae ? fmt(ae[0], 2) : "", right: ae ? fmt(ae[ae.length - 1], 2) : "", color: "#2563eb" });
      const ge = D.edges && D.edges.grad_log10;
      if (r.dZ_hist) bars(card.querySelector(".g-now"), r.dZ_hist.counts, { left: ge ? "1e" + ge[0] : "", right: ge ? "1e" + ge[ge.length - 1] : "", color: "#9333ea" });
      card.querySelector(".g-note").textContent = `‖dW‖ ${fmt(r.dW_norm, 3)} · update:data ${fmt(r.update_data, 3)}` +
        (r.dZ_hist && r.dZ_hist.zeros ? ` · ${r.dZ_hist.zeros} gradients exactly 0` : "");
      for (const [cls, key] of [[".a-time", "aCols"], [".g-time", "gCols"]]) {
        const cv = card.querySelector(cls); cv._from = L.from; cv._to = L.to;
        overTime(cv, L[key]);
      }
    }
  }

  function drawVerdict() {
    const v = S.verdict, R = S.ready, box = $("verdict");
    if (!v) {
      box.dataset.modes = ""; box.dataset.level = "";
      $("verdict-title").textContent = "Verdict";
      $("verdict-text").textContent = "press Start or Step: the diagnostics judge the run from its first step";
      $("verdict-evidence").textContent = "";
      return;
    }
    const modes = new Set(); let worst = "ok";
    const ev = $("verdict-evidence"); ev.textContent = "";
    const titles = [];
    v.forEach((findings, k) => {
      for (const f of findings) {
        modes.add(f.mode);
        if (f.mode !== "healthy") worst = ["diverged", "exploded", "symmetric", "no_learning", "stalled", "exploding"].includes(f.mode) ? "bad" : (worst === "bad" ? "bad" : "warn");
        const li = el("li", {});
        if (R.members.length > 1) li.append(el("span", { class: "member", text: R.members[k].label + ": " }));
        li.append(el("span", { class: "tag", text: f.mode.replace("_", " ") }), " — " + f.message);
        const e = [];
        if (f.layer !== null && f.layer !== undefined) e.push("layer " + f.layer);
        if (f.step !== null && f.step !== undefined) e.push("step " + f.step);
        if (f.figure !== null && f.figure !== undefined) e.push("figure " + fmt(f.figure));
        if (f.threshold !== null && f.threshold !== undefined) e.push("threshold " + fmt(f.threshold));
        if (e.length) li.append(el("span", { class: "dim", text: " (" + e.join(", ") + ")" }));
        ev.append(li);
      }
      if (R.members.length === 1) titles.push(...findings.map((f) => f.mode.replace("_", " ")));
    });
    box.dataset.modes = [...modes].join(" ");
    box.dataset.level = worst;
    $("verdict-title").textContent = R.members.length === 1 ? "Verdict: " + titles.join(", ") : "Verdicts";
    const ref = S.reference;
    const parts = S.verdictParts;  // the two-part verdict's sentence (at initialization, in training)
    $("verdict-text").textContent = R.members.length > 1 && ref !== null && ref !== undefined
      ? "(\"slow\" is judged against " + R.members[ref].label + ", recommended for this activation)"
      : (parts && parts[0] ? parts[0].sentence : "");
  }

  // ------------------------------------------------------------------ start

  fetch("/api/options").then((r) => r.json()).then((opts) => {
    S.options = opts;
    buildControls(opts);
    connect();
    requestAnimationFrame(render);
  }).catch((e) => showError({ message: "cannot load the page's options: " + e }));
})();
