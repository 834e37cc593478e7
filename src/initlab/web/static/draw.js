// The pictures that are not line charts: decision boundaries, the network diagram, and the
// layer-by-layer cards.  They draw what the server sent; no statistic is computed here.

import { bars, overTime } from "./charts.js";
import { AXIS, CLASS_RGB, DIM, FONT, INK, bytes, ctx2d, el, f32, fmt, pct, plural, setText } from "./util.js";

// ------------------------------------------------------------------ decision boundary

export function drawBoundary(canvas, b, k, grid, points, small) {
  const { c, w, h } = ctx2d(canvas);
  if (b && b.members[k]) {
    const G = b.steps, nOut = b.outputs, p = bytes(b.members[k]);
    const img = new ImageData(G, G);
    for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) {
      const idx = i * G + j; let r = 0, gg = 0, bb = 0;
      if (nOut === 1) {
        const t = p[idx] / 255;  // p(class 1): class-0 colour -> white -> class-1 colour
        const [a, z] = t < 0.5 ? [CLASS_RGB[0], [255, 255, 255]] : [[255, 255, 255], CLASS_RGB[1]];
        const u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
        r = a[0] + u * (z[0] - a[0]); gg = a[1] + u * (z[1] - a[1]); bb = a[2] + u * (z[2] - a[2]);
      } else {
        for (let cc = 0; cc < nOut; cc++) {
          const w8 = p[cc * G * G + idx] / 255, col = CLASS_RGB[cc % CLASS_RGB.length];
          r += w8 * col[0]; gg += w8 * col[1]; bb += w8 * col[2];
        }
      }
      const q = ((G - 1 - i) * G + j) * 4;  // row 0 of the grid is the lowest y
      img.data[q] = 0.45 * r + 0.55 * 255; img.data[q + 1] = 0.45 * gg + 0.55 * 255;
      img.data[q + 2] = 0.45 * bb + 0.55 * 255; img.data[q + 3] = 255;
    }
    const off = drawBoundary.off || (drawBoundary.off = document.createElement("canvas"));
    off.width = G; off.height = G;
    off.getContext("2d").putImageData(img, 0, 0);
    c.imageSmoothingEnabled = true;
    c.drawImage(off, 0, 0, w, h);
  }
  if (points.train.y.length || points.test.y.length) c.drawImage(pointLayer(canvas, grid, points, small, w, h), 0, 0, w, h);
}

// the data points drawn once per data set and canvas size (they do not move while training)
function pointLayer(canvas, grid, points, small, w, h) {
  const dpr = window.devicePixelRatio || 1;
  const key = [w, h, dpr, small].join(":");
  if (canvas._points && canvas._points.key === key && canvas._points.data === points) return canvas._points.layer;
  const layer = document.createElement("canvas");
  layer.width = Math.round(w * dpr); layer.height = Math.round(h * dpr);
  const c = layer.getContext("2d");
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  const X = (x) => ((x - grid.x[0]) / (grid.x[1] - grid.x[0])) * w;
  const Y = (y) => h - ((y - grid.y[0]) / (grid.y[1] - grid.y[0])) * h;
  const rad = small ? 1.8 : 3;
  for (const split of ["train", "test"]) {
    const P = points[split];
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
  canvas._points = { key, data: points, layer };
  return layer;
}

// ------------------------------------------------------------------ network diagram

// Line width and opacity on an absolute scale (the same |w| looks the same in every run):
// width = 0.3 + 3 sqrt(|w|) px, capped at 7 px (|w| >= 5.4)
export function linkWidth(v) { return Math.min(7, 0.3 + 3 * Math.sqrt(Math.abs(v))); }
function linkAlpha(v) { return Math.min(1, 0.15 + 0.85 * Math.sqrt(Math.abs(v))); }

export function drawNetwork(canvas, dg, net, useGrad, note) {
  const { c, w, h } = ctx2d(canvas);
  if (!dg) return null;
  const sizes = net.sizes, shown = net.shown, L = sizes.length;
  const mats = useGrad ? dg.grads : dg.weights;
  c.font = FONT;
  if (!mats) { c.fillStyle = DIM; c.fillText("no gradient yet: press Step or Start", 12, 20); setText(note, ""); return null; }
  const W = mats.map(f32);
  let max = 0;
  for (const a of W) for (const v of a) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  // weights on the absolute scale; gradients (far smaller) relative to the largest shown
  const scale = useGrad ? (max > 0 ? 1 / max : 0) : 1;
  const keyW = 150;
  const colX = (l) => 40 + (l / (L - 1)) * (w - 80 - (useGrad ? 0 : keyW));
  const nodeY = (l, i) => { const n = shown[l]; const gap = Math.min(24, (h - 60) / Math.max(1, n)); return h / 2 + 4 + (i - (n - 1) / 2) * gap; };
  for (let l = 0; l < L - 1; l++) {
    const a = W[l], nin = shown[l], nout = shown[l + 1];
    for (let i = 0; i < nin; i++) for (let j = 0; j < nout; j++) {
      const v = a[i * nout + j];
      if (!Number.isFinite(v)) { c.strokeStyle = "#b91c1c"; c.lineWidth = 2; c.globalAlpha = 1; }
      else if (v === 0) { c.strokeStyle = "#c0c4ca"; c.lineWidth = 0.5; c.globalAlpha = 1; }
      else {
        const s = v * scale;
        c.strokeStyle = v > 0 ? "#0072B2" : "#D55E00";
        c.lineWidth = linkWidth(s); c.globalAlpha = linkAlpha(s);
      }
      c.beginPath(); c.moveTo(colX(l), nodeY(l, i)); c.lineTo(colX(l + 1), nodeY(l + 1, j)); c.stroke();
    }
  }
  c.globalAlpha = 1;
  const B = dg.biases.map(f32);
  c.textAlign = "center";
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < shown[l]; i++) {
      c.beginPath(); c.arc(colX(l), nodeY(l, i), 6, 0, 2 * Math.PI);
      c.fillStyle = "#fff"; c.fill();
      const bv = l > 0 ? B[l - 1][i] : 0;
      c.strokeStyle = l === 0 ? AXIS : (bv > 0 ? "#0072B2" : bv < 0 ? "#D55E00" : AXIS);
      c.lineWidth = 1.5; c.stroke();
    }
    c.fillStyle = DIM;
    const label = l === 0 ? "input" : l === L - 1 ? "output" : "L" + l;
    c.fillText(label + " (" + sizes[l] + ")", colX(l), 12);
    if (sizes[l] > shown[l]) c.fillText("+" + (sizes[l] - shown[l]) + " more", colX(l), h - 6);
    if (l > 0) c.fillText(net.activations[l - 1], colX(l), 26);
  }
  if (!useGrad) {  // the scale's key: what a line of |w| = 0.01, 0.1, 1, 10 looks like
    let y = 60; const x = w - keyW + 24;
    c.textAlign = "left"; c.textBaseline = "middle"; c.fillStyle = INK;
    c.fillText("|w| =", x, y - 14);
    for (const v of [0.01, 0.1, 1, 10]) {
      c.strokeStyle = "#0072B2"; c.lineWidth = linkWidth(v); c.globalAlpha = linkAlpha(v);
      c.beginPath(); c.moveTo(x, y); c.lineTo(x + 50, y); c.stroke(); c.globalAlpha = 1;
      c.fillStyle = INK; c.fillText(String(v), x + 58, y); y += 18;
    }
  }
  const what = useGrad ? "gradient dW (step " + dg.grad_step + ")" : "weight";
  setText(note, max > 0
    ? (useGrad ? `Line width is |${what}| relative to the largest shown, max |dW| = ${fmt(max, 3)}.`
      : `Line width is |w| on a fixed scale (key at the right): max |w| = ${fmt(max, 3)}.`) + " Units whose links look alike compute the same thing."
    : `Every ${what} shown is 0: no signal can tell the units apart.`);
  return max;
}

// ------------------------------------------------------------------ layer cards

function card(r) {
  const title = r.hidden ? `L${r.layer} · hidden layer` : `output layer`;
  const c = el("div", { class: "layer", id: "layer-" + r.layer });
  const head = el("h3", {}, el("span", { class: "title", text: `${title} · ${plural(r.units, "unit")} · ${r.activation}` }), el("span", { class: "facts" }));
  const pair = (cls, now, time) => el("div", { class: "pair" },
    el("div", {}, el("div", { class: "cap " + cls + "-cap-now", text: now }), el("canvas", { class: cls + "-now", role: "img", "aria-label": now })),
    el("div", {}, el("div", { class: "cap " + cls + "-cap-time", text: time }), el("canvas", { class: cls + "-time", role: "img", "aria-label": time })));
  c.append(head,
    pair("z", "pre-activations Z now", "Z over time"), el("div", { class: "cap note z-note" }),
    pair("g", "gradients log10|dZ| now", "log10|dZ| over time"), el("div", { class: "cap note g-note" }),
    el("div", { class: "cap note flag-note" }));
  return c;
}

// flags the card shows in red (the diagnostics' own thresholds; their rules look at hidden
// layers), each with the verdict mode that reports it
function flags(r, th) {
  const out = [];
  if (r.saturated !== null && r.saturated !== undefined) out.push({ text: "saturated " + pct(r.saturated), bad: r.hidden && r.saturated > (th.saturated_fraction ?? 1), mode: "saturated" });
  if (r.dead !== null && r.dead !== undefined) out.push({ text: "dead units " + pct(r.dead), bad: r.hidden && r.dead > (th.dead_fraction ?? 1), mode: "dead_relu" });
  if (r.distinct_units !== undefined && r.distinct_units !== null) out.push({ text: `distinct units ${r.distinct_units}/${r.units}`, bad: r.distinct_units === 1 && r.units > 1, mode: "symmetric" });
  return out;
}

const range = (r) => (r ? `${fmt(r[0], 2)} … ${fmt(r[1], 2)}` : "");

// D: one member's history {latest, layers: {l: {zCols, gCols, from, to}}, edges, thresholds}
// modes: the set of modes in this member's verdict (a red flag it lacks gets a note)
export function drawLayers(box, D, modes) {
  const latest = D.latest, th = D.thresholds || {};
  if (box.dataset.n !== String(latest.layers.length) || box.dataset.member !== String(D.member)) {
    box.textContent = "";
    for (const r of latest.layers) box.append(card(r));
    box.dataset.n = String(latest.layers.length); box.dataset.member = String(D.member);
  }
  const ge = D.edges && D.edges.grad_log10;
  const nodes = latest.layers.map((r) => [r, box.querySelector("#layer-" + r.layer), D.layers[r.layer]]).filter((x) => x[1] && x[2]);
  // the canvases first, then the texts: reading a canvas's size after a text changed would
  // lay the page out again for every canvas
  const spans = nodes.map(([r, node, H]) => {
    const zr = r.z_range;
    if (r.z_hist) bars(node.querySelector(".z-now"), r.z_hist, { left: zr ? fmt(zr[0], 2) : "", right: zr ? fmt(zr[1], 2) : "", color: "#0072B2" });
    const span = overTime(node.querySelector(".z-time"), H.zCols, { from: "step " + H.from, to: "step " + H.to });
    if (r.dZ_hist) bars(node.querySelector(".g-now"), r.dZ_hist.counts, { left: ge ? "1e" + ge[0] : "", right: ge ? "1e" + ge[ge.length - 1] : "", color: "#CC79A7" });
    overTime(node.querySelector(".g-time"), H.gCols, { from: "step " + H.from, to: "step " + H.to });
    return span;
  });
  nodes.forEach(([r, node], i) => {
    const fl = flags(r, th);
    const facts = fl.map((f) => `<span class="${f.bad ? "bad" : ""}">${f.text}</span>`).join(" · ");
    const fn = node.querySelector(".facts");
    if (fn._html !== facts) { fn.innerHTML = facts; fn._html = facts; }
    const unexplained = fl.filter((f) => f.bad && modes && !modes.has(f.mode));
    setText(node.querySelector(".flag-note"), unexplained.length
      ? unexplained.map((f) => `${f.text.split(" ")[0]} now, but not in the verdict: its rule judges ${f.mode === "saturated" ? "the start (step 0)" : "the start and the latest record"}`).join("; ")
      : "");
    const zr = r.z_range;
    setText(node.querySelector(".z-cap-now"), "pre-activations Z now" + (zr ? ": " + range(zr) : ""));
    setText(node.querySelector(".z-note"), `activations A = g(Z): mean ${fmt(r.a_mean, 3)}, std ${fmt(r.a_std, 3)}, exact zeros ${pct(r.a_zero)}`);
    setText(node.querySelector(".z-cap-time"), "Z over time" + (spans[i] ? ": " + range(spans[i]) : ""));
    setText(node.querySelector(".g-note"), `‖dW‖ ${fmt(r.dW_norm, 3)} · update:data ${fmt(r.update_data, 3)}` +
      (r.dZ_hist && r.dZ_hist.zeros ? ` · ${r.dZ_hist.zeros} gradients exactly 0` : ""));
  });
}
