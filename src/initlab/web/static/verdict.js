// The verdict: the plain sentence first, then what was found "at the start" (step 0) and "in
// training", for each member.  The findings are the diagnostics' own; this only lays them out.

import { $, el, fmt, setText } from "./util.js";

const BAD = ["diverged", "symmetric", "no_learning", "exploding", "exploded", "stalled"];

// One member's verdict in the two-part shape.  The verdicts issue's two-part verdict
// (initlab.diagnostics' Verdict.to_dict(): {sentence, status, at_init: {findings, figures},
// in_training: {findings, outcome: {phrase}, notes}}) is read from the frame where the server
// puts it, next to the findings; until a server sends it, the findings are split by the step
// of their evidence (step 0: at the start) and the first finding's message leads.
const TWO_PART_KEYS = ["verdicts", "verdict_parts", "judgement", "verdict_summary"];

function twoPart(frame, k) {
  const own = frame.verdict && frame.verdict[k];
  if (own && !Array.isArray(own) && typeof own === "object" && own.sentence) return own;
  for (const key of TWO_PART_KEYS) {
    const v = frame[key];
    const x = Array.isArray(v) ? v[k] : v && typeof v === "object" ? v[k] ?? v[String(k)] : null;
    if (x && typeof x === "object" && x.sentence) return x;
  }
  if (Array.isArray(frame.sentence) && typeof frame.sentence[k] === "string") {
    return { sentence: frame.sentence[k], at_init: frame.at_init && frame.at_init[k], in_training: frame.in_training && frame.in_training[k] };
  }
  return null;
}

const list = (part) => (Array.isArray(part) ? part : part && Array.isArray(part.findings) ? part.findings : null);

export function parts(frame, k) {
  const v = frame.verdict && frame.verdict[k];
  const two = twoPart(frame, k);
  const findings = Array.isArray(v) ? v : two && Array.isArray(two.findings) ? two.findings : [];
  let atInit = two && list(two.at_init), inTraining = two && list(two.in_training);
  if (!atInit || !inTraining) {
    atInit = findings.filter((f) => f.step === 0);
    inTraining = findings.filter((f) => f.step !== 0);
  }
  const extraInit = [], extraTraining = [];
  const fig = two && two.at_init && two.at_init.figures;
  if (fig && (fig.backward_factor != null || fig.forward_factor != null)) {
    extraInit.push(`per layer at the start: gradient |dZ| ×${fmt(fig.backward_factor, 3)} toward the input, activations ×${fmt(fig.forward_factor, 3)} (well-scaled: ×1)` +
      (fig.predicted_backward_factor != null ? `; the mean-field prediction is ×${fmt(fig.predicted_backward_factor, 3)}` : ""));
  }
  const tr = two && two.in_training;
  if (tr && tr.outcome && tr.outcome.phrase) extraTraining.push(tr.outcome.phrase);
  if (tr && Array.isArray(tr.notes)) extraTraining.push(...tr.notes.map((n) => "note: " + n));
  const modes = new Set(findings.map((f) => f.mode));
  for (const f of [...atInit, ...inTraining]) modes.add(f.mode);
  return {
    sentence: (two && two.sentence) || (findings.length ? findings[0].message : ""),
    atInit: [...extraInit, ...atInit], inTraining: [...extraTraining, ...inTraining], findings, modes,
  };
}

function item(f, label) {
  const li = el("li", {});
  if (label) li.append(el("span", { class: "member", text: label + ": " }));
  if (typeof f === "string") { li.append(f); return li; }
  li.append(el("span", { class: "tag", text: String(f.mode || "").replace("_", " ") }), " — " + f.message);
  const e = [];
  if (f.layer !== null && f.layer !== undefined) e.push("L" + f.layer);
  if (f.step !== null && f.step !== undefined) e.push("step " + f.step);
  if (f.figure !== null && f.figure !== undefined) e.push("figure " + fmt(f.figure));
  if (f.threshold !== null && f.threshold !== undefined) e.push("threshold " + fmt(f.threshold));
  if (e.length) li.append(el("span", { class: "dim", text: " (" + e.join(", ") + ")" }));
  return li;
}

function level(modes) {
  if ([...modes].some((m) => BAD.includes(m))) return "bad";
  return [...modes].some((m) => m !== "healthy") ? "warn" : "ok";
}

// draw the verdict of every member; returns the modes of each (for the layer cards)
export function drawVerdict(frame, ready) {
  const box = $("verdict"), ev = $("verdict-evidence");
  if (!frame || !frame.verdict) {
    box.dataset.modes = ""; box.dataset.level = "";
    setText($("verdict-title"), "Verdict");
    setText($("verdict-text"), "press Start or Step: the diagnostics judge the run from its first step");
    ev.textContent = "";
    return null;
  }
  const many = ready.members.length > 1;
  const all = frame.verdict.map((_, k) => parts(frame, k));
  const modes = new Set(all.flatMap((p) => [...p.modes]));
  box.dataset.modes = [...modes].join(" ");
  box.dataset.level = level(modes);
  ev.textContent = "";
  if (!many) {
    const p = all[0];
    setText($("verdict-title"), "Verdict: " + [...p.modes].map((m) => m.replace("_", " ")).join(", "));
    setText($("verdict-text"), p.sentence);
    for (const [title, list] of [["At the start (step 0)", p.atInit], ["In training", p.inTraining]]) {
      const ul = el("ul", {});
      for (const f of list) ul.append(item(f));
      if (!list.length) ul.append(el("li", { class: "dim", text: "nothing to report" }));
      ev.append(el("div", { class: "part" }, el("h3", { text: title }), ul));
    }
  } else {
    setText($("verdict-title"), "Verdicts");
    const ref = frame.reference;
    setText($("verdict-text"), ref !== null && ref !== undefined
      ? "(\"slow\" is judged against " + ready.members[ref].label + ", recommended for this activation)" : "");
    const ul = el("ul", {});
    all.forEach((p, k) => {
      const label = ready.members[k].label;
      const li = el("li", { class: "member-verdict" }, el("span", { class: "member", text: label + ": " }),
        el("span", { class: "tags", text: [...p.modes].map((m) => m.replace("_", " ")).join(", ") }), " — " + p.sentence);
      const sub = el("ul", {});
      for (const f of p.atInit) if (typeof f !== "string") sub.append(item(f, "at the start"));
      for (const f of p.inTraining) sub.append(item(f, "in training"));
      li.append(sub); ul.append(li);
    });
    ev.append(ul);
  }
  // the sentence alone is announced (aria-live), and only when it changes
  const said = many ? all.map((p, k) => ready.members[k].label + ": " + [...p.modes].join(", ")).join("; ")
    : all[0].sentence;
  setText($("verdict-live"), said);
  return all.map((p) => p.modes);
}
