"""All configuration in one place: frozen dataclasses, read from the environment once.

Every setting has an environment variable (listed in the README); CLI flags override by setting the
variable before the app is imported. Defaults run the whole product on this machine against the
embedded broker.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
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
    # One count for every session-keyed topic: the risk table reads partition-locally, so the events
    # topic, the control topic and the table's changelog must be co-partitioned.
    partitions: int = 4
    replication_factor: int = 1

    def all(self) -> tuple[str, ...]:
        return (self.frames, self.events, self.results, self.control, self.dead_letter)


@dataclass(frozen=True)
class VisionSettings:
    # MediaPipe face detection: 1 = full-range model (faces up to ~5 m), 0 = short-range (~2 m).
    # Full range costs ~4.4 ms per 640x480 frame here and still finds the small faces of a
    # two-person frame, which the short-range model misses.
    face_model: int = 1
    # MediaPipe's own default; below it, false faces appear on textured backgrounds.
    face_min_confidence: float = 0.5
    # Inference runs off the event loop in this many threads (MediaPipe graphs are not shared
    # between threads: each thread gets its own).
    threads: int = 1


@dataclass(frozen=True)
class RiskSettings:
    # Evidence loses half its weight every half_life_s seconds without new evidence.
    half_life_s: float = 30.0
    # A gap between frames longer than this counts as this long: a stalled stream is not evidence.
    max_frame_gap_s: float = 2.0


@dataclass(frozen=True)
class Settings:
    app_id: str = "integrity"
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    topics: TopicSettings = field(default_factory=TopicSettings)
    vision: VisionSettings = field(default_factory=VisionSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    data_dir: Path = Path(".integrity/worker")
    web_port: int = 6066
    # Where other workers reach this one's web views (table_route redirects there).
    web_host: str = "127.0.0.1"
    log_level: str = "info"


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
        partitions=int(env.get("INTEGRITY_PARTITIONS", defaults.partitions)),
        replication_factor=int(env.get("INTEGRITY_REPLICATION_FACTOR", defaults.replication_factor)),
    )
    vision_defaults = VisionSettings()
    vision = VisionSettings(
        face_model=int(env.get("INTEGRITY_FACE_MODEL", vision_defaults.face_model)),
        face_min_confidence=float(env.get("INTEGRITY_FACE_MIN_CONFIDENCE", vision_defaults.face_min_confidence)),
        threads=int(env.get("INTEGRITY_VISION_THREADS", vision_defaults.threads)),
    )
    risk_defaults = RiskSettings()
    risk = RiskSettings(
        half_life_s=float(env.get("INTEGRITY_RISK_HALF_LIFE_S", risk_defaults.half_life_s)),
        max_frame_gap_s=float(env.get("INTEGRITY_RISK_MAX_FRAME_GAP_S", risk_defaults.max_frame_gap_s)),
    )
    return Settings(
        app_id=env.get("INTEGRITY_APP_ID", "integrity"),
        broker=broker,
        topics=topics,
        vision=vision,
        risk=risk,
        data_dir=Path(env.get("INTEGRITY_DATA_DIR", ".integrity/worker")),
        web_port=int(env.get("INTEGRITY_WEB_PORT", "6066")),
        web_host=env.get("INTEGRITY_WEB_HOST", "127.0.0.1"),
        log_level=env.get("INTEGRITY_LOG_LEVEL", "info"),
    )
