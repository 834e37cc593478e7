// The verdict: the plain sentence first, then what was found "at the start" (step 0) and "in
// training", for each member.  The findings are the diagnostics' own; this only lays them out.

import { $, el, fmt, setText } from "./util.js";

const BAD = ["diverged", "symmetric", "no_learning", "exploding", "exploded", "stalled"];

// One member's verdict in the two-part shape.  The verdicts issue sends `sentence`, `at_init`
// and `in_training` next to the findings; until a server sends them, the findings are split by
// the step of their evidence (step 0: at the start) and the first finding's message leads.
export function parts(frame, k) {
  const findings = (frame.verdict && frame.verdict[k]) || [];
  const pick = (key) => {
    const v = frame[key];
    return Array.isArray(v) ? v[k] : v && typeof v === "object" ? v[k] ?? v[String(k)] : undefined;
  };
  const own = findings.find((f) => f && typeof f === "object" && f.sentence) || null;
  const sentence = pick("sentence") ?? pick("verdict_sentence") ?? (own && own.sentence);
  let atInit = pick("at_init"), inTraining = pick("in_training");
  if (!Array.isArray(atInit) || !Array.isArray(inTraining)) {
    atInit = findings.filter((f) => f.step === 0);
    inTraining = findings.filter((f) => f.step !== 0);
  }
  return {
    sentence: sentence || (findings.length ? findings[0].message : ""),
    atInit, inTraining, findings,
    modes: new Set(findings.map((f) => f.mode)),
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
      for (const f of p.atInit) sub.append(item(f, "at the start"));
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
