"""The reproduce report: one self-contained HTML page and a Markdown file, in the study
report's style (its stylesheet and table layout, :mod:`initlab.report.html`).  Lays out
numbers computed elsewhere."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from initlab.report.html import CSS, escape, figures_html, runs_html, table
from initlab.report.markdown import table as md_table

__all__ = ["render_html", "render_markdown"]

_CLASS = {
    "reproduced": "v-holds",
    "reproduced in direction only": "v-part",
    "not reproduced": "v-not",
}
_INTRO = (
    "Each experiment reproduces one result of the initialization literature at a scale two "
    "CPU cores can run. It states the paper and the figure or table, our set-up and exactly "
    "what differs from the paper's, the paper's number beside ours with a 95% confidence "
    "interval over seeds (Student's t; for ratios on the log, for accuracies and other "
    "fractions on the logit, so the interval stays within 0 and 1), and a verdict per "
    "number (reproduced, reproduced in direction only, not reproduced) by a stated "
    "criterion; an experiment is as reproduced as its weakest number."
)


def _verdict(v: str) -> str:
    return f'<span class="verdict {_CLASS.get(v, "")}">{escape(v)}</span>'


def _comparison_rows(e: Mapping[str, Any]) -> list[list[Any]]:
    return [[c["quantity"], c["paper"], c["ours_text"], c["verdict"]] for c in e["comparisons"]]


def _summary_rows(data: Mapping[str, Any]) -> list[list[Any]]:
    return [
        [s["title"], c["quantity"], c["paper"], c["ours_text"], c["verdict"]]
        for s in data.get("summary", [])
        for c in s["comparisons"]
    ]


_SUMMARY_HEADERS = ["experiment", "quantity", "paper", "ours: mean [95% CI] (n)", "verdict"]
_ROW_HEADERS = ["quantity", "paper", "ours: mean [95% CI] (n)", "verdict"]


def _experiment_html(e: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    out = [f'<section id="{escape(e["name"])}">']
    out.append(f"<h2>{escape(e['title'])} {_verdict(e['verdict'])}</h2>")
    out.append(
        f'<p class="meta">experiment <code>{escape(e["name"])}</code> | '
        f"{escape(e.get('seconds'))} s</p>"
    )
    out.append(f"<blockquote>{escape(e['paper'])}: {escape(e['reproduces'])}</blockquote>")
    out.append(f'<p class="key"><b>Result.</b> {escape(e["summary"])}</p>')
    out.append("<h3>Paper vs ours</h3>" + table(_ROW_HEADERS, _comparison_rows(e)))
    out.append(
        "<ul>"
        + "".join(
            f"<li><b>{escape(c['quantity'])}</b>: {escape(c['criterion'])}</li>"
            for c in e["comparisons"]
        )
        + "</ul>"
    )
    out.append(f"<h3>Set-up</h3><p>{escape(e['setup'])}</p>")
    out.append("<p><b>What differs from the paper.</b></p><ul>")
    out += [f"<li>{escape(d)}</li>" for d in e.get("differences", [])]
    out.append("</ul>")
    if e.get("observations"):
        out.append("<ul>" + "".join(f"<li>{escape(o)}</li>" for o in e["observations"]) + "</ul>")
    out.append(figures_html(e, images))
    for t in e.get("tables", []):
        out.append(f'<p class="caption">{escape(t["title"])}</p>' + table(t["headers"], t["rows"]))
        if t.get("note"):
            out.append(f'<p class="note">{escape(t["note"])}</p>')
    if e.get("run_ids"):
        out.append(runs_html(e["run_ids"]))
    out.append(
        "<details><summary>the measurements behind the verdicts (JSON)</summary><pre>"
        + escape(json.dumps(e.get("numbers", {}), indent=1))
        + "</pre></details></section>"
    )
    return "\n".join(out)


def _meta(data: Mapping[str, Any]) -> str:
    s = data.get("settings", {})
    bits = [f"initlab {data.get('initlab_version', '')}", f"status {data.get('status', '')}"]
    if data.get("study_id") is not None:
        bits.append(f"run {data['study_id']} in the run store")
    bits.append("quick settings" if s.get("quick") else "default settings")
    if "total_s" in data.get("timing", {}):
        bits.append(f"{data['timing']['total_s']} s")
    return " | ".join(str(b) for b in bits)


def render_html(data: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> str:
    """The report page of ``reproduce.json``'s data with its figures embedded, one string."""
    images = images or {}
    out = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>initlab reproduce: the literature, reproduced</title><style>{CSS}</style>"
        "</head><body><h1>The initialization literature, reproduced</h1>",
        f'<p class="meta">{escape(_meta(data))}</p>',
        f"<p>{escape(_INTRO)}</p>",
        table(_SUMMARY_HEADERS, _summary_rows(data)),
    ]
    out += [f'<p class="note">{escape(n)}</p>' for n in data.get("notes", [])]
    out += [_experiment_html(e, images) for e in data.get("experiments", [])]
    out.append(
        "<details><summary>timing (s)</summary><pre>"
        + escape(json.dumps(data.get("timing", {}), indent=1))
        + "</pre></details></body></html>\n"
    )
    return "\n".join(out)


def render_markdown(data: Mapping[str, Any], figures: Mapping[str, str] | None = None) -> str:
    """The Markdown report; ``figures["<experiment>/<figure>"]`` is a PNG's relative path."""
    figures = figures or {}
    out = ["# The initialization literature, reproduced", "", _meta(data) + ".", "", _INTRO, ""]
    out.append(md_table(_SUMMARY_HEADERS, _summary_rows(data)))
    for e in data.get("experiments", []):
        out += ["", f"## {e['title']}: {e['verdict']}", ""]
        out += [f"Experiment `{e['name']}` ({e.get('seconds')} s).", ""]
        out += [f"> {e['paper']}: {e['reproduces']}", "", f"**Result.** {e['summary']}", ""]
        out += [md_table(_ROW_HEADERS, _comparison_rows(e)), ""]
        out += [f"- **{c['quantity']}**: {c['criterion']}" for c in e["comparisons"]]
        out += ["", "### Set-up", "", e["setup"], "", "**What differs from the paper.**", ""]
        out += [f"- {d}" for d in e.get("differences", [])]
        if e.get("observations"):
            out += [""] + [f"- {o}" for o in e["observations"]]
        figs = [f for f in e.get("figures", []) if f"{e['name']}/{f['name']}" in figures]
        for f in figs:
            out += ["", f"![{f['title']}]({figures[e['name'] + '/' + f['name']]})", ""]
            out += [f"*{f['caption']}*"]
        for t in e.get("tables", []):
            out += ["", f"**{t['title']}**", "", md_table(t["headers"], t["rows"])]
            if t.get("note"):
                out += ["", f"*{t['note']}*"]
    out.append("")
    return "\n".join(out)
