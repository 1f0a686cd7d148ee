"""``integrity evaluate`` and ``integrity calibrate``: recorded sessions against reviewer labels, and
``integrity evaluate --accuracy``: the vision stage against labelled images (docs/ACCURACY.md).

stdout carries the product's output (the tables, the metrics, the files written; with ``--accuracy``
only the Markdown, and only with ``--out -``); progress bars and refusals go to stderr.
docs/EVALUATION.md describes the labels, the metrics and the search.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaConnectionError
from tqdm import tqdm

from streams.cli.common import progress_bar, refuse, settings_for
from streams.offline.calibration import CalibrationError, calibrate, comparison_table, write_policy
from streams.offline.evaluation import (
    Evaluation,
    RecordedSession,
    SessionOutcome,
    evaluate,
    load_sessions,
    policy_book_of,
)
from streams.offline.labels import LabelError, SessionLabel, load_labels
from streams.offline.reviews import ReviewReport, labels_from_reviews, review_report
from streams.risk.policy import POLICY_DIR, PolicyBook, load_policy
from streams.settings import Settings

__all__ = ["DEFAULT_ACCURACY_DOC", "DEFAULT_EVALUATION_DIR", "format_evaluation", "register", "run_accuracy"]

DEFAULT_EVALUATION_DIR = Path(".integrity/evaluation")
DEFAULT_ACCURACY_DOC = Path("docs/ACCURACY.md")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="replay recorded sessions through the risk core and hold their verdicts against reviewer labels",
        description="Replay recorded sessions through the risk engine offline (deterministic: each observation "
        "is scored at its capture time) and compare their verdicts with reviewer labels: a per-session table, "
        "precision and recall of flagged and review, false flags per clean session-hour, per-behaviour "
        "precision, time to flag. Writes evaluation.json and evaluation.png. See docs/EVALUATION.md. "
        "With --accuracy instead: the vision stage's accuracy on labelled images built from packaged photos "
        "(faces by condition, head pose by angle, gaze with and without the baseline, objects), written as "
        "Markdown (docs/ACCURACY.md).",
    )
    _common(p, required=False)
    p.add_argument(
        "--policy",
        metavar="NAME_OR_PATH",
        help="judge every session with this policy (a name in the policy folder, or a policy file); "
        "default: the policy each session's start record names",
    )
    p.add_argument(
        "--out",
        help=f"folder for evaluation.json and .png (default {DEFAULT_EVALUATION_DIR}); with --accuracy, the "
        f"Markdown file (default {DEFAULT_ACCURACY_DOC}; - for stdout)",
    )
    p.add_argument(
        "--accuracy",
        action="store_true",
        help="measure the vision stage on labelled images instead (no recordings or labels; ~1 minute)",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="with --accuracy: also write the readings behind the report as JSON to FILE",
    )
    p.add_argument(
        "--weights",
        metavar="W",
        help="with --accuracy: YOLO weights for the objects section (default INTEGRITY_YOLO_WEIGHTS; "
        "none: objects not measured)",
    )
    p.set_defaults(func=_run_evaluate, usage_error=p.error)

    p = sub.add_parser(
        "calibrate",
        help="search a policy's thresholds and behaviour weights against reviewer labels; writes a new policy",
        description="Search the policy's flagged_at, review_at and per-behaviour rate, min_duration_s and "
        "half_life_s (coordinate descent over fixed grids) for the most recall of flagged on cheating "
        "sessions with at most the target false flags per clean session-hour. Writes the result as a new "
        "policy file <name>-cal<N>.yaml beside the old one; nothing is overwritten. See docs/EVALUATION.md.",
    )
    _common(p, required=True)
    p.add_argument(
        "--target-false-flag-rate",
        type=float,
        required=True,
        metavar="R",
        help="the most false flags (clean sessions flagged) per clean session-hour",
    )
    p.add_argument("--policy", metavar="NAME", help="the policy to start from (default: the default policy)")
    p.set_defaults(func=_run_calibrate, usage_error=p.error)


def _common(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument(
        "recordings",
        nargs="+" if required else "*",
        type=Path,
        metavar="RECORDING",
        help="recording files (integrity record)",
    )
    p.add_argument("--labels", type=Path, metavar="FILE", help="reviewer labels, .csv or .json")
    p.add_argument(
        "--reviews",
        action="store_true",
        help="labels from the reviews topic instead (reviewers' decisions, Review records, read from the broker); "
        "evaluate with --reviews and no RECORDING: what reviewers said per policy version and behaviour",
    )
    p.add_argument("--policy-dir", type=Path, metavar="DIR", help="policy folder (default INTEGRITY_RISK_POLICY_DIR)")


def _book(args: argparse.Namespace, settings: Settings) -> tuple[Path, PolicyBook]:
    directory = Path(args.policy_dir or settings.risk.policy_dir or POLICY_DIR)
    return directory, PolicyBook(directory, settings.risk.default_policy)


def _labels(
    args: argparse.Namespace, settings: Settings, book: PolicyBook, sessions: list[RecordedSession]
) -> dict[str, SessionLabel]:
    """The labels file's (checked against the behaviours the policies weigh), or the reviews topic's."""
    if args.reviews:
        from streams.kafka.reader import read_all

        reviews = asyncio.run(read_all(settings, settings.topics.reviews, "Review"))
        return labels_from_reviews(reviews, {s.session_id: s.first_captured_at_ms for s in sessions})
    weighed = {kind for policy in book.policies.values() for kind in policy.behaviours}
    return load_labels(args.labels, weighed)


def _check_label_source(args: argparse.Namespace, usage_error: Callable[[str], None]) -> None:
    if bool(args.labels) == bool(args.reviews):
        usage_error("give the labels one way: --labels FILE, or --reviews (the reviews topic)")


def _sessions(paths: list[Path], settings: Settings) -> list[RecordedSession]:
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"no recording {', '.join(missing)}")
    with progress_bar("frames through vision (recordings without observations)", "frame", leave=False) as bar:
        return load_sessions(paths, settings, on_frame=lambda: bar.update())


# -- evaluate -----------------------------------------------------------------------------------------


def _run_evaluate(args: argparse.Namespace) -> int:
    if args.accuracy:
        if args.recordings or args.labels or args.policy:
            args.usage_error("--accuracy takes no RECORDING, --labels or --policy")
        return run_accuracy(args)
    if args.weights or args.json:
        args.usage_error("--weights and --json go with --accuracy")
    args.out = Path(args.out) if args.out else DEFAULT_EVALUATION_DIR
    if args.reviews and not args.recordings:
        return _run_review_report(args)
    if not args.recordings:
        args.usage_error(
            "give RECORDING... with --labels FILE or --reviews (recorded sessions against reviewer labels), "
            "--reviews alone (what reviewers said), or --accuracy"
        )
    _check_label_source(args, args.usage_error)
    settings = settings_for(args)
    try:
        _, book = _book(args, settings)
        forced = None
        if args.policy and (args.policy.endswith((".yaml", ".yml")) or Path(args.policy).is_file()):
            policy = load_policy(Path(args.policy))
            book, forced = policy_book_of(policy), policy.name
        elif args.policy:
            if args.policy not in book.policies:
                raise ValueError(f"no policy {args.policy!r} (known: {', '.join(sorted(book.policies))})")
            forced = args.policy
        sessions = _sessions(args.recordings, settings)
        labels = _labels(args, settings, book, sessions)
    except (LabelError, OSError, ValueError) as exc:
        return refuse(str(exc), "evaluate")
    if not sessions:
        return refuse("the recordings hold no session with observations or frames", "evaluate")
    with progress_bar("sessions scored", "session", leave=False) as bar:
        evaluation = evaluate(sessions, labels, book, policy=forced, on_session=lambda _: bar.update())
    for line in format_evaluation(evaluation):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = args.out / "evaluation.json", args.out / "evaluation.png"
    json_path.write_text(json.dumps(evaluation.to_dict(), indent=2) + "\n")
    from streams.cli.evaluation_plot import plot_evaluation  # matplotlib: only when it draws

    plot_evaluation(evaluation, png_path)
    print(f"wrote {json_path} and {png_path}")
    return 0


def _accuracy_command(args: argparse.Namespace, weights: str) -> str:
    """The command as typed, with the weights' variable in front when they came from it."""
    command = "integrity evaluate --accuracy"
    if args.out:
        command += f" --out {args.out}"
    if args.weights:
        command += f" --weights {args.weights}"
    elif weights:
        command = f"INTEGRITY_YOLO_WEIGHTS={weights} {command}"
    return command


def run_accuracy(args: argparse.Namespace) -> int:
    """``integrity evaluate --accuracy`` (``args``: ``out``, ``json``, ``weights``)."""
    from streams.offline.accuracy import markdown, measure  # MediaPipe and the renderer: only when measuring

    out = args.out or str(DEFAULT_ACCURACY_DOC)
    weights = args.weights if args.weights is not None else settings_for(args).vision.yolo_weights
    with progress_bar("frames observed", "frame", leave=False) as bar, contextlib.redirect_stdout(sys.stderr):

        def step(stage: str) -> None:
            bar.set_description(stage, refresh=False)
            bar.update()

        accuracy = measure(
            weights=weights, command=_accuracy_command(args, weights), progress=step, settings=settings_for(args)
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(accuracy.to_dict(), indent=2) + "\n")
    text = markdown(accuracy)
    if out == "-":
        sys.stdout.write(text)
        return 0
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path} ({accuracy.seconds:.0f} s of measuring)", file=sys.stderr)
    return 0


def _outcome_word(outcome: SessionOutcome) -> str:
    if outcome.decision is None:
        return "unlabelled"
    if outcome.decision == "cheating":
        return "caught" if outcome.flagged else "MISSED"
    return "FALSE FLAG" if outcome.flagged else "ok"


def _behaviours(outcome: SessionOutcome) -> str:
    mark = {True: " +", False: " -", None: ""}
    parts = [f"{d.behaviour} {d.start_s:.1f}-{d.end_s:.1f}{mark[d.confirmed]}" for d in outcome.detected]
    return ", ".join(parts) or "-"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def format_evaluation(evaluation: Evaluation) -> list[str]:
    """The per-session table, then the metrics: what ``integrity evaluate`` prints."""
    width = max([len("session"), *(len(o.session_id) for o in evaluation.sessions)])
    lines = [
        f"{'session':<{width}}  {'label':<10} {'verdict':<13} {'outcome':<11} {'peak':>6} {'final':>6} "
        f"{'1st flag':>9}  behaviours detected (s from first frame; + confirmed by a label, - not)"
    ]
    for o in evaluation.sessions:
        lines.append(
            f"{o.session_id:<{width}}  {o.decision or '-':<10} {o.verdict:<13} {_outcome_word(o):<11} "
            f"{o.peak_risk:>6.1f} {o.final_risk:>6.1f} {_seconds(o.first_flag_s):>9}  {_behaviours(o)}"
        )
    m = evaluation.metrics
    thresholds = "; ".join(
        f"{policy}: review at {review:g}, flagged at {flagged:g}"
        for policy, (review, flagged) in sorted(evaluation.thresholds.items())
    )
    lines += [
        "",
        f"policy {thresholds}",
        f"{m.labelled_sessions} labelled sessions ({m.cheating_sessions} cheating, {m.clean_sessions} clean); "
        f"unlabelled (not counted): {', '.join(evaluation.unlabelled) or 'none'}; "
        f"labelled but not recorded: {', '.join(evaluation.missing) or 'none'}",
    ]
    for name, d, note in (
        ("flagged", m.flagged, f"caught {m.flagged.true_positives}, missed {m.flagged.false_negatives}, "),
        ("review", m.review, "positive = review or flagged, "),
    ):
        lines.append(
            f"{name:<8} precision {_ratio(d.precision)}  recall {_ratio(d.recall)}  F1 {_ratio(d.f1)}  "
            f"({note}false positives {d.false_positives})"
        )
    lines.append(
        f"false flags per clean session-hour: {_ratio(m.false_flags_per_clean_hour)} "
        f"({m.false_flags} clean session(s) flagged in {m.clean_hours:.3f} h observed)"
    )
    ttf = m.time_to_flag
    lines.append(
        f"time to flag (cheating sessions flagged at some frame): median {_seconds(ttf.median_s)}, "
        f"max {_seconds(ttf.max_s)} over {ttf.sessions} session(s)"
    )
    for kind, score in sorted(m.behaviours.items()):
        lines.append(
            f"behaviour {kind}: precision {_ratio(score.precision)} ({score.confirmed} of {score.detections} "
            f"detections confirmed), recall {_ratio(score.recall)} ({score.ranges_found} of "
            f"{score.labelled_ranges} labelled ranges found)"
        )
    if not m.behaviours:
        lines.append("behaviours: no labelled time ranges, no per-behaviour precision")
    return lines


# -- calibrate ----------------------------------------------------------------------------------------


def _run_calibrate(args: argparse.Namespace) -> int:
    _check_label_source(args, args.usage_error)
    settings = settings_for(args)
    try:
        directory, book = _book(args, settings)
        name = args.policy or book.default
        if name not in book.policies:
            raise ValueError(f"no policy {name!r} in {directory} (known: {', '.join(sorted(book.policies))})")
        sessions = _sessions(args.recordings, settings)
        labels = _labels(args, settings, book, sessions)
        with progress_bar("candidate policies", "policy", leave=False) as bar:
            calibration = calibrate(
                sessions, labels, book.policies[name], args.target_false_flag_rate, on_candidate=_update(bar)
            )
    except (LabelError, CalibrationError, OSError, ValueError) as exc:
        return refuse(str(exc), "calibrate")
    if not calibration.meets_target:
        print("\n".join(comparison_table(calibration)))
        print(
            f"integrity calibrate: no policy on the grids keeps within {args.target_false_flag_rate:g} false flags "
            "per clean session-hour; nothing written",
            file=sys.stderr,
        )
        return 1
    if not calibration.changes:
        print("\n".join(comparison_table(calibration)))
        print(f"nothing written: no change to {calibration.base.id} does better on these sessions")
        return 0
    path, policy = write_policy(calibration, directory, str(args.labels) if args.labels else "the reviews topic")
    print("\n".join(comparison_table(calibration, policy.id)))
    print(f"new policy: {path}")
    print(f"sessions use it when their start record names policy {policy.name!r} (workers read the folder at start)")
    return 0


def _update(bar: tqdm) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update


# -- evaluate --reviews -------------------------------------------------------------------------------


def _run_review_report(args: argparse.Namespace) -> int:
    from streams.kafka.reader import read_all

    settings = settings_for(args)
    topics = settings.topics

    async def read() -> tuple[list[Any], list[Any]]:
        return (
            await read_all(settings, topics.reviews, "Review"),
            await read_all(settings, topics.reports, "FinalReport"),
        )

    try:
        reviews, reports = asyncio.run(read())
    except KafkaConnectionError as exc:
        return refuse(
            command="evaluate", message=f"cannot reach the broker at {settings.broker.bootstrap_servers}: {exc}"
        )
    report = review_report(reviews, reports)
    for line in format_review_report(report, len(reviews)):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "reviews.json"
    path.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    print(f"wrote {path}")
    return 0


def format_review_report(report: ReviewReport, reviews: int) -> list[str]:
    """Per policy version and behaviour: reviewers' precision and false flags per clean session-hour;
    then how each moved from a policy's previous version to its latest."""
    lines = [f"{reviews} reviews; per policy version and behaviour (precision: confirmed of reviewed)"]
    lines.append(
        f"{'policy':<20} {'behaviour':<18} {'confirmed':>9} {'dismissed':>9} {'precision':>9} {'false/clean h':>13}"
    )
    for name, policy in sorted(report.policies.items()):
        lines.append(
            f"{name:<20} {'(sessions)':<18} {policy.sessions:>9} judged, {policy.reviewed} reviewed, "
            f"{policy.clean_hours:.3f} clean h"
        )
        for kind, tally in sorted(policy.behaviours.items()):
            lines.append(
                f"{name:<20} {kind:<18} {tally.confirmed:>9} {tally.dismissed:>9} {_ratio(tally.precision):>9} "
                f"{_ratio(policy.false_flags_per_clean_hour(kind)):>13}"
            )
    moved = report.moved()
    if not moved:
        lines.append("no policy has two versions reviewed yet: nothing to compare")
    for name, change in moved.items():
        for kind, delta in change["behaviours"].items():
            lines.append(
                f"{name} {change['from']} -> {change['to']}: {kind} precision {_signed(delta['precision'])}, "
                f"false flags per clean hour {_signed(delta['false_flags_per_clean_hour'])}"
            )
    return lines


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"
