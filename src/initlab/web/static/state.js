// The page's state in its address (so a link reopens the same run), and the one-click presets.
// Keys are RunConfig field names, plus the page's own `compare`, `speed` and `log`.

const FIELDS = ["dataset", "noise", "n_samples", "hidden", "activation", "init", "optimizer",
  "lr", "batch_size", "seed", "steps"];

// {config, compare, speed, log} -> "#dataset=circles&hidden=16-16&..."
export function encodeState(st) {
  const q = new URLSearchParams();
  for (const k of FIELDS) {
    const v = st.config[k];
    if (v === null || v === undefined || v === "") continue;
    q.set(k, k === "hidden" ? (v.length ? v.join("-") : "none") : String(v));
  }
  if (st.compare) q.set("compare", st.compare.join(","));
  if (st.speed) q.set("speed", String(st.speed));
  if (st.log) q.set("log", "1");
  return "#" + q.toString();
}

// the inverse: values stay text (the controls and then the server check them, and a bad one
// is named in the error box like any other)
export function decodeState(hash) {
  const q = new URLSearchParams((hash || "").replace(/^#/, ""));
  const config = {};
  for (const k of FIELDS) {
    if (!q.has(k)) continue;
    const v = q.get(k);
    config[k] = k === "hidden" ? (v === "none" || v === "" ? [] : v.split("-")) : v;
  }
  const out = { config };
  if (q.has("compare")) out.compare = q.get("compare").split(",").filter(Boolean);
  if (q.has("speed")) out.speed = q.get("speed");
  if (q.has("log")) out.log = q.get("log") === "1";
  return out;
}

// ------------------------------------------------------------------ presets

// The source document's four cases, on a network and optimizer where each shows within
// seconds: plain gradient descent (no per-parameter rescaling to hide a bad scale), four hidden
// layers of 16 (deep enough for a bad scale to compound), the activation the learner picked.
export const PRESET_NET = { dataset: "circles", hidden: [16, 16, 16, 16], optimizer: "gd", lr: 0.3, steps: 1000 };
export const PRESET_SPEED = "5";

export const PRESETS = {
  zeros: {
    label: "zero",
    init: () => "zeros",
    look: "Look for: the cost stays at ln 2 = 0.693 and the boundary is one flat colour. Every unit computes the same thing (symmetric), so the network cannot learn.",
  },
  small: {
    label: "too small",
    init: () => "small",
    look: "Look for: the cost stays flat near 0.693 for hundreds of steps. In the layer cards the spread of Z shrinks layer after layer and the gradients reaching the first layers are tiny (vanishing).",
  },
  appropriate: {
    label: "appropriate",
    init: (rec) => rec || "xavier_normal",
    look: "Look for: the cost falls steeply within the first couple of hundred steps and the boundary wraps the inner circle.",
  },
  large: {
    label: "too large",
    init: () => "large",
    look: "Look for: the cost starts far above 0.693 (confident, wrong outputs) and falls slowly or gets stuck; units saturate (tanh, sigmoid) or die (ReLU).",
  },
  all: {
    label: "compare all four",
    compare: (rec) => ["zeros", "small", rec || "xavier_normal", "large"],
    look: "Look for: one network per case, same data and seed. Only the appropriate scale brings the cost down (log scale); zero and too small stay flat, too large starts high.",
  },
};
