"""The study report as Markdown, its figures as PNG files next to it.

:func:`render_markdown` lays out the study's plain data (the content of ``results.json``);
figures are referenced by the relative paths given (``figures/<experiment>__<figure>.png``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from initlab._text import fmt
from initlab.report._layout import id_ranges, setup_rows

__all__ = ["render_markdown", "table"]


def _cell(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        text = fmt(v)
    elif isinstance(v, int | float):
        text = fmt(v, 6)
    elif isinstance(v, list) and all(isinstance(x, str | int | float) for x in v):
        text = ", ".join(x if isinstance(x, str) else fmt(x, 6) for x in v)
    elif isinstance(v, list | dict):
        text = json.dumps(v)
    else:
        text = str(v)
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown (GitHub) table; ``|`` in a cell escaped, line breaks as spaces."""
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    out.append("|" + "|".join(" --- " for _ in headers) + "|")
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def _setup(setup: Sequence[Mapping[str, Any]]) -> str:
    headers, rows = setup_rows(setup)
    return table(headers, rows)


def render_markdown(data: Mapping[str, Any], figures: Mapping[str, str] | None = None) -> str:
    """The Markdown report of a study's plain data; ``figures["<experiment>/<figure>"]`` is
    the relative path of that figure's PNG file."""
    figures = figures or {}
    settings = data.get("settings", {})
    opts = data.get("options", {})
    out = ["# Weight initialization: the seed's claims, measured", ""]
    out.append(
        f"initlab {data.get('initlab_version', '')}, status {data.get('status', '')}, "
        f"{'quick' if opts.get('quick') else 'default'} settings, data set "
        f"{settings.get('dataset', '')}, seeds {settings.get('seeds', '')}"
        + (f", study {data['study_id']}" if data.get("study_id") is not None else "")
        + "."
    )
    out.append("")
    out.append(
        table(
            ["#", "claim", "verdict", "seeds", "key finding"],
            [
                [
                    s["number"],
                    s["title"],
                    f"**{s['verdict']}**",
                    s.get("seeds", ""),
                    s.get("finding") or s["key_figure"],
                ]
                for s in data.get("summary", [])
            ],
        )
    )
    for note in data.get("notes", []):
        out += ["", f"> note: {note}"]
    for e in data.get("experiments", []):
        out += ["", f"## {e['number']}. {e['title']}: {e['verdict']}", ""]
        out += [f"Experiment `{e['name']}`.", "", f"> {e['claim']}", ""]
        out += [f"**Key finding.** {e.get('finding') or e['key_figure']}", ""]
        out += [f"**Verdict: {e['verdict']}.** **Criterion.** {e['criterion']}", ""]
        if e.get("tests"):
            out += ["**Tests (95% confidence).**", ""] + [f"- {t}" for t in e["tests"]] + [""]
        out += [f"**Key figures.** {e['key_figure']}", ""]
        out += [f"- {o}" for o in e.get("observations", [])]
        if e.get("setup"):
            out += ["", "### Setup", "", _setup(e["setup"])]
        figs = [f for f in e.get("figures", []) if f"{e['name']}/{f['name']}" in figures]
        if figs:
            out += ["", "### Figures", ""]
            for f in figs:
                out += [f"![{f['title']}]({figures[e['name'] + '/' + f['name']]})", ""]
                out += [f"*{f['caption']}*", ""]
        if e.get("tables"):
            out += ["", "### Numbers"]
            for t in e["tables"]:
                out += ["", f"**{t['title']}**", "", table(t["headers"], t["rows"])]
                if t.get("note"):
                    out += ["", f"*{t['note']}*"]
        if e.get("run_ids"):
            out += ["", f"Stored runs: ids {id_ranges(e['run_ids'])}."]
    out += ["", "## Settings", "", table(["setting", "value"], list(settings.items())), ""]
    return "\n".join(out)
