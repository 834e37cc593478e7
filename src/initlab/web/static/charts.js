// Canvas charts: line charts (linear or log y, labelled axes, ticks that stay inside the
// canvas, direct labels), histograms, and histograms over time.  Pure drawing: no statistics.

import { AXIS, DIM, FONT, GRID, INK, ctx2d, fmt } from "./util.js";

// "nice" linear ticks: steps of 1, 2 or 5 times a power of ten
export function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push(Math.abs(t) < 1e-12 * step ? 0 : t);
  return out;
}

// log ticks between 10^lo and 10^hi (lo, hi in log10 units): 1, 2 and 5 in each decade when
// the range spans at most three decades, every decade (or every k-th) beyond that
export function logTicks(lo, hi) {
  const span = hi - lo, out = [];
  if (!(span > 0)) return [Math.pow(10, lo)];
  if (span <= 3.2) {
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
      for (const m of [1, 2, 5]) {
        const v = m * Math.pow(10, d), lv = Math.log10(v);
        if (lv >= lo - 1e-9 && lv <= hi + 1e-9) out.push(v);
      }
    }
    if (out.length >= 2) return out;
    // under a decade between two ticks: fall back to linear ticks inside it
    return niceTicks(Math.pow(10, lo), Math.pow(10, hi), 4).filter((v) => v > 0);
  }
  const every = Math.max(1, Math.ceil(span / 6));
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) if (d % every === 0) out.push(Math.pow(10, d));
  return out;
}

function tickLabel(v, log) {
  if (!log) return fmt(v, 3);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return fmt(v, 3);
  const e = Math.floor(Math.log10(a) + 1e-9), m = Math.round((v / Math.pow(10, e)) * 100) / 100;
  return (m === 1 ? "1" : String(m)) + "e" + e;
}

// series: [{color, dash, width, alpha, points: [[x, y], ...], label, direct, scale}]
//   scale: false  -> drawn, but does not set the axes (the previous run's curve)
//   direct: true  -> its label is written at the end of the line
// opt: {logY, xLabel, yLabel, guides: [{y, label, color}], empty, legend}
export function lineChart(canvas, series, opt = {}) {
  const { c, w, h } = ctx2d(canvas);
  c.font = FONT;
  const ty = (v) => (opt.logY ? (v > 0 ? Math.log10(v) : null) : v);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    if (s.scale === false) continue;
    for (const [x, y] of s.points) {
      const v = y === null ? null : ty(y);
      if (v === null || !Number.isFinite(v)) continue;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (v < y0) y0 = v; if (v > y1) y1 = v;
    }
  }
  const guides = (opt.guides || []).filter((g) => ty(g.y) !== null);
  for (const g of guides) { const v = ty(g.y); y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
  c.fillStyle = DIM;
  if (!Number.isFinite(x0)) {
    const any = series.some((s) => s.points.some((p) => p[1] !== null));
    c.textAlign = "left"; c.textBaseline = "top";
    c.fillText(any && opt.logY ? "every value is 0: nothing to draw on a log scale" : (opt.empty || "no data yet"), 12, 12);
    return null;
  }
  if (x1 === x0) x1 = x0 + 1;
  // a cost is >= 0: a linear axis starts at 0, so a nearly flat curve looks flat; a log axis
  // spans at least one decade for the same reason
  if (opt.zero && !opt.logY && y0 > 0) y0 = 0;
  if (opt.logY && y1 - y0 < 1) { const mid = (y0 + y1) / 2; y0 = mid - 0.5; y1 = mid + 0.5; }
  if (y1 - y0 < 1e-12) { const pad = opt.logY ? 0.5 : Math.max(Math.abs(y0) * 0.05, 1e-3); y0 -= pad; y1 += pad; }
  else { const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad; }
  const yt = opt.logY ? logTicks(y0, y1) : niceTicks(y0, y1, Math.max(2, Math.min(6, Math.floor(h / 45))));
  const labels = yt.map((t) => tickLabel(t, opt.logY));
  const tickW = Math.max(0, ...labels.map((s) => c.measureText(s).width));
  const direct = series.filter((s) => s.direct && s.label);
  const dirW = direct.length ? Math.max(...direct.map((s) => c.measureText(s.label).width)) + 10 : 0;
  const L = (opt.yLabel ? 18 : 4) + tickW + 8, R = Math.max(12, dirW), T = 10, B = opt.xLabel ? 36 : 22;
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (w - L - R);
  const Y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (h - T - B);
  // grid, axes, y ticks
  c.textAlign = "right"; c.textBaseline = "middle";
  yt.forEach((t, i) => {
    const v = opt.logY ? Math.log10(t) : t;
    if (v < y0 || v > y1) return;
    const y = Y(v);
    c.strokeStyle = GRID; c.lineWidth = 1; c.beginPath(); c.moveTo(L, y); c.lineTo(w - R, y); c.stroke();
    c.strokeStyle = AXIS; c.beginPath(); c.moveTo(L - 4, y); c.lineTo(L, y); c.stroke();
    c.fillStyle = DIM; c.fillText(labels[i], L - 6, y);
  });
  c.strokeStyle = AXIS; c.lineWidth = 1;
  c.beginPath(); c.moveTo(L, T); c.lineTo(L, h - B); c.lineTo(w - R, h - B); c.stroke();
  // x ticks: centred, but kept inside the canvas
  c.textBaseline = "top"; c.fillStyle = DIM;
  const xt = niceTicks(x0, x1, Math.max(2, Math.min(6, Math.floor((w - L - R) / 80))));
  let lastRight = -Infinity;
  for (const t of xt) {
    const s = fmt(t, 4), tw = c.measureText(s).width, x = X(t);
    const left = Math.min(Math.max(x - tw / 2, 0), w - tw);
    if (left < lastRight + 6) continue;  // never overlap two labels
    c.beginPath(); c.moveTo(x, h - B); c.lineTo(x, h - B + 4); c.strokeStyle = AXIS; c.stroke();
    c.textAlign = "left"; c.fillText(s, left, h - B + 6);
    lastRight = left + tw;
  }
  if (opt.xLabel) { c.textAlign = "center"; c.fillText(opt.xLabel, L + (w - L - R) / 2, h - 15); }
  if (opt.yLabel) {
    c.save(); c.translate(12, T + (h - T - B) / 2); c.rotate(-Math.PI / 2);
    c.textAlign = "center"; c.textBaseline = "middle"; c.fillText(opt.yLabel, 0, 0); c.restore();
  }
  // everything else stays inside the plot area (a curve off the scale is cut, not drawn over)
  c.save(); c.beginPath(); c.rect(L, T - 1, w - L - R, h - T - B + 2); c.clip();
  for (const g of guides) {
    const y = Y(ty(g.y));
    c.save(); c.setLineDash([5, 4]); c.strokeStyle = g.color || INK; c.lineWidth = 1.5;
    c.beginPath(); c.moveTo(L, y); c.lineTo(w - R, y); c.stroke(); c.restore();
    c.fillStyle = g.color || INK; c.textAlign = "left"; c.textBaseline = "bottom";
    c.fillText(g.label, L + 4, y - 2);
  }
  const ends = [];
  for (const s of series) {
    c.save();
    c.strokeStyle = s.color; c.lineWidth = s.width || 2; c.globalAlpha = s.alpha || 1;
    c.setLineDash(s.dash || []);
    c.beginPath();
    let pen = false, end = null;
    for (const [x, y] of s.points) {
      const v = y === null ? null : ty(y);
      if (v === null || !Number.isFinite(v)) { pen = false; continue; }
      const px = X(x), py = Y(v);
      if (pen) c.lineTo(px, py); else { c.moveTo(px, py); pen = true; }
      end = [px, py];
    }
    c.stroke(); c.restore();
    if (s.direct && s.label && end) ends.push({ s, y: Math.min(Math.max(end[1], T + 6), h - B - 6) });
  }
  c.restore();
  // direct labels at the right end, nudged apart
  ends.sort((a, b) => a.y - b.y);
  for (let i = 1; i < ends.length; i++) if (ends[i].y - ends[i - 1].y < 13) ends[i].y = ends[i - 1].y + 13;
  c.textAlign = "left"; c.textBaseline = "middle";
  for (const e of ends) { c.fillStyle = e.s.color; c.fillText(e.s.label, w - R + 5, e.y); }
  // legend box (top right) for labelled series that are not labelled directly
  const named = series.filter((s) => s.label && !s.direct && opt.legend !== false);
  let ly = T + 8;
  for (const s of named) {
    const tw = c.measureText(s.label).width, lx = w - R - tw - 30;
    c.fillStyle = "rgba(255,255,255,.9)"; c.fillRect(lx - 4, ly - 8, tw + 34, 16);
    c.save(); c.strokeStyle = s.color; c.lineWidth = 2; c.setLineDash(s.dash || []);
    c.beginPath(); c.moveTo(lx, ly); c.lineTo(lx + 22, ly); c.stroke(); c.restore();
    c.fillStyle = INK; c.fillText(s.label, lx + 26, ly);
    ly += 16;
  }
  return { x0, x1, y0, y1, plot: { L, T, R: w - R, B: h - B } };
}

// a histogram: counts in equal bins, with the bins' range written under it
export function bars(canvas, counts, opt = {}) {
  const { c, w, h } = ctx2d(canvas);
  const n = counts.length, B = 16;
  const max = Math.max(1, ...counts);
  c.fillStyle = opt.color || "#0072B2";
  for (let i = 0; i < n; i++) {
    const bh = (counts[i] / max) * (h - B - 4);
    c.fillRect((i / n) * w + 0.5, h - B - bh, Math.max(1, w / n - 1), bh);
  }
  c.strokeStyle = AXIS; c.beginPath(); c.moveTo(0, h - B + 0.5); c.lineTo(w, h - B + 0.5); c.stroke();
  c.fillStyle = DIM; c.font = FONT; c.textBaseline = "top";
  if (opt.left !== undefined) { c.textAlign = "left"; c.fillText(opt.left, 0, h - B + 3); }
  if (opt.right !== undefined) { c.textAlign = "right"; c.fillText(opt.right, w, h - B + 3); }
}

// colour map for histograms over time: white -> sky blue -> blue -> purple -> vermillion ->
// yellow, as a table of 256 packed RGBA pixels (no allocation while drawing)
const STOPS = [[255, 255, 255], [86, 180, 233], [0, 114, 178], [204, 121, 167], [213, 94, 0], [240, 228, 66]];
const HEAT = new Uint32Array(256);
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
for (let q = 0; q < 256; q++) {
  const t = (q / 255) * (STOPS.length - 1), i = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i;
  const [r, g, b] = STOPS[i].map((a, j) => Math.round(a + f * (STOPS[i + 1][j] - a)));
  HEAT[q] = LITTLE ? (255 << 24) | (b << 16) | (g << 8) | r : (r << 24) | (g << 16) | (b << 8) | 255;
}

// histograms over time, one column per recorded step.  columns: [{counts, range: [lo, hi]}]
// (range null: the bins are the same for every column).  When the ranges differ, the y axis
// spans all of them and each column's bins sit where their values are, so a spread that
// shrinks shows as a band that narrows.
export function overTime(canvas, columns, opt = {}) {
  const { c, w, h } = ctx2d(canvas);
  if (!columns.length) return;
  const B = 16, H = Math.max(8, Math.round(h - B)), W = Math.max(1, Math.round(w));
  const nc = columns.length, nb = columns[0].counts.length;
  let lo = Infinity, hi = -Infinity;
  for (const col of columns) if (col.range) { lo = Math.min(lo, col.range[0]); hi = Math.max(hi, col.range[1]); }
  const shared = !Number.isFinite(lo) || !(hi > lo);
  const img = c.createImageData(W, H), px = new Uint32Array(img.data.buffer);
  px.fill(HEAT[0]);
  for (let j = 0; j < nc; j++) {
    const col = columns[j].counts, range = columns[j].range;
    let m = 1;
    for (let i = 0; i < nb; i++) if (col[i] > m) m = col[i];
    const a = shared || !range ? 0 : (range[0] - lo) / (hi - lo), b = shared || !range ? 1 : (range[1] - lo) / (hi - lo);
    const xa = Math.floor((j / nc) * W), xb = Math.min(W, Math.max(xa + 1, Math.floor(((j + 1) / nc) * W)));
    for (let i = 0; i < nb; i++) {
      if (!col[i]) continue;
      const colour = HEAT[Math.round(Math.sqrt(col[i] / m) * 255)];
      // bin i covers [a + (b - a) i / nb, a + (b - a) (i + 1) / nb] of the axis (0 = bottom)
      const top = Math.max(0, Math.floor(H * (1 - (a + ((b - a) * (i + 1)) / nb))));
      const bot = Math.min(H, Math.max(top + 1, Math.ceil(H * (1 - (a + ((b - a) * i) / nb)))));
      for (let y = top; y < bot; y++) px.fill(colour, y * W + xa, y * W + xb);
    }
  }
  // putImageData ignores the transform: draw through an offscreen canvas
  const off = overTime.off || (overTime.off = document.createElement("canvas"));
  off.width = W; off.height = H; off.getContext("2d").putImageData(img, 0, 0);
  c.imageSmoothingEnabled = false; c.drawImage(off, 0, 0, w, H);
  c.strokeStyle = AXIS; c.beginPath(); c.moveTo(0, H + 0.5); c.lineTo(w, H + 0.5); c.stroke();
  c.fillStyle = DIM; c.font = FONT; c.textBaseline = "top";
  c.textAlign = "left"; c.fillText(opt.from ?? "", 0, H + 3);
  c.textAlign = "right"; c.fillText(opt.to ?? "", w, H + 3);
  return shared ? null : [lo, hi];
}
