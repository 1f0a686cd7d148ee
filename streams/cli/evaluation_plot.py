"""``evaluation.png``: how the flag threshold trades precision for recall, and the riskiest sessions over time.

Every line and band is named where it is drawn: nothing to look up in a legend.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from streams.offline.evaluation import Evaluation, SessionOutcome

__all__ = ["WORST_SESSIONS", "plot_evaluation"]

WORST_SESSIONS = 4
_PRECISION, _RECALL = "#1f77b4", "#d62728"
_BEHAVIOUR_COLOURS = ("#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


def plot_evaluation(evaluation: Evaluation, path: Path) -> None:
    worst = sorted(evaluation.sessions, key=lambda o: (-o.peak_risk, o.session_id))[:WORST_SESSIONS]
    rows = max(len(worst), 1)
    figure = plt.figure(figsize=(15, max(6.0, 2.6 * rows)), dpi=100)
    grid = figure.add_gridspec(rows, 2, width_ratios=(1, 1.4), hspace=0.55, wspace=0.18)
    _threshold_sweep(figure.add_subplot(grid[:, 0]), evaluation)
    if not worst:
        axis = figure.add_subplot(grid[0, 1])
        axis.axis("off")
        axis.text(0.5, 0.5, "no sessions", ha="center", va="center")
    kinds = sorted({d.behaviour for o in worst for d in o.detected} | {r.behaviour for o in worst for r in o.labelled})
    colours = {kind: _BEHAVIOUR_COLOURS[i % len(_BEHAVIOUR_COLOURS)] for i, kind in enumerate(kinds)}
    for row, outcome in enumerate(worst):
        thresholds = evaluation.thresholds.get(outcome.policy)
        _risk_over_time(figure.add_subplot(grid[row, 1]), outcome, thresholds, colours, last=row == len(worst) - 1)
    figure.suptitle(f"integrity evaluate: {len(evaluation.sessions)} sessions", fontsize=13)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def _threshold_sweep(axis: Axes, evaluation: Evaluation) -> None:
    """Precision and recall of flagged (a session counts as flagged when its peak risk reaches the threshold)."""
    labelled = [o for o in evaluation.sessions if o.decision is not None]
    cheating = sum(o.decision == "cheating" for o in labelled)
    steps = [t / 2 for t in range(0, 201)]
    precision, recall = [], []
    for threshold in steps:
        flagged = [o for o in labelled if o.peak_risk >= threshold]
        caught = sum(o.decision == "cheating" for o in flagged)
        precision.append(caught / len(flagged) if flagged else float("nan"))
        recall.append(caught / cheating if cheating else float("nan"))
    axis.plot(steps, precision, color=_PRECISION, linewidth=2)
    axis.plot(steps, recall, color=_RECALL, linewidth=2)
    for values, name, colour in ((precision, "precision", _PRECISION), (recall, "recall", _RECALL)):
        last = next((i for i in range(len(values) - 1, -1, -1) if values[i] == values[i]), None)  # not NaN
        if last is not None:
            axis.annotate(
                name,
                (steps[last], values[last]),
                xytext=(4, 4),
                textcoords="offset points",
                color=colour,
                weight="bold",
            )
    for policy, (_, flagged_at) in sorted(evaluation.thresholds.items()):
        axis.axvline(flagged_at, color="black", linestyle="--", linewidth=1)
        at = steps.index(min(steps, key=lambda t: abs(t - flagged_at)))
        here = [
            f"{name} {values[at]:.2f}" if values[at] == values[at] else f"{name} -"  # NaN: no session flagged
            for name, values in (("precision", precision), ("recall", recall))
        ]
        axis.text(
            flagged_at + 1,
            0.03,
            f"{policy}: flagged_at {flagged_at:g}\n" + "\n".join(here),
            fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"},
        )
    axis.set_xlim(0, 100)
    axis.set_ylim(0, 1.08)
    axis.set_xlabel("flag threshold (risk score 0-100)")
    axis.set_ylabel("share of sessions")
    axis.set_title(
        f"flagged vs reviewers: {cheating} cheating, {len(labelled) - cheating} clean\n"
        "(a session is flagged when its peak risk reaches the threshold)",
        fontsize=10,
    )
    axis.grid(alpha=0.3)


def _risk_over_time(
    axis: Axes,
    outcome: SessionOutcome,
    thresholds: tuple[float, float] | None,
    colours: dict[str, str],
    *,
    last: bool,
) -> None:
    times = [t for t, _ in outcome.risk]
    axis.plot(times, [risk for _, risk in outcome.risk], color="black", linewidth=1.5)
    end = max(times, default=1.0) or 1.0
    for line, detected in enumerate(outcome.detected):  # one text line each: overlapping ones stay readable
        colour = colours.get(detected.behaviour, "grey")
        axis.axvspan(detected.start_s, detected.end_s, ymax=0.88, color=colour, alpha=0.25, linewidth=0)
        axis.text(
            detected.start_s,
            84 - 9 * line,
            f" detected: {detected.behaviour}",
            color=colour,
            fontsize=8,
            weight="bold",
            va="top",
        )
    ranges: dict[tuple[float, float], list[str]] = {}  # the reviewers' ranges: a bar along the top
    for labelled in outcome.labelled:
        ranges.setdefault((labelled.start_s, labelled.end_s), []).append(labelled.behaviour)
    for (start_s, end_s), kinds in ranges.items():
        colour = colours.get(kinds[0], "grey")
        axis.axvspan(start_s, end_s, ymin=0.9, ymax=0.97, color=colour, alpha=0.9, linewidth=0)
        axis.text(start_s, 93.5, f" reviewers: {' + '.join(kinds)}", fontsize=7, va="center", color="white")
    if thresholds is not None:
        for value, name in zip(thresholds, ("review", "flagged"), strict=True):
            axis.axhline(value, color="grey", linestyle=":", linewidth=1)
            axis.text(end, value, f" {name} {value:g}", fontsize=8, va="center", color="dimgrey")
    axis.set_xlim(0, end)
    axis.set_ylim(0, 100)
    axis.set_ylabel("risk")
    if last:
        axis.set_xlabel("seconds from the session's first frame")
    label = outcome.decision or "unlabelled"
    axis.set_title(
        f"{outcome.session_id}: labelled {label}, verdict {outcome.verdict} (peak {outcome.peak_risk:.0f})",
        fontsize=10,
        loc="left",
    )
    axis.grid(alpha=0.3)
