"""Reviewers close the loop: their decisions (``integrity.Review``) as labels, and what they say about
each behaviour of each policy version.

- ``labels_from_reviews``: a session with a confirmed review is ``cheating``, with the confirmed ranges of
  named behaviours as its labelled ranges; a session whose reviews are all dismissals is ``clean``. What
  ``integrity calibrate`` and ``evaluate`` take instead of a labels file.
- ``review_report``: per policy version and behaviour, the precision reviewers found (confirmed over
  confirmed plus dismissed) and the false flags per clean session-hour (dismissals in sessions with no
  confirmed review, over those sessions' observed time from their final reports); and, per policy, how
  both moved from its previous version to its latest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.records import FinalReport, Review
from streams.offline.labels import Decision, LabelledRange, SessionLabel

__all__ = ["BehaviourReviews", "PolicyReviews", "ReviewReport", "labels_from_reviews", "review_report"]


def _latest(reviews: Iterable[Review]) -> list[Review]:
    """Each review once (the last sent of each id), in the order they were made."""
    by_id: dict[tuple[str, str], Review] = {}
    for review in reviews:
        by_id[(review["session_id"], review["review_id"])] = review
    return sorted(by_id.values(), key=lambda r: (r["at_ms"], r["review_id"]))


def labels_from_reviews(reviews: Iterable[Review], first_ms: Mapping[str, int]) -> dict[str, SessionLabel]:
    """Labels by session id. ``first_ms``: each session's first frame capture time, which labelled ranges
    count from (a session missing there counts from its earliest reviewed moment)."""
    by_session: dict[str, list[Review]] = defaultdict(list)
    for review in _latest(reviews):
        by_session[review["session_id"]].append(review)
    labels = {}
    for session_id, kept in sorted(by_session.items()):
        confirmed = [r for r in kept if r["decision"] == "confirmed"]
        origin = first_ms.get(session_id, min(r["started_at_ms"] for r in kept))
        ranges = tuple(
            LabelledRange(
                r["behaviour"],
                max((r["started_at_ms"] - origin) / 1000.0, 0.0),
                max((r["ended_at_ms"] - origin) / 1000.0, 0.0),
            )
            for r in confirmed
            if r["behaviour"]
        )
        decision: Decision = "cheating" if confirmed else "clean"
        labels[session_id] = SessionLabel(session_id, decision, ranges)
    return labels


@dataclass
class BehaviourReviews:
    confirmed: int = 0
    dismissed: int = 0
    dismissed_in_clean: int = 0

    @property
    def precision(self) -> float | None:
        reviewed = self.confirmed + self.dismissed
        return self.confirmed / reviewed if reviewed else None


@dataclass
class PolicyReviews:
    policy: str
    sessions: int = 0  # final reports under this policy
    reviewed: int = 0
    clean_hours: float = 0.0  # observed time of reviewed sessions with no confirmed review
    behaviours: dict[str, BehaviourReviews] = field(default_factory=lambda: defaultdict(BehaviourReviews))

    def false_flags_per_clean_hour(self, behaviour: str) -> float | None:
        if self.clean_hours <= 0:
            return None
        return self.behaviours[behaviour].dismissed_in_clean / self.clean_hours

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "reviewed": self.reviewed,
            "clean_hours": round(self.clean_hours, 4),
            "behaviours": {
                kind: {
                    "confirmed": b.confirmed,
                    "dismissed": b.dismissed,
                    "precision": _round(b.precision),
                    "false_flags_per_clean_hour": _round(self.false_flags_per_clean_hour(kind)),
                }
                for kind, b in sorted(self.behaviours.items())
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _version(policy: str) -> tuple[str, int]:
    name, _, version = policy.rpartition("@")
    return (name, int(version)) if name and version.isdigit() else (policy, 0)


@dataclass
class ReviewReport:
    policies: dict[str, PolicyReviews]

    def moved(self) -> dict[str, dict[str, Any]]:
        """Per policy name with two versions reviewed or more: its latest against the one before, per
        behaviour (the change in precision and in false flags per clean session-hour)."""
        versions: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for policy in self.policies:
            name, number = _version(policy)
            versions[name].append((number, policy))
        out = {}
        for name, found in sorted(versions.items()):
            if len(found) < 2:
                continue
            (_, before), (_, latest) = sorted(found)[-2:]
            old, new = self.policies[before], self.policies[latest]
            change = {}
            for kind in sorted(set(old.behaviours) | set(new.behaviours)):
                change[kind] = {
                    "precision": _delta(new.behaviours[kind].precision, old.behaviours[kind].precision),
                    "false_flags_per_clean_hour": _delta(
                        new.false_flags_per_clean_hour(kind), old.false_flags_per_clean_hour(kind)
                    ),
                }
            out[name] = {"from": before, "to": latest, "behaviours": change}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "policies": {policy: p.to_dict() for policy, p in sorted(self.policies.items())},
            "moved": self.moved(),
        }


def _delta(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else round(new - old, 4)


def review_report(reviews: Iterable[Review], reports: Iterable[FinalReport]) -> ReviewReport:
    """What reviewers said, per policy version and behaviour. A review counts under the policy it names,
    else under the policy of its session's final report."""
    report_of = {report["session_id"]: report for report in reports}
    policies: dict[str, PolicyReviews] = {}

    def policy(name: str) -> PolicyReviews:
        return policies.setdefault(name, PolicyReviews(name))

    for judged in report_of.values():
        policy(judged["policy"]).sessions += 1
    by_session: dict[str, list[Review]] = defaultdict(list)
    for review in _latest(reviews):
        by_session[review["session_id"]].append(review)
    for session_id, kept in by_session.items():
        report = report_of.get(session_id)
        clean = all(r["decision"] == "dismissed" for r in kept)
        session_policy = report["policy"] if report else ""
        if session_policy:
            policy(session_policy).reviewed += 1
            if clean and report is not None:
                policy(session_policy).clean_hours += report["observed_s"] / 3600.0
        for review in kept:
            name = review["policy"] or session_policy or "unknown"
            tally = policy(name).behaviours[review["behaviour"] or "(session)"]
            if review["decision"] == "confirmed":
                tally.confirmed += 1
            else:
                tally.dismissed += 1
                tally.dismissed_in_clean += clean
    return ReviewReport(policies)
