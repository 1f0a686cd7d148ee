"""A session's report to hand over: one printable HTML page (A4), drawn here from the session's view
(``/sessions/{id}/``: its state or ended record, its timeline, behaviours and reviews). Pure functions: no
Faust, no request; ``streams.web.report`` serves the page.

The timeline is an inline SVG drawn from ``timeline.points``, so the page prints as it is, without a
script. No frame image is ever drawn or embedded: the state holds none.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.records import Reason
from streams.risk.policy import RiskPolicy

__all__ = ["BAND_TINTS", "Plot", "clock", "offset", "report_html", "timeline_svg", "tint"]

# The dashboard's tints (streams/web/static/dashboard.js): a behaviour has the same colour on paper.
BAND_TINTS = ("#7c3aed", "#0e7490", "#b45309", "#be185d", "#15803d", "#4338ca", "#a16207")
RISK, ATTENTION, REVIEW, FLAGGED = "#c62828", "#2f5fd0", "#c77700", "#c62828"
DECISION_COLOURS = {"confirmed": "#9b1c1c", "dismissed": "#1e429f"}
_NONE = "\u2013"  # no value
_TO = "\u2013"  # from ... to ...
# Tick spacings a time axis may use, in seconds: whole, readable steps from 1 s to 2 h.
_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


def tint(kind: str) -> str:
    """The dashboard's colour of a behaviour (the same hash of its name)."""
    value = 0
    for char in kind:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    return BAND_TINTS[value % len(BAND_TINTS)]


def clock(ms: float | None) -> str:
    """A capture time as a UTC clock time (a report is read far from where it was made)."""
    if ms is None:
        return _NONE
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S")


def _date_time(ms: float | None) -> str:
    if ms is None:
        return _NONE
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def offset(ms: float, origin_ms: float) -> str:
    """Time from the session's first frame, ``m:ss`` (``h:mm:ss`` past an hour)."""
    seconds = max(0, round((ms - origin_ms) / 1000))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _label(kind: str) -> str:
    return kind.replace("_", " ") if kind else "anything"


@dataclass(frozen=True)
class Plot:
    """The SVG's size and the plot area inside it, in SVG units (the page scales it to its width)."""

    width: float = 720
    height: float = 250
    left: float = 38
    right: float = 12
    top: float = 10
    bottom: float = 40

    @property
    def inner_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def inner_height(self) -> float:
        return self.height - self.top - self.bottom


def _span(
    points: Sequence[Sequence[float]], bands: Sequence[tuple[str, float, float]], marks: Sequence[Mapping[str, Any]]
) -> tuple[float, float] | None:
    times = [p[0] for p in points] + [t for _, start, end in bands for t in (start, end)]
    times += [t for m in marks for t in (m["started_at_ms"], m["ended_at_ms"])]
    if not times:
        return None
    lo, hi = min(times), max(times)
    return lo, max(hi, lo + 1000)


def _ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    span_s = (hi - lo) / 1000
    step = next((s for s in _STEPS_S if span_s / s <= most), _STEPS_S[-1] * math.ceil(span_s / _STEPS_S[-1] / most))
    return [lo + i * step * 1000 for i in range(int(span_s // step) + 1)]


def timeline_svg(
    points: Sequence[Sequence[float]],
    bands: Sequence[tuple[str, float, float]] = (),
    thresholds: Sequence[tuple[str, float, str]] = (),
    marks: Sequence[Mapping[str, Any]] = (),
    origin_ms: float | None = None,
    plot: Plot = Plot(),  # frozen: one shared default is safe
) -> str:
    """The session's risk and attention (``points``: ``[capture ms, risk, attention]``) over time as an
    SVG: behaviour ``bands`` (type, start ms, end ms) behind the lines, ``thresholds`` (name, value,
    colour) across them, reviewed ranges (``marks``: Review records) under them, the time axis counted from
    ``origin_ms`` (default: the first point)."""
    view = f'viewBox="0 0 {plot.width:g} {plot.height:g}"'
    head = f'<svg xmlns="http://www.w3.org/2000/svg" {view} role="img" aria-label="risk and attention over time">'
    span = _span(points, bands, marks)
    if span is None:
        return (
            f'{head}<text x="{plot.width / 2:g}" y="{plot.height / 2:g}" text-anchor="middle" '
            'font-size="13" fill="#667085">no frame scored: no timeline</text></svg>'
        )
    lo, hi = span
    origin = lo if origin_ms is None else origin_ms

    def x(ms: float) -> float:
        return round(plot.left + (ms - lo) / (hi - lo) * plot.inner_width, 1)

    def y(value: float) -> float:
        return round(plot.top + (1 - max(0.0, min(100.0, value)) / 100) * plot.inner_height, 1)

    bottom = plot.top + plot.inner_height
    parts = [head, '<g font-family="system-ui, sans-serif" font-size="10">']
    for level in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{plot.left:g}" x2="{plot.left + plot.inner_width:g}" y1="{y(level)}" y2="{y(level)}" '
            'stroke="#e2e5ea" stroke-width="0.6"/>'
            f'<text x="{plot.left - 4:g}" y="{y(level) + 3}" text-anchor="end" fill="#667085">{level}</text>'
        )
    for row, (kind, start, end) in enumerate(sorted(bands, key=lambda b: b[1])):
        x0, x1 = x(start), max(x(end), x(start) + 1.5)
        colour = tint(kind)
        parts.append(
            f'<rect class="band" data-type="{_e(kind)}" x="{x0}" y="{plot.top:g}" width="{round(x1 - x0, 1)}" '
            f'height="{plot.inner_height:g}" fill="{colour}" fill-opacity="0.16"><title>{_e(_label(kind))} '
            f"{offset(start, origin)}{_TO}{offset(end, origin)}</title></rect>"
            f'<text x="{x0 + 2}" y="{plot.top + 11 + 12 * (row % 3):g}" fill="{colour}">{_e(_label(kind))}</text>'
        )
    for name, value, colour in thresholds:
        parts.append(
            f'<line x1="{plot.left:g}" x2="{plot.left + plot.inner_width:g}" y1="{y(value)}" y2="{y(value)}" '
            f'stroke="{colour}" stroke-width="1" stroke-dasharray="5 3"/>'
            f'<text x="{plot.left + plot.inner_width - 2:g}" y="{y(value) - 3}" text-anchor="end" '
            f'fill="{colour}">{_e(name)} ≥ {value:g}</text>'
        )
    for index, colour, dash in ((1, RISK, ""), (2, ATTENTION, ' stroke-dasharray="4 2"')):
        line = " ".join(f"{x(p[0])},{y(p[index])}" for p in points if p[index] is not None)
        if line:
            name = "risk" if index == 1 else "attention"
            parts.append(
                f'<polyline class="{name}" points="{line}" fill="none" stroke="{colour}" stroke-width="1.6"'
                f'{dash} stroke-linejoin="round"/>'
            )
    for mark in marks:
        x0 = x(mark["started_at_ms"])
        x1 = max(x(mark["ended_at_ms"]), x0 + 2)
        colour = DECISION_COLOURS.get(mark["decision"], "#667085")
        parts.append(
            f'<rect class="review" x="{x0}" y="{bottom + 3:g}" width="{round(x1 - x0, 1)}" height="5" '
            f'fill="{colour}"><title>{_e(mark["decision"])} by {_e(mark["reviewer"])}</title></rect>'
        )
    parts.append(
        f'<line x1="{plot.left:g}" x2="{plot.left + plot.inner_width:g}" y1="{bottom:g}" y2="{bottom:g}" '
        'stroke="#98a2b3" stroke-width="0.8"/>'
    )
    for tick in _ticks(lo, hi):
        parts.append(
            f'<line x1="{x(tick)}" x2="{x(tick)}" y1="{bottom:g}" y2="{bottom + 2:g}" stroke="#98a2b3"/>'
            f'<text x="{x(tick)}" y="{bottom + 20:g}" text-anchor="middle" fill="#667085">'
            f"{offset(tick, origin)}</text>"
        )
    legend_y = plot.height - 4
    parts.append(
        f'<text x="{plot.left:g}" y="{legend_y:g}" fill="{RISK}">— risk</text>'
        f'<text x="{plot.left + 50:g}" y="{legend_y:g}" fill="{ATTENTION}">- - attention</text>'
        f'<text x="{plot.left + 130:g}" y="{legend_y:g}" fill="#667085">▬ reviewed range '
        f"(dark red: confirmed, blue: dismissed) · time from the first frame, m:ss</text>"
    )
    parts.append("</g></svg>")
    return "".join(parts)


_STYLE = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2330;
  margin: 0 auto; max-width: 190mm; padding: 12px; }
h1 { font-size: 16pt; margin: 0 0 2px; }
h2 { font-size: 11pt; margin: 14px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: #475467;
  border-bottom: 1px solid #d0d5dd; padding-bottom: 2px; }
.sub { color: #667085; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 8px; color: #fff; background: #6b7280;
  font-weight: 600; text-transform: uppercase; font-size: 9pt; }
.verdict.clear { background: #1f8a4c; } .verdict.review { background: #c77700; }
.verdict.flagged { background: #c62828; }
dl.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 4px 14px; margin: 6px 0; }
dl.figures dt { color: #667085; font-size: 8pt; text-transform: uppercase; letter-spacing: .04em; }
dl.figures dd { margin: 0; font-weight: 600; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; }
th, td { text-align: left; padding: 3px 5px; border-bottom: 1px solid #e2e5ea; vertical-align: top; }
th { color: #475467; font-weight: 600; }
tr, .keep { break-inside: avoid; page-break-inside: avoid; }
svg { width: 100%; height: auto; display: block; }
.decision { font-weight: 600; text-transform: uppercase; font-size: 8.5pt; }
.decision.confirmed { color: #9b1c1c; } .decision.dismissed { color: #1e429f; }
.empty { color: #667085; font-style: italic; }
.swatch { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 4px; }
footer { margin-top: 16px; color: #667085; font-size: 8.5pt; }
.screen-only { background: #f4f5f7; border: 1px solid #e2e5ea; border-radius: 6px; padding: 6px 10px; }
@media print { .screen-only { display: none; } body { padding: 0; } }
"""


def _figures(items: Sequence[tuple[str, str]]) -> str:
    return '<dl class="figures">' + "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in items) + "</dl>"


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return _NONE
    return f"{float(value):.{digits}f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
    """A table of cells already escaped (they may hold markup), or ``empty`` said in words."""
    if not rows:
        return f'<p class="empty">{_e(empty)}</p>'
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _when(start: float, end: float | None, origin: float) -> str:
    if end is None or end <= start:
        return f"{offset(start, origin)} ({clock(start)})"
    lasted = f"{(end - start) / 1000:.1f} s"
    return f"{offset(start, origin)}{_TO}{offset(end, origin)} ({clock(start)}{_TO}{clock(end)}, {lasted})"


def _bands(behaviours: Mapping[str, Mapping[str, Any]], last_ms: float | None) -> list[tuple[str, float, float]]:
    bands = []
    for interval in behaviours.values():
        end = interval.get("end") or interval.get("until") or interval.get("seen") or last_ms
        if end is not None:
            bands.append((str(interval["type"]), float(interval["start"]), float(end)))
    return bands


def report_html(
    view: Mapping[str, Any],
    reasons: Sequence[Reason],
    policy: RiskPolicy | None,
    generated_at_ms: int,
    worker: str = "",
) -> str:
    """The printable page of a session: ``view`` is its ``/sessions/{id}/`` body, ``reasons`` the verdict's
    (its final report's once ended), ``policy`` the one its name reads now in the worker's policy book."""
    session_id = str(view.get("session_id", ""))
    report: Mapping[str, Any] = view.get("final_report") or {}
    timeline = view.get("timeline") or {}
    points: list[list[float]] = list(timeline.get("points") or [])
    behaviours: Mapping[str, Mapping[str, Any]] = view.get("behaviours") or {}
    reviews: list[Mapping[str, Any]] = sorted(view.get("reviews") or [], key=lambda r: (r["at_ms"], r["review_id"]))
    forgotten = bool(view.get("forgotten"))
    status = "forgotten (its state is past retention; its reviews remain)" if forgotten else view.get("status", "?")

    first_ms = points[0][0] if points else (view.get("first_captured_at_ms") or report.get("started_at_ms"))
    last_ms = report.get("ended_at_ms") or view.get("last_captured_at_ms") or (points[-1][0] if points else None)
    origin = float(first_ms) if first_ms is not None else float(generated_at_ms)

    judged_by = report.get("policy") or (policy.id if policy else view.get("policy") or "?")
    verdict = report.get("verdict") or view.get("last_verdict") or "inconclusive"
    bands = _bands(behaviours, last_ms)
    thresholds = [("flagged", policy.flagged_at, FLAGGED), ("review", policy.review_at, REVIEW)] if policy else []
    svg = timeline_svg(points, bands, thresholds, reviews, origin)

    if report:
        figures = [
            ("verdict", f"{verdict}{' (cheating)' if report.get('cheating') else ''}"),
            ("confidence", f"{100 * float(report.get('confidence', 0)):.0f}%"),
            ("final risk", _number(report.get("final_risk_score"))),
            ("peak risk", _number(report.get("peak_risk_score"))),
            ("mean risk", _number(report.get("mean_risk_score"))),
            ("attention", _number(report.get("attention"))),
            ("frames", str(report.get("frames", view.get("frames", _NONE)))),
            ("observed", f"{_number(report.get('observed_s'), 1)} s"),
            ("ended by", str(report.get("reason", _NONE))),
            ("reported", _date_time(report.get("reported_at_ms"))),
        ]
    elif not forgotten:
        figures = [
            ("verdict so far", str(verdict)),
            ("risk", _number(view.get("last_score"))),
            ("peak risk", _number(view.get("peak_score"))),
            ("attention", _number(100 * float(view.get("attention", 1.0)))),
            ("frames", str(view.get("frames", _NONE))),
            ("observed", f"{_number(view.get('observed_s'), 1)} s"),
        ]
    else:
        figures = []

    held: Mapping[str, float] = report.get("time_in_ms") or {}
    evidence: list[Mapping[str, Any]] = list(report.get("evidence") or [])
    reason_rows = []
    for reason in reasons:
        kind = reason["event_type"]
        times = [_when(start, end, origin) for k, start, end in sorted(bands, key=lambda b: b[1]) if k == kind]
        pieces = [
            f"{float(e['evidence']):.2f} over {_when(e['started_at_ms'], e['ended_at_ms'], origin)}"
            for e in evidence
            if e["type"] == kind
        ]
        reason_rows.append(
            [
                f'<span class="swatch" style="background:{tint(kind)}"></span>{_e(_label(kind))}',
                f"{100 * float(reason['share']):.0f}%",
                _e(f"{held[kind] / 1000:.1f} s") if kind in held else _NONE,
                "<br>".join(_e(t) for t in times) or '<span class="empty">outside the intervals kept</span>',
                "<br>".join(_e(p) for p in pieces) or _NONE,
            ]
        )
    other_rows = [
        [
            f'<span class="swatch" style="background:{tint(kind)}"></span>{_e(_label(kind))}',
            _e(_when(start, end, origin)),
        ]
        for kind, start, end in sorted(bands, key=lambda b: b[1])
        if kind not in {r["event_type"] for r in reasons}
    ]

    quality: Mapping[str, float] = report.get("quality_s") or view.get("quality_s") or {}
    unassessable = report.get("unassessable_s", view.get("unassessable_s"))
    observed = report.get("observed_s", view.get("observed_s"))
    share = report.get("unassessable_share")
    if share is None and unassessable is not None and observed:
        share = min(1.0, float(unassessable) / max(float(observed), 1e-9))
    quality_rows = [[_e(_label(kind)), _e(f"{seconds:.1f} s")] for kind, seconds in sorted(quality.items()) if seconds]

    review_rows = [
        [
            _e(_date_time(r["at_ms"])),
            _e(r["reviewer"]),
            f'<span class="decision {_e(r["decision"])}">{_e(r["decision"])}</span>',
            _e(_label(r["behaviour"]) if r["behaviour"] else "the whole range"),
            _e(_when(r["started_at_ms"], r["ended_at_ms"], origin)),
            _e(r.get("policy") or _NONE),
            _e(r.get("note") or ""),
        ]
        for r in reviews
    ]

    policy_figures = [("judged by", str(judged_by))]
    if policy:
        policy_figures += [("review at", f"{policy.review_at:g}"), ("flagged at", f"{policy.flagged_at:g}")]
    policy_note = ""
    if policy and policy.id != judged_by:
        policy_note = (
            f'<p class="sub">The thresholds and weights shown are of {_e(policy.id)}, the version this worker reads '
            f"now; the session was judged by {_e(judged_by)}.</p>"
        )
    weight_rows = [
        [
            _e(_label(kind)),
            _e(f"{w.rate:g}/s"),
            _e(f"{w.half_life_s:g} s"),
            _e(f"{w.min_duration_s:g} s"),
            _e(f"{w.cap:g}"),
        ]
        for kind, w in sorted((policy.behaviours if policy else {}).items())
    ]

    title = f"Session {session_id}"
    candidate = view.get("candidate_id") or (report.get("candidate_id") if report else "") or "?"
    quote_id = html.escape(session_id, quote=True)
    return "".join(
        [
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
            f"<title>Interview integrity: {_e(title)}</title><style>{_STYLE}</style></head><body>",
            f'<header><h1>{_e(title)} <span class="verdict {_e(verdict)}">{_e(verdict)}</span></h1>',
            f'<div class="sub">candidate {_e(candidate)} · {_e(status)} · policy {_e(judged_by)} · first frame '
            f"{_e(_date_time(first_ms))}, last {_e(_date_time(last_ms))}</div></header>",
            '<p class="screen-only">Print this page (A4) from the browser, or '
            f"<code>integrity report {quote_id} --pdf FILE</code>. "
            f'<a href="/dashboard/#session={_e(session_id)}">Open it in the dashboard</a> to review it.</p>',
            '<section class="keep"><h2>Figures</h2>',
            _figures(figures) if figures else '<p class="empty">no figures: the session is forgotten</p>',
            "</section>",
            f'<section class="keep"><h2>Timeline</h2>{svg}</section>',
            "<section><h2>Reasons and their evidence</h2>",
            _table(
                ["behaviour", "share", "held", "when (from the first frame; UTC)", "evidence"],
                reason_rows,
                "no behaviour held: no reasons",
            ),
            (
                '<h3 class="sub">Other behaviours seen</h3>' + _table(["behaviour", "when"], other_rows, "")
                if other_rows
                else ""
            ),
            "</section>",
            '<section class="keep"><h2>Capture quality</h2>',
            _figures(
                [
                    ("unassessable", f"{_number(unassessable, 1)} s"),
                    ("share of the session", f"{100 * float(share):.0f}%" if share is not None else _NONE),
                ]
            ),
            _table(["problem", "time"], quality_rows, "no capture-quality problem"),
            "</section>",
            "<section><h2>Reviews</h2>",
            _table(
                ["when", "reviewer", "decision", "about", "range", "policy", "note"],
                review_rows,
                "no review yet",
            ),
            "</section>",
            '<section class="keep"><h2>Policy</h2>',
            _figures(policy_figures),
            policy_note,
            _table(["behaviour", "rate", "half-life", "min duration", "cap"], weight_rows, "no behaviour weights"),
            "</section>",
            f"<footer>Generated {_e(_date_time(generated_at_ms))}{' by ' + _e(worker) if worker else ''}. "
            "Times are capture times in UTC. This report holds no frame image.</footer>",
            "</body></html>\n",
        ]
    )
