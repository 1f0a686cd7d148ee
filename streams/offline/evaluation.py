"""Offline evaluation: recorded sessions replayed through the risk core, their verdicts against reviewer labels.

A session's observations are scored in frame order by ``RiskEngine``, the very code the risk agent runs,
under the policy its start record names (or a forced one), with ``now_ms`` = the observation's capture
time, so a replay is deterministic; its final report is ``final_report``'s. A session recorded with
frames and no observations goes through the vision stage first, as the detection agent would run it.

Metrics, over labelled sessions only (sessions without a label are listed as unlabelled):

- ``flagged``: positive = verdict ``flagged``, truth = ``cheating``; ``review``: positive = ``review``
  or ``flagged``. Precision, recall, F1; None where a ratio has nothing to divide by.
- false flags per clean session-hour: clean sessions flagged / hours observed of all clean sessions.
- per behaviour, in sessions whose labels carry time ranges: a detected interval (one the engine counted
  as evidence under the policy) is confirmed when it shares an instant with a labelled range of its
  type; precision = confirmed / detected, and recall = labelled ranges some detection overlaps / ranges.
- time to flag: seconds from a cheating session's first frame to its first flagged Result, over the
  cheating sessions that had one (median, max).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from schemas.records import FinalReport, Frame, Observation, Recorded, Result, SessionControl, new_session_control
from streams.offline.labels import Decision, LabelledRange, SessionLabel
from streams.recording.format import kind_of, read_recordings
from streams.risk.engine import LateObservation, RiskEngine
from streams.risk.evidence import counts, observed_end
from streams.risk.policy import PolicyBook, RiskPolicy
from streams.risk.report import final_report
from streams.risk.state import SessionState
from streams.settings import Settings

__all__ = [
    "BehaviourScore",
    "DetectedBehaviour",
    "Detection",
    "Evaluation",
    "Metrics",
    "RecordedSession",
    "Replay",
    "SessionOutcome",
    "TimeToFlag",
    "evaluate",
    "load_sessions",
    "metrics_of",
    "policy_book_of",
    "replay_session",
    "sessions_from_records",
]


# -- recorded sessions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedSession:
    session_id: str
    observations: tuple[Observation, ...]  # one per frame sequence, in frame order
    start: SessionControl | None = None  # its start record, if recorded: the policy it asked for

    @property
    def first_captured_at_ms(self) -> int:
        """Labelled times count from here."""
        return self.observations[0]["captured_at_ms"] if self.observations else 0


def sessions_from_records(
    records: Iterable[Recorded], settings: Settings | None = None, on_frame: Callable[[], None] | None = None
) -> list[RecordedSession]:
    """Recorded records grouped by session, sorted by session id. Observations recorded twice (a
    redelivered frame) count once. ``settings``: the vision stage's, for sessions recorded as frames only."""
    starts: dict[str, SessionControl] = {}
    observations: dict[str, dict[int, Observation]] = {}
    frames: dict[str, dict[int, Frame]] = {}
    for record in records:
        sid, kind = record["session_id"], kind_of(record)
        if kind == "control":
            control = cast(SessionControl, record["value"])
            if control["action"] == "start":
                starts.setdefault(sid, control)
        elif kind == "observation":
            observation = cast(Observation, record["value"])
            observations.setdefault(sid, {}).setdefault(observation["frame_sequence"], observation)
        else:
            frame = cast(Frame, record["value"])
            frames.setdefault(sid, {}).setdefault(frame["sequence"], frame)
    sessions = []
    for sid in sorted(starts.keys() | observations.keys() | frames.keys()):
        observed = observations.get(sid) or {}
        if not observed and frames.get(sid):
            observed = {o["frame_sequence"]: o for o in _observe(sid, frames[sid], settings, on_frame)}
        if observed:
            sessions.append(RecordedSession(sid, tuple(observed[s] for s in sorted(observed)), starts.get(sid)))
    return sessions


def load_sessions(
    paths: Iterable[Path], settings: Settings | None = None, on_frame: Callable[[], None] | None = None
) -> list[RecordedSession]:
    """The sessions of recording files (``streams.recording.format``)."""
    return sessions_from_records(read_recordings(paths), settings, on_frame)


def _observe(
    session_id: str, frames: Mapping[int, Frame], settings: Settings | None, on_frame: Callable[[], None] | None
) -> list[Observation]:
    """Frames through the vision stage and the behaviour analyser, in order, as the detection agent runs them."""
    from streams.vision import BehaviourAnalyser, ImageDecodeError, VisionPipeline  # MediaPipe, YOLO: only here

    settings = settings or Settings()
    pipeline, analyser = VisionPipeline(settings.vision), BehaviourAnalyser(settings.behaviour, settings.vision)
    state, observed, check = None, [], None
    for sequence in sorted(frames):
        try:
            observation, check = pipeline.observe_in_session(frames[sequence], check)
        except ImageDecodeError:
            continue  # the detection agent dead-letters it
        state = analyser.annotate(state, observation)
        observed.append(observation)
        if on_frame is not None:
            on_frame()
    return observed


# -- replay -------------------------------------------------------------------------------------------


def policy_book_of(policy: RiskPolicy) -> PolicyBook:
    """A book holding ``policy`` alone, as its default: a policy file given by path, a calibration candidate."""
    return PolicyBook.of(policy)


@dataclass(frozen=True)
class DetectedBehaviour:
    behaviour: str
    start_s: float  # from the session's first frame
    end_s: float
    # Shares an instant with a labelled range of its type; None when the session's label has no ranges.
    confirmed: bool | None = None


@dataclass(frozen=True)
class Replay:
    results: list[Result]  # one per scored observation, in frame order
    report: FinalReport
    detected: list[DetectedBehaviour]
    policy: RiskPolicy  # the one that judged the session


def _start_record(session: RecordedSession, policy: str | None) -> SessionControl:
    first = session.observations[0]
    start = session.start or new_session_control(
        session.session_id, "start", first["candidate_id"], policy="", at_ms=first["captured_at_ms"]
    )
    return {**start, "policy": policy} if policy is not None else start


def replay_session(session: RecordedSession, engine: RiskEngine, policy: str | None = None) -> Replay:
    """Score ``session`` as the risk agent would: start, every observation, final report (``policy``: force it)."""
    state = engine.start(None, _start_record(session, policy))
    # Every interval the engine sees, never folded away: the detections to hold against labelled ranges.
    seen = SessionState(session.session_id, state.candidate_id, state.policy)
    results = []
    for observation in session.observations:
        try:
            state, result = engine.apply(state, observation, now_ms=observation["captured_at_ms"])
        except LateObservation:
            continue  # the agent dead-letters it
        RiskEngine._record_intervals(seen, observation)  # the engine's own reading of conditions and events
        results.append(result)
    end_ms = state.last_captured_at_ms or session.first_captured_at_ms
    report = final_report(engine, state, "ended", now_ms=end_ms)
    judged = engine.policy_for(state)
    return Replay(results, report, _detections(seen, judged, session.first_captured_at_ms), judged)


def _detections(seen: SessionState, policy: RiskPolicy, first_ms: int) -> list[DetectedBehaviour]:
    detected = []
    for interval in seen.evidence["intervals"].values():
        weight = policy.behaviours.get(interval["type"])
        if weight is None or not counts(interval, weight):
            continue  # not evidence under this policy (unweighted, or shorter than its minimum)
        start, end = interval["start"], observed_end(interval)
        detected.append(DetectedBehaviour(interval["type"], (start - first_ms) / 1000.0, (end - first_ms) / 1000.0))
    return sorted(detected, key=lambda d: (d.start_s, d.behaviour))


# -- per session --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionOutcome:
    session_id: str
    decision: Decision | None  # the reviewers'; None: unlabelled
    policy: str  # the id of the policy that judged it
    verdict: str  # the final report's
    frames: int
    observed_s: float
    final_risk: float
    peak_risk: float
    first_review_s: float | None  # first Result at review or flagged, from the first frame
    first_flag_s: float | None
    detected: tuple[DetectedBehaviour, ...]
    labelled: tuple[LabelledRange, ...]
    report: FinalReport
    # (seconds from the first frame, risk score) per Result: for plots, left out of to_dict.
    risk: tuple[tuple[float, float], ...] = field(repr=False, default=())

    @property
    def flagged(self) -> bool:
        return self.verdict == "flagged"

    @property
    def reviewed(self) -> bool:
        return self.verdict in ("review", "flagged")


def _overlaps(detected: DetectedBehaviour, labelled: LabelledRange) -> bool:
    return (
        detected.behaviour == labelled.behaviour
        and detected.start_s <= labelled.end_s
        and labelled.start_s <= detected.end_s
    )


def _outcome(session: RecordedSession, replay: Replay, label: SessionLabel | None) -> SessionOutcome:
    first_ms = session.first_captured_at_ms

    def first(verdicts: tuple[str, ...]) -> float | None:
        at = next((r["captured_at_ms"] for r in replay.results if r["verdict"] in verdicts), None)
        return None if at is None else (at - first_ms) / 1000.0

    ranges = label.behaviours if label else ()
    detected = tuple(
        DetectedBehaviour(d.behaviour, d.start_s, d.end_s, any(_overlaps(d, r) for r in ranges) if ranges else None)
        for d in replay.detected
    )
    report = replay.report
    return SessionOutcome(
        session_id=session.session_id,
        decision=label.decision if label else None,
        policy=report["policy"],
        verdict=report["verdict"],
        frames=report["frames"],
        observed_s=report["observed_s"],
        final_risk=report["final_risk_score"],
        peak_risk=report["peak_risk_score"],
        first_review_s=first(("review", "flagged")),
        first_flag_s=first(("flagged",)),
        detected=detected,
        labelled=ranges,
        report=report,
        risk=tuple(((r["captured_at_ms"] - first_ms) / 1000.0, r["risk_score"]) for r in replay.results),
    )


# -- metrics ------------------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Detection:
    """One positive class against the truth ``cheating``."""

    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float | None:
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.true_positives, 2 * self.true_positives + self.false_positives + self.false_negatives)

    @classmethod
    def of(cls, pairs: Iterable[tuple[bool, bool]]) -> Detection:
        """``pairs``: (positive, truly cheating) per session."""
        tally = [0, 0, 0, 0]
        for positive, cheating in pairs:
            tally[(0 if cheating else 1) if positive else (2 if cheating else 3)] += 1
        return cls(*tally)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class BehaviourScore:
    detections: int
    confirmed: int
    labelled_ranges: int
    ranges_found: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.confirmed, self.detections)

    @property
    def recall(self) -> float | None:
        return _ratio(self.ranges_found, self.labelled_ranges)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"precision": self.precision, "recall": self.recall}


@dataclass(frozen=True)
class TimeToFlag:
    sessions: int
    median_s: float | None
    max_s: float | None


@dataclass(frozen=True)
class Metrics:
    labelled_sessions: int
    cheating_sessions: int
    clean_sessions: int
    flagged: Detection
    review: Detection
    false_flags: int  # clean sessions flagged
    clean_hours: float  # observed, over every clean session
    behaviours: Mapping[str, BehaviourScore]
    time_to_flag: TimeToFlag

    @property
    def false_flags_per_clean_hour(self) -> float | None:
        return self.false_flags / self.clean_hours if self.clean_hours > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled_sessions": self.labelled_sessions,
            "cheating_sessions": self.cheating_sessions,
            "clean_sessions": self.clean_sessions,
            "flagged": self.flagged.to_dict(),
            "review": self.review.to_dict(),
            "false_flags": self.false_flags,
            "clean_hours": self.clean_hours,
            "false_flags_per_clean_hour": self.false_flags_per_clean_hour,
            "behaviours": {kind: score.to_dict() for kind, score in sorted(self.behaviours.items())},
            "time_to_flag": asdict(self.time_to_flag),
        }


def _behaviour_scores(outcomes: Sequence[SessionOutcome]) -> dict[str, BehaviourScore]:
    annotated = [o for o in outcomes if o.labelled]  # a decision alone says nothing about when
    scores = {}
    for kind in sorted({r.behaviour for o in annotated for r in o.labelled}):
        detections = [d for o in annotated for d in o.detected if d.behaviour == kind]
        ranges = [(o, r) for o in annotated for r in o.labelled if r.behaviour == kind]
        scores[kind] = BehaviourScore(
            detections=len(detections),
            confirmed=sum(bool(d.confirmed) for d in detections),
            labelled_ranges=len(ranges),
            ranges_found=sum(any(_overlaps(d, r) for d in o.detected) for o, r in ranges),
        )
    return scores


def metrics_of(outcomes: Iterable[SessionOutcome]) -> Metrics:
    """The metrics of the labelled outcomes (unlabelled ones are skipped)."""
    labelled = [o for o in outcomes if o.decision is not None]
    cheating = [o for o in labelled if o.decision == "cheating"]
    clean = [o for o in labelled if o.decision == "clean"]
    flag_times = sorted(o.first_flag_s for o in cheating if o.first_flag_s is not None)
    return Metrics(
        labelled_sessions=len(labelled),
        cheating_sessions=len(cheating),
        clean_sessions=len(clean),
        flagged=Detection.of((o.flagged, o.decision == "cheating") for o in labelled),
        review=Detection.of((o.reviewed, o.decision == "cheating") for o in labelled),
        false_flags=sum(o.flagged for o in clean),
        clean_hours=sum(o.observed_s for o in clean) / 3600.0,
        behaviours=_behaviour_scores(labelled),
        time_to_flag=TimeToFlag(
            sessions=len(flag_times),
            median_s=statistics.median(flag_times) if flag_times else None,
            max_s=flag_times[-1] if flag_times else None,
        ),
    )


# -- the evaluation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    sessions: tuple[SessionOutcome, ...]  # every recorded session, labelled or not, by session id
    unlabelled: tuple[str, ...]  # recorded, without a label: not in the metrics
    missing: tuple[str, ...]  # labelled, not recorded
    metrics: Metrics
    # policy id -> (review_at, flagged_at), of the policies that judged the sessions
    thresholds: Mapping[str, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; per-frame risk left out (it is in the plot)."""
        sessions = []
        for outcome in self.sessions:
            entry = {k: v for k, v in asdict(outcome).items() if k != "risk"}
            sessions.append(entry | {"flagged": outcome.flagged})
        return {
            "metrics": self.metrics.to_dict(),
            "sessions": sessions,
            "unlabelled": list(self.unlabelled),
            "missing": list(self.missing),
            "thresholds": {
                policy: {"review_at": review, "flagged_at": flagged}
                for policy, (review, flagged) in sorted(self.thresholds.items())
            },
        }


def evaluate(
    sessions: Iterable[RecordedSession],
    labels: Mapping[str, SessionLabel],
    policies: PolicyBook | None = None,
    *,
    policy: str | None = None,
    on_session: Callable[[str], None] | None = None,
) -> Evaluation:
    """Replay every session through the risk core and hold its verdict against its label.

    ``policies``: the book sessions' start records name policies from (default: the packaged folder);
    ``policy``: a name in it that judges every session instead. ``on_session``: called after each one.
    """
    policies = policies or PolicyBook()
    if policy is not None and policy not in policies.policies:
        raise KeyError(f"no policy {policy!r} (known: {', '.join(sorted(policies.policies))})")
    engine = RiskEngine(policies)
    outcomes, thresholds = [], {}
    for session in sorted(sessions, key=lambda s: s.session_id):
        if not session.observations:
            continue
        replay = replay_session(session, engine, policy)
        outcomes.append(_outcome(session, replay, labels.get(session.session_id)))
        thresholds[replay.policy.id] = (replay.policy.review_at, replay.policy.flagged_at)
        if on_session is not None:
            on_session(session.session_id)
    recorded = {o.session_id for o in outcomes}
    return Evaluation(
        sessions=tuple(outcomes),
        unlabelled=tuple(o.session_id for o in outcomes if o.decision is None),
        missing=tuple(sorted(set(labels) - recorded)),
        metrics=metrics_of(outcomes),
        thresholds=thresholds,
    )
