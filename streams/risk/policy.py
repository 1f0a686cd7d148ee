"""Risk policies: how much each behaviour weighs and for how long, and where the verdicts lie.

Policies are versioned YAML files in ``streams/risk/policies/`` (or ``INTEGRITY_RISK_POLICY_DIR``), one
per name, selectable per session by its SessionControl start record; more versions arrive while the
workers run, published to the policies topic (``integrity policy publish``). Files and published
documents pass the same validation (``policy_from_text``), and a ``PolicyBook`` keeps every version it
was given: a version, once known, never changes, and a session keeps the version it started with.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "POLICY_DIR",
    "BehaviourWeight",
    "InvalidPolicy",
    "PolicyBook",
    "RiskPolicy",
    "UnknownPolicy",
    "load_policy",
    "policy_from_text",
]

log = logging.getLogger(__name__)

POLICY_DIR = Path(__file__).resolve().parent / "policies"

# A policy's name is a file name, a key on the policies topic ("name@version") and a word in reports.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_BEHAVIOUR = re.compile(r"[a-z][a-z0-9_]{0,63}")


class InvalidPolicy(ValueError):
    """A policy document that does not validate, or a version that would change; the message says why."""


class UnknownPolicy(LookupError):
    """No policy by that name, and no default to fall back on (it has not arrived yet)."""


@dataclass(frozen=True)
class BehaviourWeight:
    rate: float  # evidence per second while the behaviour holds
    half_life_s: float  # its evidence halves every half_life_s seconds
    min_duration_s: float = 0.0  # shorter occurrences never count
    cap: float = 20.0  # the most evidence this behaviour can hold alone


@dataclass(frozen=True)
class RiskPolicy:
    name: str = "default"
    version: int = 1
    score_scale: float = 10.0
    review_at: float = 30.0
    flagged_at: float = 60.0
    attention_half_life_s: float = 10.0
    max_frame_gap_s: float = 2.0
    lateness_s: float = 30.0
    idle_timeout_s: float = 900.0
    min_observed_s: float = 3.0
    low_confidence: frozenset[str] = frozenset({"low_visibility"})
    # Above this share of a session the camera could not judge (capture quality), its verdict is
    # inconclusive, never flagged: the evidence of the rest is too thin to act on.
    max_unassessable_share: float = 0.5
    behaviours: Mapping[str, BehaviourWeight] = field(default_factory=lambda: MappingProxyType({}))
    recent_events: int = 10

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskPolicy:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidPolicy(f"unknown policy keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        behaviours = data.get("behaviours") or {}
        if not isinstance(behaviours, Mapping):
            raise InvalidPolicy("behaviours is not a mapping of behaviour -> {rate, half_life_s, ...}")
        weights = {}
        for kind, weight in behaviours.items():
            if not isinstance(weight, Mapping):
                raise InvalidPolicy(f"behaviours.{kind} is not a mapping of rate, half_life_s, min_duration_s, cap")
            try:
                weights[kind] = BehaviourWeight(**weight)
            except TypeError as exc:  # an unknown or missing field
                raise InvalidPolicy(f"behaviours.{kind}: {exc}".replace("BehaviourWeight.__init__() ", "")) from None
        values["behaviours"] = MappingProxyType(weights)
        low_confidence = data.get("low_confidence", ())
        if isinstance(low_confidence, str) or not isinstance(low_confidence, list | tuple | set | frozenset):
            raise InvalidPolicy("low_confidence is not a list of condition names")
        values["low_confidence"] = frozenset(low_confidence)
        return cls(**values)

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# (field, lowest, lowest allowed itself?, highest or None): the ranges a number must lie in to mean
# anything (a half-life of 0 divides by zero; a share is 0..1; the score is 0..100).
_RANGES: tuple[tuple[str, float, bool, float | None], ...] = (
    ("score_scale", 0.0, False, None),
    ("review_at", 0.0, False, 100.0),
    ("flagged_at", 0.0, False, 100.0),
    ("attention_half_life_s", 0.0, False, None),
    ("max_frame_gap_s", 0.0, False, None),
    ("lateness_s", 0.0, True, None),
    ("idle_timeout_s", 0.0, False, None),
    ("min_observed_s", 0.0, True, None),
    ("max_unassessable_share", 0.0, True, 1.0),
)
_WEIGHT_RANGES: tuple[tuple[str, float, bool], ...] = (
    ("rate", 0.0, True),
    ("half_life_s", 0.0, False),
    ("min_duration_s", 0.0, True),
    ("cap", 0.0, False),
)


def _range_refusal(path: str, value: object, lowest: float, inclusive: bool, highest: float | None) -> str | None:
    if not _is_number(value):
        return f"{path} is {value!r}, not a finite number"
    number = float(value)  # type: ignore[arg-type]
    if number < lowest or (number == lowest and not inclusive):
        return f"{path} is {value}, {'under' if inclusive else 'not above'} {lowest:g}"
    if highest is not None and number > highest:
        return f"{path} is {value}, above {highest:g}"
    return None


def _document_refusal(data: object) -> str | None:
    """Why a parsed policy document is not a policy, before its fields are read; None when its keys
    and values are all meaningful."""
    if not isinstance(data, dict):
        return f"a policy is a mapping of policy keys, not {type(data).__name__}"
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"name is {name!r}: give one of letters, digits, '.', '_' and '-' (at most 64, no '@')"
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return f"version is {version!r}: give a whole number from 1 on"
    for key, lowest, inclusive, highest in _RANGES:
        if key in data and (reason := _range_refusal(key, data[key], lowest, inclusive, highest)):
            return reason
    recent = data.get("recent_events", 0)
    if not isinstance(recent, int) or isinstance(recent, bool) or recent < 0:
        return f"recent_events is {recent!r}: give a whole number from 0 on"
    defaults = RiskPolicy()
    review_at, flagged_at = data.get("review_at", defaults.review_at), data.get("flagged_at", defaults.flagged_at)
    if review_at > flagged_at:
        return f"review_at ({review_at}) is above flagged_at ({flagged_at})"
    behaviours = data.get("behaviours") or {}
    for kind, weight in behaviours.items() if isinstance(behaviours, dict) else ():
        if not isinstance(kind, str) or not _BEHAVIOUR.fullmatch(kind):
            return f"behaviour {kind!r} is not a behaviour's name (lower-case letters, digits and '_')"
        given = weight if isinstance(weight, dict) else {}  # not a mapping: from_dict says so
        weight_keys = [f.name for f in fields(BehaviourWeight)]
        if unknown := sorted(set(given) - set(weight_keys), key=str):
            return f"behaviours.{kind}: unknown keys {', '.join(map(str, unknown))} (known: {', '.join(weight_keys)})"
        if isinstance(weight, dict) and not {"rate", "half_life_s"} <= set(given):
            return f"behaviours.{kind}: rate and half_life_s are required"
        for key, lowest, inclusive in _WEIGHT_RANGES:
            if key in given and (
                reason := _range_refusal(f"behaviours.{kind}.{key}", given[key], lowest, inclusive, None)
            ):
                return reason
    conditions = data.get("low_confidence", [])
    if isinstance(conditions, list) and not all(isinstance(c, str) for c in conditions):
        return "low_confidence is not a list of condition names"
    return None


def policy_from_text(text: str) -> RiskPolicy:
    """The policy a YAML (or JSON) document describes; ``InvalidPolicy``, saying why, when it does not
    describe one. What a policy file and a published policy both pass."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidPolicy(f"not YAML or JSON: {' '.join(str(exc).split())}") from None
    if reason := _document_refusal(data):
        raise InvalidPolicy(reason)
    return RiskPolicy.from_dict(data)


def load_policy(path: Path) -> RiskPolicy:
    try:
        return policy_from_text(path.read_text())
    except InvalidPolicy as exc:
        raise InvalidPolicy(f"{path}: {exc}") from None


class PolicyBook:
    """Every version of every policy it was given, by name; unknown names fall back to the default, loudly.

    Starts with the policy files of a folder and grows (``add``) as versions are published. A name stands
    for its newest version; a session keeps the version it started with (``get(name, version)``). The book
    is a collection of names (``in`` also takes "name@version")."""

    def __init__(
        self, directory: Path | str = POLICY_DIR, default: str = "default", *, require_default: bool = True
    ) -> None:
        """``require_default=False``: the default may arrive later (published), as for a worker."""
        directory = Path(directory or POLICY_DIR)
        self.versions: dict[str, RiskPolicy] = {}  # "name@version" -> the policy
        self.policies: dict[str, RiskPolicy] = {}  # name -> its newest version
        self.default = default
        self._warned: set[str] = set()
        for path in sorted(directory.glob("*.yaml")):
            policy = load_policy(path)
            if policy.name != path.stem:
                log.warning("%s holds policy %r: it is known by that name, not by the file's", path, policy.name)
            try:
                self.add(policy)
            except InvalidPolicy as exc:
                raise InvalidPolicy(f"{path}: {exc}") from None
        if require_default and default not in self.policies:
            raise FileNotFoundError(f"no {default}.yaml policy in {directory}")

    @classmethod
    def of(cls, *policies: RiskPolicy, default: str | None = None) -> PolicyBook:
        """A book of ``policies`` alone (no folder), its default the first one's name unless given."""
        book = cls.__new__(cls)
        book.versions, book.policies, book._warned = {}, {}, set()
        book.default = default or policies[0].name
        for policy in policies:
            book.add(policy)
        return book

    def add(self, policy: RiskPolicy) -> bool:
        """Keep ``policy``; True when it is new, False when the book had it already (the same content).
        ``InvalidPolicy`` when its version is known with other content: versions never change."""
        known = self.versions.get(policy.id)
        if known is not None:
            if known == policy:
                return False
            newest = self.policies[policy.name].version
            raise InvalidPolicy(
                f"{policy.id} is known with other content; a version never changes: publish it as version {newest + 1}"
            )
        self.versions[policy.id] = policy
        newest_known = self.policies.get(policy.name)
        if newest_known is None or policy.version > newest_known.version:
            self.policies[policy.name] = policy
        return True

    @staticmethod
    def _parts(name: str, version: int | None) -> tuple[str, int | None]:
        """("interview@3", None) and ("interview", 3) -> ("interview", 3); a bad number: version -1."""
        if version is None and "@" in name:
            name, _, number = name.rpartition("@")
            version = int(number) if number.isdigit() else -1
        return name, version

    def find(self, name: str | None, version: int | None = None) -> RiskPolicy | None:
        """The policy ``name`` (or "name@version") names exactly, its newest version unless one is given;
        None when the book has no such policy or version."""
        if not name:
            return None
        name, version = self._parts(name, version)
        return self.policies.get(name) if version is None else self.versions.get(f"{name}@{version}")

    def get(self, name: str | None, version: int | None = None) -> RiskPolicy:
        """The policy ``name`` (or "name@version") asks for; the newest version of its name when that
        version is unknown here, the default when the name is; ``UnknownPolicy`` without a default."""
        if (found := self.find(name, version)) is not None:
            return found
        if name:
            bare, version = self._parts(name, version)
            if bare in self.policies:
                newest = self.policies[bare]
                # Once per version: a session pinned to it asks on every frame.
                self._warn_once(
                    f"{bare}@{version}", "unknown version %s of risk policy %r: using %s", version, bare, newest.id
                )
                return newest
            if bare != self.default:
                log.warning("unknown risk policy %r: using %r", name, self.default)
        default = self.policies.get(self.default)
        if default is None:
            raise UnknownPolicy(
                f"no risk policy {self.default!r} (INTEGRITY_RISK_DEFAULT_POLICY): neither a file nor published yet"
            )
        return default

    def _warn_once(self, what: str, message: str, *args: object) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning(message, *args)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.policies))

    def __len__(self) -> int:
        return len(self.policies)
