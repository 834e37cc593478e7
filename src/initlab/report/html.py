"""The study report as one self-contained HTML file.

:func:`render_html` turns the study's plain data (the content of ``results.json``) and the PNG
bytes of its figures into one HTML page: inline CSS, images embedded as base64 ``data:`` URIs,
no script, no link to anything outside the file, so it opens offline and can be mailed as is.
It only lays out numbers computed elsewhere.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from initlab._text import fmt
from initlab.report._layout import id_ranges, setup_rows, verdict_class

__all__ = ["CSS", "escape", "figures_html", "render_html", "runs_html", "table"]

#: The reports' stylesheet (inline in every page).
CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2430;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2.2em; border-bottom: 1px solid #d8dde6; padding-bottom: .2em; }
h3 { font-size: 1.05em; margin: 1.3em 0 .4em; }
.meta { color: #5b6577; font-size: .9em; }
blockquote { margin: .6em 0; padding: .5em 1em; background: #f5f7fa; border-left: 4px solid #9aa7bd;
             font-style: italic; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .86em; max-width: 100%; }
th, td { border: 1px solid #d8dde6; padding: 3px 7px; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #eef1f6; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.wide { font-size: .76em; }
table.wide td.num { white-space: normal; }
table.wide th { overflow-wrap: normal; }
.caption { font-weight: 600; margin: .8em 0 .2em; }
.note { color: #5b6577; font-size: .85em; margin-top: -.6em; }
.verdict { display: inline-block; padding: 1px 9px; border-radius: 10px; font-weight: 600;
           font-size: .9em; white-space: nowrap; }
.v-holds { background: #d9f2dd; color: #17622a; }
.v-part { background: #fdf0cf; color: #7a5300; }
.v-not { background: #f9dada; color: #8b1d1d; }
.v-undecided { background: #e6e8ee; color: #3b4455; }
.tests { font-size: .9em; margin: .3em 0 .8em; }
.tests li { margin: .15em 0; }
figure { display: inline-block; margin: .4em .8em .8em 0; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7ee; }
figcaption { font-size: .82em; color: #5b6577; max-width: 520px; }
details { margin: .5em 0 1em; }
pre { background: #f5f7fa; padding: .7em; overflow-x: auto; font-size: .8em; }
.key { background: #f0f5ff; border: 1px solid #cfdcf5; padding: .5em .8em; border-radius: 4px; }
"""


def escape(x: Any) -> str:
    """``str(x)`` with HTML's special characters (quotes too) escaped."""
    return html.escape(str(x), quote=True)


def _cell(v: Any) -> tuple[str, bool]:
    if isinstance(v, bool) or v is None:
        return fmt(v), False
    if isinstance(v, int | float):
        return fmt(v, 4), True
    if isinstance(v, list) and all(isinstance(x, str | int | float) for x in v):
        return ", ".join(x if isinstance(x, str) else fmt(x, 4) for x in v), False
    if isinstance(v, list | dict):
        return json.dumps(v), False
    return str(v), False


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table (numbers right-aligned, formatted by :func:`initlab._text.fmt`)."""
    # many columns: smaller type, and numbers may wrap, so the table fits the page
    out = ['<table class="wide"><thead><tr>' if len(headers) > 8 else "<table><thead><tr>"]
    out += [f"<th>{escape(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for v in row:
            text, num = _cell(v)
            out.append(
                f'<td class="num">{escape(text)}</td>' if num else f"<td>{escape(text)}</td>"
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _verdict(v: str) -> str:
    return f'<span class="verdict {verdict_class(v)}">{escape(v)}</span>'


def _setup(setup: Sequence[Mapping[str, Any]]) -> str:
    if not setup:
        return ""
    headers, rows = setup_rows(setup)
    return table(headers, rows)


def _seed_text(seeds: Sequence[int]) -> str:
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{len(seeds)} per scheme ({seeds[0]} to {seeds[-1]})"
    return f"{len(seeds)} per scheme ({', '.join(map(str, seeds))})"


def runs_html(ids: Sequence[int]) -> str:
    """The "stored runs" line of an experiment: how many runs and their id ranges."""
    return (
        f'<p class="meta">stored runs: {len(set(ids))} (ids {escape(id_ranges(ids))}); see '
        "<code>initlab runs show ID</code></p>"
    )


def figures_html(e: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """The experiment's figures that were drawn, embedded as base64 PNGs under a "Figures"
    heading ("" when none was drawn).  Shared by the study's and ``reproduce``'s reports."""
    figs = [f for f in e.get("figures", []) if f"{e['name']}/{f['name']}" in images]
    if not figs:
        return ""
    out = ["<h3>Figures</h3><div>"]
    for f in figs:
        data = base64.b64encode(images[f"{e['name']}/{f['name']}"]).decode("ascii")
        out.append(
            f'<figure><img alt="{escape(f["title"])}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(f['caption'])}</figcaption></figure>"
        )
    out.append("</div>")
    return "".join(out)


def _experiment(e: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    out = [f'<section id="{escape(e["name"])}">']
    out.append(f"<h2>{escape(e['number'])}. {escape(e['title'])} {_verdict(e['verdict'])}</h2>")
    out.append(f'<p class="meta">experiment <code>{escape(e["name"])}</code></p>')
    out.append(f"<blockquote>{escape(e['claim'])}</blockquote>")
    out.append(
        f'<p class="key"><b>Key finding.</b> {escape(e.get("finding") or e["key_figure"])}</p>'
    )
    seeds = e.get("seeds") or []
    out.append(
        f"<p><b>Verdict: {escape(e['verdict'])}.</b> <b>Criterion.</b> {escape(e['criterion'])}"
        + (f" <b>Seeds:</b> {escape(_seed_text(seeds))}." if seeds else "")
        + "</p>"
    )
    if e.get("tests"):
        out.append(
            '<p><b>Tests (95% confidence).</b></p><ul class="tests">'
            + "".join(f"<li>{escape(t)}</li>" for t in e["tests"])
            + "</ul>"
        )
    out.append(
        "<details><summary>key figures</summary><ul>"
        + "".join(f"<li>{escape(k)}</li>" for k in str(e["key_figure"]).split("; "))
        + "</ul></details>"
    )
    if e.get("observations"):
        out.append(
            "<p><b>Observations.</b></p><ul>"
            + "".join(f"<li>{escape(o)}</li>" for o in e["observations"])
            + "</ul>"
        )
    out.append("<h3>Setup</h3>" + _setup(e.get("setup", [])))
    out.append(figures_html(e, images))
    if e.get("diagnoses"):
        rows = e["diagnoses"]
        headers = list(dict.fromkeys(k for r in rows for k in r))
        out.append('<p class="caption">the diagnostics\' verdict on the runs shown</p>')
        out.append(table(headers, [[r.get(h, "") for h in headers] for r in rows]))
    if e.get("tables"):
        out.append("<h3>Numbers</h3>")
        for t in e["tables"]:
            out.append(f'<p class="caption">{escape(t["title"])}</p>')
            out.append(table(t["headers"], t["rows"]))
            if t.get("note"):
                out.append(f'<p class="note">{escape(t["note"])}</p>')
    if e.get("run_ids"):
        out.append(runs_html(e["run_ids"]))
    out.append(
        "<details><summary>the measurements behind the verdict (JSON)</summary><pre>"
        + escape(json.dumps(e.get("numbers", {}), indent=1))
        + "</pre></details>"
    )
    out.append("</section>")
    return "\n".join(out)


def render_html(data: Mapping[str, Any], images: Mapping[str, bytes] | None = None) -> str:
    """The report page for a study's plain data (``results.json``) with its figures
    (``images["<experiment>/<figure>"]`` = PNG bytes), as one HTML string."""
    images = images or {}
    exps = data.get("experiments", [])
    opts = data.get("options", {})
    settings = data.get("settings", {})
    timing = data.get("timing", {})
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>initlab study: weight initialization claims</title><style>{CSS}</style>"
        "</head><body>"
    )
    out = [head, "<h1>Weight initialization: the seed's claims, measured</h1>"]
    bits = [f"initlab {data.get('initlab_version', '')}", f"status {data.get('status', '')}"]
    if data.get("study_id") is not None:
        bits.append(f"study {data['study_id']} in the run store")
    bits.append(
        f"{'quick' if opts.get('quick') else 'default'} settings, data set "
        f"{settings.get('dataset', '')}, seeds {_seed_text(settings.get('seeds') or [])}"
    )
    if "total_s" in timing:
        bits.append(f"{timing['total_s']} s")
    out.append(f'<p class="meta">{escape(" | ".join(str(b) for b in bits))}</p>')
    if opts.get("quick"):
        out.append(
            '<p class="key"><b>Quick settings.</b> The same criteria on smaller networks, fewer '
            "steps and fewer seeds; a claim these cannot decide is <i>undecided at quick "
            "settings</i>. The default study decides it.</p>"
        )
    out.append(
        "<p>Each claim of the source document is an experiment with a stated setup, a "
        "measurement and a verdict decided by a stated criterion on the measurements. Every "
        "statistic comes from initlab's diagnostics (per-layer records of each run); several "
        "seeds give the spread.</p>"
    )
    rows = "".join(
        f"<tr><td>{escape(s['number'])}</td>"
        f'<td><a href="#{escape(s["name"])}">{escape(s["title"])}</a></td>'
        f'<td>{_verdict(s["verdict"])}</td><td class="num">{escape(s.get("seeds", ""))}</td>'
        f"<td>{escape(s.get('finding') or s['key_figure'])}</td></tr>"
        for s in data.get("summary", [])
    )
    out.append(
        "<table><thead><tr><th>#</th><th>claim</th><th>verdict</th><th>seeds</th>"
        f"<th>key finding</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    for note in data.get("notes", []):
        out.append(f'<p class="note">{escape(note)}</p>')
    out += [_experiment(e, images) for e in exps]
    out.append(
        "<h2>Settings</h2>"
        + table(["setting", "value"], [[k, v] for k, v in settings.items()])
        + "<details><summary>timing</summary><pre>"
        + escape(json.dumps(timing, indent=1))
        + "</pre></details>"
    )
    out.append("</body></html>\n")
    return "\n".join(out)
