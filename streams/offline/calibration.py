"""Calibrating a risk policy against reviewer labels (``integrity calibrate``): a deterministic grid search.

What moves: ``flagged_at``, ``review_at``, and per behaviour that occurs in the sessions (any condition or
event of a type the policy weighs) its ``rate``, ``min_duration_s`` and ``half_life_s``. Half-lives stay
in because verdicts are the final report's: how fast an early behaviour fades by the session's end
decides them as much as the rate does. Caps, the score scale and the rest stay as they are.

How: coordinate descent over the fixed grids below. A round visits the parameters in a fixed order
(``flagged_at``, ``review_at``, then each behaviour in name order: rate, min_duration_s, half_life_s) and
moves each to its best value among its grid and its current value, the others held. At most ``ROUNDS``
rounds; it stops early when a round moves nothing. ``review_at`` stays below ``flagged_at``: a
``flagged_at`` at or under it pulls ``review_at`` down to the largest grid value below.

Best, in order (so the result is unique): false flags per clean session-hour within the target (over it:
the smaller excess first); then higher recall of ``flagged`` on cheating sessions; higher F1 of
``flagged``; higher F1 of ``review`` (the only criterion ``review_at`` answers to); the smallest change
from the starting policy (sum over parameters of ``|new - old|`` / the span of the parameter's grid);
finally the lower value of the parameter being moved.

Every candidate policy is scored by ``streams.offline.evaluation.evaluate``, the risk engine itself, over
observations decoded once; each distinct candidate is scored once.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from streams.offline.evaluation import Evaluation, RecordedSession, evaluate, policy_book_of
from streams.offline.labels import SessionLabel
from streams.risk.policy import RiskPolicy, load_policy

__all__ = [
    "BEHAVIOUR_GRIDS",
    "FLAGGED_AT_GRID",
    "REVIEW_AT_GRID",
    "ROUNDS",
    "Calibration",
    "CalibrationError",
    "ParameterChange",
    "calibrate",
    "calibrated_name",
    "comparison_table",
    "policy_yaml",
    "write_policy",
]

# Thresholds on the 0..100 score, every 5 points: finer than reviewers' labels can tell apart.
FLAGGED_AT_GRID = (30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0)
REVIEW_AT_GRID = (10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0)
# Per behaviour, roughly geometric: evidence per second, seconds before it counts, seconds to halve.
BEHAVIOUR_GRIDS: Mapping[str, tuple[float, ...]] = MappingProxyType(
    {
        "rate": (0.25, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0),
        "min_duration_s": (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0),
        "half_life_s": (10.0, 20.0, 30.0, 60.0, 120.0, 300.0),
    }
)
ROUNDS = 3

_CAL_SUFFIX = re.compile(r"-cal\d+$")


class CalibrationError(ValueError):
    """Labels or sessions calibration cannot work from."""


@dataclass(frozen=True)
class ParameterChange:
    parameter: str  # "flagged_at", or "<behaviour>.<field>"
    before: float
    after: float


@dataclass(frozen=True)
class Calibration:
    base: RiskPolicy
    calibrated: RiskPolicy  # named like the base: ``write_policy`` names it
    before: Evaluation
    after: Evaluation
    changes: tuple[ParameterChange, ...]
    target_false_flag_rate: float
    candidates_scored: int
    rounds: int  # rounds run (the last one moved nothing, unless ROUNDS were all used)

    @property
    def meets_target(self) -> bool:
        rate = self.after.metrics.false_flags_per_clean_hour
        return rate is None or rate <= self.target_false_flag_rate


# -- parameters ---------------------------------------------------------------------------------------


def _get(policy: RiskPolicy, parameter: str) -> float:
    if "." in parameter:
        kind, name = parameter.split(".")
        return float(getattr(policy.behaviours[kind], name))
    return float(getattr(policy, parameter))


def _set(policy: RiskPolicy, parameter: str, value: float) -> RiskPolicy:
    if "." in parameter:
        kind, name = parameter.split(".")
        behaviours = dict(policy.behaviours)
        behaviours[kind] = dataclasses.replace(behaviours[kind], **{name: value})
        return dataclasses.replace(policy, behaviours=MappingProxyType(behaviours))
    if parameter == "review_at":
        return dataclasses.replace(policy, review_at=value)
    policy = dataclasses.replace(policy, flagged_at=value)
    if policy.review_at >= policy.flagged_at:
        below = [v for v in REVIEW_AT_GRID if v < policy.flagged_at]
        policy = dataclasses.replace(policy, review_at=below[-1] if below else policy.flagged_at / 2)
    return policy


def _grid(parameter: str) -> tuple[float, ...]:
    if parameter == "flagged_at":
        return FLAGGED_AT_GRID
    if parameter == "review_at":
        return REVIEW_AT_GRID
    return BEHAVIOUR_GRIDS[parameter.split(".")[1]]


def _values(policy: RiskPolicy, parameter: str) -> list[float]:
    """The values to try: the grid and the current value (``review_at``: those below ``flagged_at``)."""
    values = sorted({*_grid(parameter), _get(policy, parameter)})
    return [v for v in values if v < policy.flagged_at] if parameter == "review_at" else values


def _parameters(policy: RiskPolicy, sessions: Sequence[RecordedSession]) -> list[str]:
    seen = {
        item["type"]
        for session in sessions
        for observation in session.observations
        for item in [*observation["conditions"], *observation["events"]]
    }
    behaviours = sorted(seen & set(policy.behaviours))
    return ["flagged_at", "review_at"] + [f"{kind}.{name}" for kind in behaviours for name in BEHAVIOUR_GRIDS]


def _change(policy: RiskPolicy, base: RiskPolicy, parameters: Sequence[str]) -> float:
    total = 0.0
    for parameter in parameters:
        old, new = _get(base, parameter), _get(policy, parameter)
        values = (*_grid(parameter), old)
        total += abs(new - old) / ((max(values) - min(values)) or 1.0)
    return round(total, 9)  # equal changes compare equal, whatever the float noise


def _rank(evaluation: Evaluation, change: float, target: float) -> tuple[float, ...]:
    metrics = evaluation.metrics
    rate = metrics.false_flags_per_clean_hour or 0.0
    return (
        -max(rate - target, 0.0),
        metrics.flagged.recall or 0.0,
        metrics.flagged.f1 or 0.0,
        metrics.review.f1 or 0.0,
        -change,
    )


# -- the search ---------------------------------------------------------------------------------------


def calibrate(
    sessions: Sequence[RecordedSession],
    labels: Mapping[str, SessionLabel],
    base: RiskPolicy,
    target_false_flag_rate: float,
    *,
    rounds: int = ROUNDS,
    on_candidate: Callable[[int, int], None] | None = None,
) -> Calibration:
    """Search ``base``'s parameters for the best policy on ``sessions`` (every one judged by the candidate).

    ``target_false_flag_rate``: the most false flags per clean session-hour allowed. ``on_candidate(done,
    total)``: progress, ``total`` being an upper bound.
    """
    if not math.isfinite(target_false_flag_rate) or target_false_flag_rate < 0:
        raise CalibrationError(f"the target false-flag rate must be a number >= 0, not {target_false_flag_rate}")
    labelled = [s for s in sessions if s.session_id in labels and s.observations]
    decisions = {labels[s.session_id].decision for s in labelled}
    if decisions != {"clean", "cheating"}:
        raise CalibrationError(
            f"calibration needs recorded sessions labelled cheating and clean; these recordings have "
            f"{len(labelled)} labelled session(s), {', '.join(sorted(decisions)) or 'none'}"
        )
    parameters = _parameters(base, labelled)
    scored: dict[tuple[float, ...], Evaluation] = {}  # by the searched parameters' values
    total = rounds * sum(len(_grid(p)) + 1 for p in parameters)
    visited = 0

    def score(policy: RiskPolicy) -> Evaluation:
        key = tuple(_get(policy, p) for p in parameters)
        if key not in scored:
            scored[key] = evaluate(labelled, labels, policy_book_of(policy), policy=policy.name)
        return scored[key]

    def rank(policy: RiskPolicy) -> tuple[float, ...]:
        return _rank(score(policy), _change(policy, base, parameters), target_false_flag_rate)

    current, rounds_run = base, 0
    for _ in range(rounds):
        rounds_run += 1
        start_of_round = current
        for parameter in parameters:
            best: tuple[tuple[float, ...], RiskPolicy] | None = None
            for value in _values(current, parameter):
                candidate = _set(current, parameter, value)
                key = (*rank(candidate), -value)
                if best is None or key > best[0]:
                    best = (key, candidate)
                visited += 1
                if on_candidate is not None:
                    on_candidate(visited, total)
            assert best is not None
            current = best[1]
        if current == start_of_round:
            break
    changes = tuple(
        ParameterChange(p, _get(base, p), _get(current, p)) for p in parameters if _get(base, p) != _get(current, p)
    )
    if on_candidate is not None:
        on_candidate(total, total)
    return Calibration(
        base=base,
        calibrated=current,
        before=score(base),
        after=score(current),
        changes=changes,
        target_false_flag_rate=target_false_flag_rate,
        candidates_scored=len(scored),
        rounds=rounds_run,
    )


# -- the before/after table ---------------------------------------------------------------------------


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _number(value: float) -> str:
    return f"{value:g}"


def comparison_table(calibration: Calibration, after_name: str | None = None) -> list[str]:
    """Lines: precision/recall of flagged and review, false flags per clean hour, what moved, verdicts changed."""
    before, after = calibration.before.metrics, calibration.after.metrics
    head_after = after_name or "calibrated"
    rows = [
        ("flagged precision", before.flagged.precision, after.flagged.precision),
        ("flagged recall", before.flagged.recall, after.flagged.recall),
        ("review precision", before.review.precision, after.review.precision),
        ("review recall", before.review.recall, after.review.recall),
        ("false flags per clean hour", before.false_flags_per_clean_hour, after.false_flags_per_clean_hour),
    ]
    lines = [f"{'':<28}{calibration.base.id:>16}{head_after:>20}"]
    lines += [f"{name:<28}{_figure(b):>16}{_figure(a):>20}" for name, b, a in rows]
    lines.append("")
    if calibration.changes:
        moved = "; ".join(f"{c.parameter} {_number(c.before)} -> {_number(c.after)}" for c in calibration.changes)
        lines.append(f"changed: {moved}")
    else:
        lines.append("changed: nothing (the starting policy is the best on the grids)")
    was = {o.session_id: o for o in calibration.before.sessions}
    flips = [o for o in calibration.after.sessions if o.verdict != was[o.session_id].verdict]
    lines.append(f"verdicts changed: {len(flips)} of {len(calibration.after.sessions)} sessions")
    width = max((len(o.session_id) for o in flips), default=0)
    lines += [
        f"  {o.session_id:<{width}}  {o.decision or 'unlabelled':<10} {was[o.session_id].verdict} -> {o.verdict}"
        for o in flips
    ]
    return lines


# -- the new policy file ------------------------------------------------------------------------------


def calibrated_name(base: str, directory: Path) -> str:
    """``<base>-cal<N>``, N the first number with no file in ``directory`` (a calibrated policy's own
    suffix is replaced, not nested: default-cal1 calibrates into default-cal2)."""
    stem = _CAL_SUFFIX.sub("", base)
    n = 1
    while (directory / f"{stem}-cal{n}.yaml").exists():
        n += 1
    return f"{stem}-cal{n}"


def _flow(value: object) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000)
    return text.removesuffix("\n...\n").strip()


def policy_yaml(policy: RiskPolicy) -> str:
    """The policy as a policy file: every field, behaviours one per line."""
    lines = []
    for f in dataclasses.fields(RiskPolicy):
        value: Any = getattr(policy, f.name)
        if f.name == "behaviours":
            lines.append("behaviours:")
            width = max((len(kind) for kind in value), default=0) + 1
            for kind, weight in value.items():
                lines.append(f"  {kind + ':':<{width}} {_flow(dataclasses.asdict(weight))}")
        elif f.name == "low_confidence":
            lines.append(f"low_confidence: {_flow(sorted(value))}")
        else:
            lines.append(f"{f.name}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def _header(calibration: Calibration, name: str, labels: str, today: datetime.date) -> list[str]:
    rate, m = _number(calibration.target_false_flag_rate), calibration.before.metrics
    lines = [
        f"{name}: derived from {calibration.base.id} by `integrity calibrate`.",
        f"  labels: {labels} ({m.labelled_sessions} recorded sessions: {m.cheating_sessions} cheating, "
        f"{m.clean_sessions} clean)",
        f"  target: at most {rate} false flags per clean session-hour"
        + ("" if calibration.meets_target else " (NOT met: the best found is over it)"),
        f"  date: {today.isoformat()}",
        f"  search: coordinate descent over the grids of streams/offline/calibration.py, {calibration.rounds} "
        f"round(s), {calibration.candidates_scored} candidate policies scored",
        "",
        *comparison_table(calibration, f"{name}@1"),
    ]
    return [f"# {line}".rstrip() for line in lines]


def write_policy(
    calibration: Calibration, directory: Path, labels: str, today: datetime.date | None = None
) -> tuple[Path, RiskPolicy]:
    """Write the calibrated policy as a new file in ``directory`` (never over an existing one): its name is
    ``calibrated_name``, its version 1, its header says where it came from. Returns its path and policy."""
    today = today or datetime.date.today()
    while True:
        name = calibrated_name(calibration.base.name, directory)
        policy = dataclasses.replace(calibration.calibrated, name=name, version=1)
        text = "\n".join(_header(calibration, name, labels, today)) + "\n" + policy_yaml(policy)
        path = directory / f"{name}.yaml"
        try:
            with path.open("x") as file:  # exclusive: a file made meanwhile is never overwritten
                file.write(text)
        except FileExistsError:
            continue
        if load_policy(path) != policy:
            raise AssertionError(f"{path} does not read back as the calibrated policy")
        return path, policy
