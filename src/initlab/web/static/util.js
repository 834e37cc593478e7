// Small helpers shared by the page's modules: DOM, number formatting, base64 arrays, canvas
// sizing, and the colours (one table, so a test can check their contrast).

export const $ = (id) => document.getElementById(id);

// Okabe & Ito's colour-blind-safe palette, in their order, with orange, sky blue and yellow
// darkened so that every colour keeps a contrast of at least 3:1 against the white panels.
// Curves also differ by dash pattern and carry direct labels: colour is never the only cue.
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#B07800", "#000000",
  "#3C7FB0", "#8C6D00"];
export const DASHES = [[], [7, 3], [2, 3], [9, 3, 2, 3], [4, 4], [1, 2], [12, 4], [6, 2, 1, 2]];
// classes of the decision boundary: vermillion, blue, bluish green, then the rest
export const CLASS_RGB = [[213, 94, 0], [0, 114, 178], [0, 158, 115], [204, 121, 167],
  [176, 120, 0], [0, 0, 0], [60, 127, 176], [140, 109, 0], [120, 120, 120], [86, 60, 140]];
export const INK = "#1f2328";      // text and the current run's curve (15.8:1)
export const DIM = "#5f6670";      // secondary text (5.9:1)
export const AXIS = "#767676";     // axis lines and ticks (4.5:1)
export const GHOST = "#8a8f98";    // the previous run's curve (3.25:1)
export const GRID = "#eceef1";     // grid lines (decoration only)
export const COLORS = { PALETTE, INK, DIM, AXIS, GHOST, CLASS: CLASS_RGB.slice(0, 3).map((c) => rgbHex(c)) };

export function rgbHex(c) { return "#" + c.map((v) => v.toString(16).padStart(2, "0")).join(""); }

export function fmt(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(Math.max(0, Math.min(digits - 2, 2)));
  return Number(v.toPrecision(digits)).toString();
}
export function pct(v) { return v === null || v === undefined ? "—" : (100 * v).toFixed(1) + "%"; }
export function plural(n, one, many) { return n + " " + (n === 1 ? one : (many || one + "s")); }

export function bytes(b64) {
  const s = atob(b64); const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
export function f32(b64) { return new Float32Array(bytes(b64).buffer); }

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}
export function option(value, text) { const o = el("option", { value }); o.textContent = text ?? value; return o; }

export function setVal(id, v, text) {
  const e = $(id);
  e.dataset.value = v === null || v === undefined ? "" : String(v);
  e.textContent = text !== undefined ? text : fmt(v);
}
// set a text only when it changed (no layout work for an unchanged number)
export function setText(node, text) { if (node && node.textContent !== text) node.textContent = text; }

// canvas sized to its box and the screen's pixel ratio; returns a cleared 2-D context
export function ctx2d(canvas) {
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

export const FONT = "12px system-ui, sans-serif";
