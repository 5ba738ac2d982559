"""The report's ``index.html``: one self-contained page (figures embedded as PNG data URIs).

Why self-contained: a report is mailed, attached to a lab notebook or opened from an MLflow
artifact view, often offline; a page that fetches nothing (no network, no scripts, no sibling
files) shows the same everywhere. Every text from the rows (paths, messages) is escaped.
"""

from __future__ import annotations

import base64
import html
import math
from typing import Any, Iterable

from roughml.serving.report.summary import ReportData

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
td.text, th.text { text-align: left; }
tr.error td { background: #fdecea; }
.warnings li { color: #8a4b00; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figcaption { font-size: 0.85em; color: #555; max-width: 700px; }
img { max-width: 100%; height: auto; }
""".strip()


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _interval(ci: list) -> str:
    return "–" if ci is None or None in ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _summary_table(summary: dict) -> str:
    window = summary["fit_window_px"]
    cross = summary["crossover_px"]
    lines = [
        ("ζ, model (random-effects mean of the walls)",
         f"{_number(summary['zeta'])} (95 %: {_interval(summary['zeta_ci95'])})"),
        ("systematic (model – S(q) difference)", _number(summary.get("zeta_systematic"))),
        ("ζ, model: total 95 % interval (statistical ⊕ systematic)", _interval(summary.get("zeta_total_ci95"))),
        ("wall-to-wall spread τ of ζ", _number(summary["spread"])),
        ("ζ, classical ensemble S(q)", f"{_number(summary['zeta_classical'])} "
                                       f"(95 %: {_interval(summary['zeta_classical_ci95'])})"),
        ("ζ, classical ensemble B(r) (check; saturates near 1)",
         f"{_number(summary['zeta_height_difference'])} (95 %: {_interval(summary['zeta_height_difference_ci95'])})"),
        ("walls in the statistics", f"{summary['n_walls']} of {summary['n_images']} images "
                                    f"({summary['n_errors']} errors)"),
        ("fit window", "–" if None in window else f"{window[0]:g}–{window[1]:g} px"),
        ("crossover", "none found" if cross is None else f"≈ {cross:.0f} px"),
        ("model", summary["model"]),
    ]
    body = "\n".join(f"<tr><th class=text>{html.escape(k)}</th><td class=text>{html.escape(v)}</td></tr>"
                     for k, v in lines)
    return f"<table>\n{body}\n</table>"


def _warnings(warnings: Iterable[str]) -> str:
    items = [f"<li>{html.escape(w)}</li>" for w in warnings]
    return "<ul class=warnings>\n" + "\n".join(items) + "\n</ul>" if items else "<p>No warnings.</p>"


def _wall_table(data: ReportData) -> str:
    head = ("<tr><th>#</th><th class=text>path</th><th>ζ</th><th>σ</th><th>classical ζ</th>"
            "<th class=text>status</th><th class=text>warning</th><th class=text>message</th></tr>")
    lines = [head]
    for number, row in enumerate(data.rows, start=1):
        css = "" if row.status == "ok" else " class=error"
        lines.append(f"<tr{css}><td>{number}</td><td class=text>{html.escape(row.path)}</td>"
                     f"<td>{_number(row.zeta)}</td><td>{_number(row.zeta_std)}</td>"
                     f"<td>{_number(row.zeta_classical)}</td><td class=text>{html.escape(row.status)}</td>"
                     f"<td class=text>{html.escape(row.warning)}</td>"
                     f"<td class=text>{html.escape(row.message)}</td></tr>")
    return "<table>\n" + "\n".join(lines) + "\n</table>"


def _figure(name: str, caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="{name}"><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def render_page(data: ReportData, figures: Iterable[tuple[str, str, bytes]]) -> str:
    """The whole page: summary, warnings, the figures (name, caption, PNG bytes), the wall table."""
    summary = data.summary
    figure_html = "\n".join(_figure(name, caption, png) for name, caption, png in figures)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>roughml ensemble report: ζ = {html.escape(_number(summary['zeta']))}</title>
<style>
{_STYLE}
</style>
</head>
<body>
<h1>Roughness exponent of {summary['n_walls']} walls</h1>
{_summary_table(summary)}
<h2>Warnings</h2>
{_warnings(summary['warnings'])}
<h2>Figures</h2>
{figure_html}
<h2>Walls</h2>
<p>Only ok rows enter the statistics; error rows are listed with their reason. ζ and σ come from the
model, classical ζ from the Whittle fit of each wall's profile; a warning says why a wall's ζ deserves a
second look.</p>
{_wall_table(data)}
<p><small>summary.json holds these numbers; walls.csv this table.</small></p>
</body>
</html>
"""
