"""All configuration in one place: frozen dataclasses, read from the environment once.

Every setting has an environment variable (listed in the README); CLI flags override by setting the
variable before the app is imported. Defaults run the whole product on this machine against the
embedded broker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")

__all__ = [
    "BehaviourSettings",
    "BrokerSettings",
    "RiskSettings",
    "Settings",
    "TopicSettings",
    "VisionSettings",
    "load_settings",
]

EMBEDDED_BOOTSTRAP = "127.0.0.1:19092"


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class BrokerSettings:
    bootstrap_servers: str = EMBEDDED_BOOTSTRAP
    # True when the broker is tansu (the embedded one): switches on the workarounds in
    # shared/FAUST_NOTES.md (one record per producer batch against its ListOffsets bug).
    embedded: bool = True

    @property
    def url(self) -> str:
        """Faust's broker URL for a comma-separated bootstrap list."""
        return ";".join(f"kafka://{host}" for host in self.bootstrap_servers.split(","))


@dataclass(frozen=True)
class TopicSettings:
    frames: str = "integrity.frames"
    events: str = "integrity.events"
    results: str = "integrity.results"
    control: str = "integrity.session-control"
    dead_letter: str = "integrity.dead-letter"
    reports: str = "integrity.reports"
    # One count for every session-keyed topic: the risk table reads partition-locally, so the events
    # topic, the control topic and the table's changelog must be co-partitioned.
    partitions: int = 4
    replication_factor: int = 1

    def all(self) -> tuple[str, ...]:
        return (self.frames, self.events, self.results, self.control, self.dead_letter, self.reports)


@dataclass(frozen=True)
class VisionSettings:
    # MediaPipe face detection: 1 = full-range model (faces up to ~5 m), 0 = short-range (~2 m).
    # Full range costs ~4.4 ms per 640x480 frame here and finds both faces of the sample's two-person
    # frame, where the short-range model finds one (measured).
    face_model: int = 1
    # MediaPipe's own default detection threshold.
    face_min_confidence: float = 0.5
    # Inference runs off the event loop in a pool of this many threads (each thread gets its own
    # MediaPipe graphs and YOLO model). The agent awaits one frame at a time, in order: batching
    # frames across sessions with faust's take_events was tried and dropped: in 0.15.3, reading
    # event.value from its batches analysed one frame twice and skipped the next (frame 2 twice,
    # frame 3 never) in integration runs.
    vision_threads: int = 1
    # Mean luma (0..255) under which a frame is too dark to judge. The sample photos read 56-116; on
    # darkened copies the face mesh (head pose, gaze) still reads at 23 and fails by 14, and the face
    # itself is lost at 4 (docs/ACCURACY.md): 40 keeps a margin above where reading fails.
    too_dark_brightness: float = 40.0
    # A face narrower than this share of the frame is not read for landmarks: at 640 px wide, 0.06 is
    # ~38 px, and the face mesh works on a 192 px crop, so such a face is upscaled 5x and its eye and
    # iris points carry little information. A judgement, not measured against ground truth.
    face_too_small: float = 0.06
    # YOLO weights: a path or an Ultralytics model name. Empty = object detection off (said loudly).
    yolo_weights: str = ""
    # Run YOLO on every Nth frame of a session (by frame sequence); faces and gaze run on every frame.
    yolo_stride: int = 3
    # COCO detections below this score are dropped. The INT8 model scores the people of the packaged
    # photos 0.71-0.96, but the astronaut's spacesuit only 0.34-0.45 (docs/ACCURACY.md).
    object_min_confidence: float = 0.4
    # Half-angles (degrees) of head-plus-eye direction that still look at the screen: a 34 cm wide
    # screen at 60 cm spans +-16 degrees (atan(17/60)); 20 leaves room for its edges.
    gaze_yaw_limit_deg: float = 20.0
    gaze_pitch_limit_deg: float = 20.0


@dataclass(frozen=True)
class BehaviourSettings:
    # How long a condition must hold before it counts (a glance is not looking away), and how long it
    # must be gone before it ends (hysteresis: a flickering detector does not flap).
    face_absent_after_s: float = 2.0
    looking_away_after_s: float = 2.0
    # Consecutive frames with a second face / checked frames with a second person or a phone.
    extra_person_frames: int = 3
    # A second YOLO "person" must score at least this: the INT8 model gives a portrait of one person
    # (grace_hopper.jpg) a second, partial "person" box at 0.45, while real second people read 0.7+.
    extra_person_min_confidence: float = 0.6
    object_frames: int = 2
    release_after_s: float = 1.0
    # A gap between a session's frames longer than this ends every behaviour at the last frame before
    # it: what happened while the camera was not seen is not evidence, either way.
    max_frame_gap_s: float = 2.0
    # Reading pattern: this many separate glances to the same side within the window.
    reading_glances: int = 4
    reading_window_s: float = 30.0
    # Talking: the mouth opens and closes this many times within the window. Inner-lip gap over
    # mouth width above mouth_open_ratio counts as open. The packaged faces read 0.00 with closed
    # lips and 0.17 smiling with teeth; one opening (a smile, a yawn) is never talking.
    talking_openings: int = 3
    talking_window_s: float = 3.0
    mouth_open_ratio: float = 0.12


@dataclass(frozen=True)
class RiskSettings:
    # Weights, half-lives, thresholds and timeouts live in versioned policy files (streams/risk/policies);
    # these pick the folder and the policy of sessions that do not name one.
    policy_dir: str = ""
    default_policy: str = "default"
    # How often each worker looks for idle sessions among the partitions it owns.
    expiry_check_s: float = 5.0
    # After a session's end record, how long to wait for its last frame before finishing without it.
    end_grace_s: float = 10.0


@dataclass(frozen=True)
class Settings:
    app_id: str = "integrity"
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    topics: TopicSettings = field(default_factory=TopicSettings)
    vision: VisionSettings = field(default_factory=VisionSettings)
    behaviour: BehaviourSettings = field(default_factory=BehaviourSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    data_dir: Path = Path(".integrity/worker")
    web_port: int = 6066
    # Where other workers reach this one's web views (table_route redirects there).
    web_host: str = "127.0.0.1"
    log_level: str = "info"


def _from_env(cls: type[_T], env: Mapping[str, str], prefix: str) -> _T:
    """Each field of ``cls`` from ``PREFIX + FIELD_NAME`` when set, converted to the field's type."""
    values = {}
    for item in fields(cls):
        raw = env.get(prefix + item.name.upper())
        if raw is None:
            continue
        kind = type(item.default)
        values[item.name] = _env_bool(raw) if kind is bool else kind(raw)
    return cls(**values)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from environment variables (``os.environ`` by default)."""
    env = os.environ if env is None else env
    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS", EMBEDDED_BOOTSTRAP)
    default_embedded = "true" if bootstrap == EMBEDDED_BOOTSTRAP else "false"
    broker = BrokerSettings(
        bootstrap_servers=bootstrap,
        embedded=_env_bool(env.get("INTEGRITY_EMBEDDED_BROKER", default_embedded)),
    )
    defaults = TopicSettings()
    topics = TopicSettings(
        frames=env.get("INTEGRITY_TOPIC_FRAMES", defaults.frames),
        events=env.get("INTEGRITY_TOPIC_EVENTS", defaults.events),
        results=env.get("INTEGRITY_TOPIC_RESULTS", defaults.results),
        control=env.get("INTEGRITY_TOPIC_CONTROL", defaults.control),
        dead_letter=env.get("INTEGRITY_TOPIC_DEAD_LETTER", defaults.dead_letter),
        reports=env.get("INTEGRITY_TOPIC_REPORTS", defaults.reports),
        partitions=int(env.get("INTEGRITY_PARTITIONS", defaults.partitions)),
        replication_factor=int(env.get("INTEGRITY_REPLICATION_FACTOR", defaults.replication_factor)),
    )
    vision = _from_env(VisionSettings, env, "INTEGRITY_")
    behaviour = _from_env(BehaviourSettings, env, "INTEGRITY_BEHAVIOUR_")
    risk = _from_env(RiskSettings, env, "INTEGRITY_RISK_")
    return Settings(
        app_id=env.get("INTEGRITY_APP_ID", "integrity"),
        broker=broker,
        topics=topics,
        vision=vision,
        behaviour=behaviour,
        risk=risk,
        data_dir=Path(env.get("INTEGRITY_DATA_DIR", ".integrity/worker")),
        web_port=int(env.get("INTEGRITY_WEB_PORT", "6066")),
        web_host=env.get("INTEGRITY_WEB_HOST", "127.0.0.1"),
        log_level=env.get("INTEGRITY_LOG_LEVEL", "info"),
    )
