// The form: controls filled from /api/options, read into a `config` request, and set from a
// link or a preset.  Values go to the server as typed: the server's RunConfig checks them.

import { $, el, option } from "./util.js";

export function buildControls(S, schedule) {
  const opts = S.options, d = opts.defaults;
  const ds = $("dataset");
  for (const x of opts.datasets) ds.append(option(x.name));
  ds.value = d.dataset;
  fillDatasetDefaults(S);
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
  buildSchemeParams(S, schedule);
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
  buildUnits(S, schedule);
  const cl = $("compare-list");
  for (const s of opts.schemes) {
    const cb = el("input", { type: "checkbox", value: s.name });
    cb.checked = opts.compare_default.includes(s.name);
    cb.addEventListener("change", schedule);
    cl.append(el("label", { title: s.summary }, cb, s.name));
  }
  updateActParam(S); describeScheme(S);

  $("dataset").addEventListener("change", () => { fillDatasetDefaults(S); schedule(); });
  for (const id of ["noise", "points", "lr", "batch", "seed", "steps", "act-param"]) $(id).addEventListener("input", schedule);
  for (const id of ["optimizer", "compare-on"]) $(id).addEventListener("change", schedule);
  $("activation").addEventListener("change", () => { updateActParam(S); schedule(); });
  $("init").addEventListener("change", () => { buildSchemeParams(S, schedule); describeScheme(S); schedule(); });
  $("layers-minus").addEventListener("click", () => setLayers(S, S.layers - 1, schedule));
  $("layers-plus").addEventListener("click", () => setLayers(S, S.layers + 1, schedule));
  S.schedule = schedule;
}

function fillDatasetDefaults(S) {
  const x = S.options.datasets.find((d) => d.name === $("dataset").value);
  if (!x) return;
  $("noise").value = x.defaults.noise ?? 0;
  $("points").value = x.defaults.n_samples ?? "";
  $("dataset-summary").textContent = x.summary;
}

function setLayers(S, n, schedule) {
  const max = S.options.limits.hidden_layers;
  n = Math.max(0, Math.min(max, n));
  while (S.units.length < n) S.units.push(S.units.length ? S.units[S.units.length - 1] : 8);
  S.layers = n;
  buildUnits(S, schedule);
  schedule();
}

function buildUnits(S, schedule) {
  $("layers").textContent = S.layers;
  const box = $("units"); box.textContent = "";
  if (S.layers === 0) { box.append(el("span", { class: "hint", text: "no hidden layer: logistic regression" })); return; }
  for (let i = 0; i < S.layers; i++) {
    const inp = el("input", { inputmode: "numeric", id: "units-" + i, "aria-label": "units in layer L" + (i + 1) });
    inp.value = S.units[i];
    inp.addEventListener("input", () => { S.units[i] = inp.value; schedule(); });
    box.append(el("label", {}, "L" + (i + 1), inp));
  }
}
export function syncLayers(S) { buildUnits(S, S.schedule); }

function updateActParam(S) {
  const a = S.options.activations.find((x) => x.name === $("activation").value);
  const has = a && a.param !== null && a.param !== undefined;
  $("act-param-box").hidden = !has;
  if (has) {
    $("act-param-name").textContent = a.name === "elu" ? "alpha" : "slope";
    $("act-param").value = a.param;
  }
}

const scheme = (S, name) => S.options.schemes.find((s) => s.name === name);

function buildSchemeParams(S, schedule) {
  const s = scheme(S, $("init").value); const box = $("init-params"); box.textContent = "";
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

export function describeScheme(S) {
  const s = scheme(S, $("init").value);
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

export function readRequest(S) {
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
    // in the order a link or a preset gave, then the others as listed
    const order = S.compareOrder || [];
    const rank = (n) => (order.includes(n) ? order.indexOf(n) : order.length);
    compare = [...$("compare-list").querySelectorAll("input:checked")].map((x) => x.value);
    compare = compare.map((n, i) => [rank(n), i, n]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
  }
  $("init").disabled = compare !== null;
  return { type: "config", config, compare };
}

// a select shows a value it does not offer as an extra option, so the server can name it
function choose(id, value) {
  const s = $(id);
  if (![...s.options].some((o) => o.value === value)) s.append(option(value, value + " (?)"));
  s.value = value;
}

// Set the controls from plain fields (a link or a preset); a field left out or null keeps its
// control as it is, `compare: null` turns compare mode off.
export function setControls(S, f) {
  if (f.dataset != null) { choose("dataset", String(f.dataset)); fillDatasetDefaults(S); }
  if (f.noise != null) $("noise").value = f.noise;
  if (f.n_samples != null) $("points").value = f.n_samples;
  if (f.hidden != null) { S.units = f.hidden.map(String); S.layers = S.units.length; buildUnits(S, S.schedule); }
  if (f.activation != null) {
    const [name, param] = String(f.activation).split(":");
    choose("activation", name); updateActParam(S);
    if (param !== undefined) $("act-param").value = param;
  }
  if (f.init != null) {
    const [name, rest] = String(f.init).split(/:(.*)/s);
    choose("init", name); buildSchemeParams(S, S.schedule); describeScheme(S);
    for (const kv of (rest || "").split(",").filter(Boolean)) {
      const [k, v] = kv.split("=");
      const inp = $("init-params").querySelector(`[data-param="${k}"]`);
      if (inp && inp.type === "checkbox") inp.checked = v === "true";
      else if (inp) inp.value = v;
    }
  }
  if (f.optimizer != null) choose("optimizer", String(f.optimizer));
  if (f.lr != null) $("lr").value = f.lr;
  if (f.batch_size != null) $("batch").value = f.batch_size;
  if (f.seed != null) $("seed").value = f.seed;
  if (f.steps != null) $("steps").value = f.steps;
  if ("compare" in f) {
    $("compare-on").checked = Array.isArray(f.compare);
    if (Array.isArray(f.compare)) {
      S.compareOrder = f.compare.slice();
      for (const cb of $("compare-list").querySelectorAll("input")) cb.checked = f.compare.includes(cb.value);
      for (const name of f.compare) {  // one the list lacks is kept, for the server to name it
        if (![...$("compare-list").querySelectorAll("input")].some((cb) => cb.value === name)) {
          const cb = el("input", { type: "checkbox", value: name }); cb.checked = true;
          $("compare-list").append(el("label", {}, cb, name + " (?)"));
        }
      }
    }
  }
}
