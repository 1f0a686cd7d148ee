"""Every setting, declared once: its environment variable, default and meaning sit on the field.

Settings are frozen dataclasses (one per concern), read from the environment by ``load_settings``; a
CLI flag overrides its variable for that command only (``streams.cli.common.settings_for``), and a
command that runs the Faust app hands it its settings with ``configure`` (the app reads ``configured()``).
docs/CONFIGURATION.md's table is generated from these declarations (``integrity settings --markdown``)
and a test checks that it is current. Comments above a field say where its number comes from; ``doc``
says what it means.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar

__all__ = [
    "EMBEDDED_BOOTSTRAP",
    "BehaviourSettings",
    "BrokerSettings",
    "Declared",
    "GatewaySettings",
    "GroupSettings",
    "HealthSettings",
    "IngressSettings",
    "RiskSettings",
    "Secret",
    "Settings",
    "SettingsError",
    "TopicSettings",
    "VisionSettings",
    "configure",
    "configured",
    "declared",
    "flag_help",
    "is_loopback",
    "load_settings",
    "markdown_table",
    "web_exposure",
    "web_reviewers",
]

EMBEDDED_BOOTSTRAP = "127.0.0.1:19092"
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """An environment variable whose value does not fit its setting."""


class Secret:
    """A value that is never printed: its ``str`` and ``repr`` only say whether it is set.

    ``reveal()`` is the one way to the value, for the code that hands it to a Kafka client."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __str__(self) -> str:
        return "***" if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"


def setting(default: Any, env: str, doc: str, *, shown: str | None = None) -> Any:
    """A field with its environment variable and meaning (Markdown); ``shown`` is how the docs print the
    default when the value alone would not say it (Markdown too)."""
    return field(default=default, metadata={"env": env, "doc": doc, "shown": shown})


@dataclass(frozen=True)
class BrokerSettings:
    bootstrap_servers: str = setting(EMBEDDED_BOOTSTRAP, "KAFKA_BOOTSTRAP_SERVERS", "broker(s), comma-separated")
    # tansu needs workarounds (streams/kafka/embedded_fixup.py; docs/DEVELOPMENT.md) that real Kafka
    # must not get; unset, the default bootstrap address is taken to mean the embedded broker.
    embedded_broker: bool | None = setting(
        None,
        "INTEGRITY_EMBEDDED_BROKER",
        "switches on the workarounds for the embedded broker (tansu); set `false` for real Kafka",
        shown="true when the bootstrap is the default",
    )
    # tansu keeps every record in memory and deletes none: bounded by stopping it (streams/kafka/embedded_broker.py).
    embedded_broker_max_mb: float = setting(
        4096.0,
        "INTEGRITY_EMBEDDED_BROKER_MAX_MB",
        "the embedded broker keeps every record in memory: it is stopped, saying so, when it holds this many MiB "
        "(0: no limit)",
    )
    # How every Kafka client of ours (Faust, publishers, readers, the admin client, the health probe)
    # reaches the broker; streams/kafka/security.py turns these into the clients' options. The embedded
    # broker speaks PLAINTEXT only (SECURITY.md).
    security_protocol: str = setting(
        "PLAINTEXT",
        "KAFKA_SECURITY_PROTOCOL",
        "how clients reach the broker: `PLAINTEXT`, `SSL` (TLS), `SASL_PLAINTEXT` or `SASL_SSL` (SASL over TLS)",
    )
    # aiokafka's and Faust's default. PLAIN sends the password itself: use it over SASL_SSL only.
    sasl_mechanism: str = setting(
        "PLAIN",
        "KAFKA_SASL_MECHANISM",
        "SASL mechanism: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (with a `SASL_*` protocol)",
    )
    sasl_username: str = setting("", "KAFKA_SASL_USERNAME", "SASL user name", shown="empty")
    sasl_password: Secret = setting(
        Secret(), "KAFKA_SASL_PASSWORD", "SASL password; never printed or logged", shown="empty"
    )
    ssl_cafile: str = setting(
        "",
        "KAFKA_SSL_CAFILE",
        "CA certificates (PEM) that signed the broker's certificate (with `SSL` or `SASL_SSL`)",
        shown="empty (the system's CAs)",
    )
    ssl_certfile: str = setting(
        "",
        "KAFKA_SSL_CERTFILE",
        "client certificate (PEM), for brokers that authenticate clients by TLS certificate",
        shown="empty (none)",
    )
    ssl_keyfile: str = setting(
        "",
        "KAFKA_SSL_KEYFILE",
        "private key (PEM) of the client certificate, when the certificate file does not hold it",
        shown="empty (in the certificate file)",
    )
    ssl_key_password: Secret = setting(
        Secret(),
        "KAFKA_SSL_KEY_PASSWORD",
        "password of an encrypted private key; never printed or logged",
        shown="empty",
    )

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def embedded(self) -> bool:
        if self.embedded_broker is None:
            return self.bootstrap_servers == EMBEDDED_BOOTSTRAP
        return self.embedded_broker

    @property
    def url(self) -> str:
        """Faust's broker URL for a comma-separated bootstrap list."""
        return ";".join(f"kafka://{host}" for host in self.bootstrap_servers.split(","))


@dataclass(frozen=True)
class TopicSettings:
    frames: str = setting("integrity.frames", "INTEGRITY_TOPIC_FRAMES", "topic of the frames platforms publish")
    events: str = setting("integrity.events", "INTEGRITY_TOPIC_EVENTS", "topic of the observations (vision output)")
    results: str = setting("integrity.results", "INTEGRITY_TOPIC_RESULTS", "topic of the per-frame Results")
    control: str = setting(
        "integrity.session-control", "INTEGRITY_TOPIC_CONTROL", "topic of the session start/end records"
    )
    dead_letter: str = setting(
        "integrity.dead-letter",
        "INTEGRITY_TOPIC_DEAD_LETTER",
        "topic of refused records; `integrity dead-letters replay` records its replays on `<this topic>.replays`",
    )
    reports: str = setting("integrity.reports", "INTEGRITY_TOPIC_REPORTS", "topic of the final reports")
    reviews: str = setting("integrity.reviews", "INTEGRITY_TOPIC_REVIEWS", "topic of reviewers' decisions (Review)")
    # Not keyed by session: one partition (a handful of small records, read whole by every worker and
    # gateway), compacted, keyed by "name@version" (docs/REVIEWING.md).
    policies: str = setting(
        "integrity.policies",
        "INTEGRITY_TOPIC_POLICIES",
        "topic of published risk policies (`integrity policy publish`), followed by every worker and gateway: "
        "one partition, compacted",
    )
    # One count for every session-keyed topic: the risk table reads partition-locally, so the events
    # topic, the control topic and the table's changelog must be co-partitioned.
    # Partitions bound how many workers share the work (a sixth worker on five partitions idles) and
    # cannot change once the topics exist (docs/SCALING.md). Sessions are cheap per partition: 24 lets a
    # deployment grow to 24 worker processes (2, 3, 4, 6, 8, 12 or 24 share it evenly).
    partitions: int = setting(
        24,
        "INTEGRITY_PARTITIONS",
        "partitions of every session-keyed topic and of the table changelogs: the most worker processes that "
        "get work; fixed once the topics exist",
    )
    replication_factor: int = setting(1, "INTEGRITY_REPLICATION_FACTOR", "replication of created topics")
    # Frames are biometric data, and a live interview's frames are worthless an hour later: the frames
    # topic keeps them no longer (its retention.ms when we create it). A judgement; it bounds how long
    # an outage of every worker may last before its frames are lost unanalysed.
    frames_retention_s: float = setting(
        3600.0,
        "INTEGRITY_FRAMES_RETENTION_S",
        "how long the frames topic keeps frames (its `retention.ms`, set when the topic is created): frames "
        "not analysed within it are lost, so raise it if your workers may be down longer",
    )

    # The fields that name topics, in the order the topics are created.
    NAMES: ClassVar[tuple[str, ...]] = (
        "frames",
        "events",
        "results",
        "control",
        "dead_letter",
        "reports",
        "reviews",
        "policies",
    )

    def all(self) -> tuple[str, ...]:
        return tuple(getattr(self, name) for name in self.NAMES)

    def inputs(self) -> frozenset[str]:
        """The topics the agents read."""
        return frozenset({self.frames, self.events, self.control, self.reviews})

    def prefixed(self, prefix: str) -> TopicSettings:
        """Every topic name with ``prefix`` in front."""
        renamed: dict[str, Any] = {name: f"{prefix}{getattr(self, name)}" for name in self.NAMES}
        return replace(self, **renamed)


@dataclass(frozen=True)
class VisionSettings:
    # Full range costs ~4.4 ms per 640x480 frame here and finds both faces of the sample's two-person
    # frame, where the short-range model finds one (measured).
    face_model: int = setting(1, "INTEGRITY_FACE_MODEL", "MediaPipe face model: 1 full range (to ~5 m), 0 short (~2 m)")
    # MediaPipe's own default detection threshold.
    face_min_confidence: float = setting(0.5, "INTEGRITY_FACE_MIN_CONFIDENCE", "minimum face score")
    # The sample photos read 56-116; on darkened copies the face mesh (head pose, gaze) still reads at
    # 23 and fails by 14, and the face itself is lost at 4 (docs/ACCURACY.md): 40 keeps a margin above
    # where reading fails.
    too_dark_brightness: float = setting(
        40.0, "INTEGRITY_TOO_DARK_BRIGHTNESS", "mean luma (0-255) under which a frame is too dark to judge"
    )
    # Standard deviation of luma on the packaged photos: 52-73, 18-25 at a third of their light: under
    # 12 the picture is washed out or nearly uniform. A judgement.
    low_contrast: float = setting(
        12.0, "INTEGRITY_LOW_CONTRAST", "luma standard deviation under which a frame is too flat to judge (low light)"
    )
    # Variance of the Laplacian of the 160x120 grey copy inside a margin: the packaged photos read
    # 1297-3081 as they are (the sample session 1824-4302), 115-217 under a Gaussian blur of 4 px (at
    # 640x480), 40-73 under 6 px and 19-32 under 8 px. A judgement.
    blurred_sharpness: float = setting(
        60.0, "INTEGRITY_BLURRED_SHARPNESS", "sharpness (Laplacian variance) under which a frame is blurred"
    )
    # At 640 px wide, 0.06 is ~38 px, and the face mesh works on a 192 px crop, so such a face is
    # upscaled 5x and its eye and iris points carry little information. A judgement, not measured
    # against ground truth.
    face_too_small: float = setting(
        0.06, "INTEGRITY_FACE_TOO_SMALL", "faces narrower than this share of the frame are too small to read gaze from"
    )
    # The full-range face model looks at a 192x192 input: in an image under 96 px on its shorter side a
    # face spans a few dozen pixels at most, so "no face" says nothing about the candidate. A judgement.
    min_image_side: int = setting(
        96,
        "INTEGRITY_MIN_IMAGE_SIDE",
        "frames smaller than this (pixels, shorter side) cannot show a face: low visibility, never absence",
    )
    yolo_weights: str = setting(
        "",
        "INTEGRITY_YOLO_WEIGHTS",
        "YOLO weights: a path (`.pt`, `.tflite`, `.onnx`, `.torchscript`...) or an Ultralytics model name; "
        "the format picks the backend. Empty: object detection off, said at start-up and in every Result",
        shown="empty (off)",
    )
    # Which runtime is fastest depends on the CPU (docs/PERFORMANCE.md): offered several exports, the worker
    # times them here and keeps the fastest that sees what the reference weights see (streams/vision/tuning.py).
    yolo_candidates: str = setting(
        "",
        "INTEGRITY_YOLO_CANDIDATES",
        "other exports of the YOLO weights to time against `INTEGRITY_YOLO_WEIGHTS` at start (comma-separated "
        "paths): the fastest whose detections agree is used, the choice kept per CPU (`integrity tune`)",
        shown="empty (the weights as set)",
    )
    yolo_choice: str = setting(
        "",
        "INTEGRITY_YOLO_CHOICE",
        "set by `integrity worker` for its processes: how the weights in use were chosen (in `/health/` and the "
        "start-up line); not for operators to set",
    )
    # One inference thread per worker process when a box runs one process per core; a container running one
    # process uses its CPUs.
    inference_threads: int = setting(
        0,
        "INTEGRITY_INFERENCE_THREADS",
        "threads one object inference may use (0: the CPUs this process may use, shared among the worker "
        "processes of `integrity worker`)",
        shown="`0` (CPUs / processes)",
    )
    # An exported model has a fixed input: this must be the size it was exported at (the packaged INT8
    # TFLite: 640). A 640x480 webcam frame letterboxed into 640x480 instead of 640x640 is 25% less work.
    yolo_input: str = setting(
        "640",
        "INTEGRITY_YOLO_INPUT",
        "the object model's input size: `640` (square) or `WIDTHxHEIGHT` such as `640x480`, each a multiple of 32; "
        "exported weights need the size they were exported at",
    )
    # The object detector's promise (streams/vision/schedule.py): a phone, book or person that comes into
    # view and stays is seen within this many seconds plus one frame. 3 s: at 1 frame/s (the platforms'
    # usual rate) every third frame, as before the schedule; at 5 frames/s every 15th instead of every 3rd.
    objects_every_s: float = setting(
        3.0,
        "INTEGRITY_OBJECTS_EVERY_S",
        "objects checked at most once per this many seconds of a session (0: every frame); faces and gaze on "
        "every frame",
    )
    # Sensor noise moves a 40x40 block's mean by ~1 grey level; a hand or a phone by tens.
    objects_still_below: float = setting(
        6.0,
        "INTEGRITY_OBJECTS_STILL_BELOW",
        "a picture whose every block moved less than this (grey levels) since the last check is unchanged: "
        "objects checked again only after 5x the interval (0: never skip)",
    )
    # The INT8 model scores the people of the packaged photos 0.71-0.96, but the astronaut's spacesuit
    # only 0.34-0.45 (docs/ACCURACY.md).
    object_min_confidence: float = setting(0.4, "INTEGRITY_OBJECT_MIN_CONFIDENCE", "minimum YOLO score")
    # The on-screen region is the angle the screen spans from the candidate's eyes: a 15.6" 16:9
    # laptop screen (34.5 x 19.4 cm) at 60 cm spans +-16.0 degrees across and +-9.2 up and down. A
    # session's start record may name its own (metadata screen_diagonal_in, screen_distance_cm,
    # screen_aspect: docs/CONTRACT.md).
    screen_diagonal_in: float = setting(15.6, "INTEGRITY_SCREEN_DIAGONAL_IN", "the candidates' screen diagonal, inches")
    screen_aspect: str = setting("16:9", "INTEGRITY_SCREEN_ASPECT", "the candidates' screen shape, W:H")
    screen_distance_cm: float = setting(
        60.0, "INTEGRITY_SCREEN_DISTANCE_CM", "the candidates' eyes to their screen, centimetres"
    )
    # Head pose under-reads turns on posed faces (~3 degrees at 10, ~6 at 20: docs/ACCURACY.md) and the
    # iris term adds its own noise: 4 degrees past the screen's edge before the gaze counts as off it.
    # A judgement.
    gaze_margin_deg: float = setting(
        4.0, "INTEGRITY_GAZE_MARGIN_DEG", "degrees past the screen's edge that still count as on it"
    )


@dataclass(frozen=True)
class BehaviourSettings:
    # A glance is not looking away; a flickering detector must not flap (release_after_s, hysteresis).
    face_absent_after_s: float = setting(
        2.0, "INTEGRITY_BEHAVIOUR_FACE_ABSENT_AFTER_S", "how long without a face before absence counts"
    )
    looking_away_after_s: float = setting(
        2.0, "INTEGRITY_BEHAVIOUR_LOOKING_AWAY_AFTER_S", "how long looking away before it counts"
    )
    extra_person_frames: int = setting(
        3, "INTEGRITY_BEHAVIOUR_EXTRA_PERSON_FRAMES", "frames with a second face or person before it counts"
    )
    # The INT8 model gives a portrait of one person (grace_hopper.jpg) a second, partial "person" box at
    # 0.45, while real second people read 0.7+.
    extra_person_min_confidence: float = setting(
        0.6, "INTEGRITY_BEHAVIOUR_EXTRA_PERSON_MIN_CONFIDENCE", "YOLO score a second person needs"
    )
    object_frames: int = setting(
        2, "INTEGRITY_BEHAVIOUR_OBJECT_FRAMES", "checked frames with a phone, book or laptop before it counts"
    )
    release_after_s: float = setting(
        1.0, "INTEGRITY_BEHAVIOUR_RELEASE_AFTER_S", "how long a behaviour must be gone before it ends (hysteresis)"
    )
    # What happened while the camera was not seen is not evidence, either way.
    max_frame_gap_s: float = setting(
        2.0,
        "INTEGRITY_BEHAVIOUR_MAX_FRAME_GAP_S",
        "a longer gap between a session's frames ends every behaviour at the last frame",
    )
    # A real camera never repeats a frame exactly (sensor noise); a frozen feed does, for as long as it
    # is stuck. Two seconds, so a stall of a few frames is not yet one.
    frozen_after_s: float = setting(
        2.0, "INTEGRITY_BEHAVIOUR_FROZEN_AFTER_S", "how long identical frames must repeat before the camera is frozen"
    )
    baseline_s: float = setting(
        20.0,
        "INTEGRITY_BEHAVIOUR_BASELINE_S",
        "the first seconds of a session whose clear frames set the candidate's neutral gaze",
    )
    baseline_min_frames: int = setting(
        10, "INTEGRITY_BEHAVIOUR_BASELINE_MIN_FRAMES", "clear frames (one face, eyes open) a baseline needs"
    )
    # Without a baseline the camera's axis stands in for the screen's direction: a camera beside the
    # screen is ~20-30 degrees off it, so the limits widen rather than flag every such candidate.
    unbaselined_widen: float = setting(
        1.5,
        "INTEGRITY_BEHAVIOUR_UNBASELINED_WIDEN",
        "factor on the gaze limits while a session has no baseline (collecting, or missing)",
    )
    # Patterns (streams/vision/patterns.py). Judgements: four visits to one spot in a minute is a habit
    # (a phone, notes), not thinking; 12 degrees holds one spot against the gaze's noise.
    fixation_glances: int = setting(
        4,
        "INTEGRITY_BEHAVIOUR_FIXATION_GLANCES",
        "separate glances to one off-screen spot within the window that make a fixation",
    )
    fixation_window_s: float = setting(60.0, "INTEGRITY_BEHAVIOUR_FIXATION_WINDOW_S", "window of the fixation pattern")
    fixation_spread_deg: float = setting(
        12.0, "INTEGRITY_BEHAVIOUR_FIXATION_SPREAD_DEG", "how close (degrees) glances must land to be one spot"
    )
    reading_sweeps: int = setting(
        3,
        "INTEGRITY_BEHAVIOUR_READING_SWEEPS",
        "horizontal sweeps (a slow drift, a fast return) within the window that make reading",
    )
    reading_window_s: float = setting(20.0, "INTEGRITY_BEHAVIOUR_READING_WINDOW_S", "window of the reading pattern")
    reading_sweep_deg: float = setting(
        6.0, "INTEGRITY_BEHAVIOUR_READING_SWEEP_DEG", "the smallest drift of the gaze (degrees) that is a sweep"
    )
    # The packaged faces read 0.00 with closed lips and 0.17 smiling with teeth; one opening (a smile,
    # a yawn) is never talking.
    talking_openings: int = setting(
        3, "INTEGRITY_BEHAVIOUR_TALKING_OPENINGS", "mouth openings within the window that make talking"
    )
    talking_window_s: float = setting(3.0, "INTEGRITY_BEHAVIOUR_TALKING_WINDOW_S", "window of the talking pattern")
    mouth_open_ratio: float = setting(
        0.12, "INTEGRITY_BEHAVIOUR_MOUTH_OPEN_RATIO", "inner-lip gap over mouth width above which the mouth is open"
    )


@dataclass(frozen=True)
class RiskSettings:
    # Weights, half-lives, thresholds and timeouts live in the versioned policy files; these pick the
    # folder and the policy of sessions that name none.
    policy_dir: str = setting(
        "", "INTEGRITY_RISK_POLICY_DIR", "folder of risk policy files (`NAME.yaml`)", shown="`streams/risk/policies`"
    )
    default_policy: str = setting(
        "default",
        "INTEGRITY_RISK_DEFAULT_POLICY",
        "policy of sessions whose start record names none (or an unknown one)",
    )
    expiry_check_s: float = setting(
        5.0, "INTEGRITY_RISK_EXPIRY_CHECK_S", "how often each worker looks for idle sessions"
    )
    end_grace_s: float = setting(
        10.0,
        "INTEGRITY_RISK_END_GRACE_S",
        "after an end record, once every frame sent before it is analysed, how long to wait for its last frame",
    )
    # Long enough for a redelivery or a producer's late retry to be refused instead of starting the
    # session again (which would give it a second final report), and for a reviewer to find it.
    ended_retention_s: float = setting(
        3600.0,
        "INTEGRITY_RISK_ENDED_RETENTION_S",
        "how long an ended session's final report stays in the table and the views (its late records are refused)",
    )


@dataclass(frozen=True)
class IngressSettings:
    # Ids are keys, table keys and log fields: a 2 MB "session id" is garbage, not a session.
    max_id_length: int = setting(128, "INTEGRITY_MAX_ID_LENGTH", "longest session or candidate id accepted")
    max_metadata_entries: int = setting(
        32, "INTEGRITY_MAX_METADATA_ENTRIES", "most metadata entries a record may carry"
    )
    max_metadata_entry_length: int = setting(
        256, "INTEGRITY_MAX_METADATA_ENTRY_LENGTH", "longest metadata entry (key plus value, characters)"
    )
    # Capture and control times are the platform's clock; the broker stamps each record when it is
    # produced. Ten minutes absorbs clock drift and a producer's queue, not a time in 1970 or 2100, nor
    # seconds sent as milliseconds.
    max_clock_skew_s: float = setting(
        600.0,
        "INTEGRITY_MAX_CLOCK_SKEW_S",
        "records whose captured_at_ms / at_ms is further than this from the broker's timestamp are refused",
    )
    # Within a session, capture time may not run ahead of the broker's clock: from the session's newest
    # frame to the next, capture time advances at most as much as broker time did, plus this. Producer
    # queues and network hiccups of a few seconds stay well inside 10 s; a frame stamped minutes ahead
    # would make every genuine frame after it "late". A judgement.
    max_clock_drift_s: float = setting(
        10.0,
        "INTEGRITY_MAX_CLOCK_DRIFT_S",
        "a frame whose capture time runs further ahead of its session's newest frame than broker time "
        "did, by more than this, is refused",
    )
    # A sequence may run ahead of the session's newest by what the capture time between them allows at
    # this rate (60 fps is above any webcam stream), plus 30 frames: a producer may skip numbers, but a
    # jump to 10,000,000 would make every genuine frame after it look like a redelivery.
    max_frame_rate: float = setting(
        60.0,
        "INTEGRITY_MAX_FRAME_RATE",
        "frames per second a sequence jump may claim (plus 30 frames); a larger jump is refused",
    )
    # Webcam proctoring sends 1-5 frames per second; 15 leaves room for any real camera and keeps one
    # flooding session from taking the worker's CPU (a frame costs ~30 ms of vision). Counted in capture
    # time, so a replay sent faster than it was captured passes; capture time cannot run ahead of the
    # broker's clock (INTEGRITY_MAX_CLOCK_DRIFT_S), so a flooder cannot forge its way around it.
    session_max_fps: float = setting(
        15.0,
        "INTEGRITY_SESSION_MAX_FPS",
        "frames per second of capture time one session may send on average; frames beyond it (and the "
        "burst) are dead-lettered without their image",
    )
    session_burst_frames: int = setting(
        30, "INTEGRITY_SESSION_BURST_FRAMES", "frames a session may send at once above its rate before it is refused"
    )
    # A 1080p webcam JPEG is 0.1-0.5 MB; 4 MB holds a 4K PNG screenshot. Larger is not a webcam frame.
    max_frame_bytes: int = setting(
        4 * 1024 * 1024, "INTEGRITY_MAX_FRAME_BYTES", "largest encoded image a frame may carry (bytes)"
    )
    # Faust's producer refuses requests over ~1 MB (producer_max_request_size): a larger dead letter would
    # fail to send and the record would be lost, so a payload is cut here and its digest kept.
    dead_letter_max_payload_bytes: int = setting(
        512 * 1024,
        "INTEGRITY_DEAD_LETTER_MAX_PAYLOAD_BYTES",
        "a dead letter keeps at most this many bytes of the refused record (and the whole record's SHA-256)",
    )


@dataclass(frozen=True)
class HealthSettings:
    # A worker this far behind its input answers too late to matter live: it says so, and a load
    # balancer or an operator can act. A judgement.
    ready_max_lag_s: float = setting(
        30.0,
        "INTEGRITY_READY_MAX_LAG_S",
        "the worker is not ready while any of its input partitions is further behind than this (broker time)",
    )
    broker_probe_s: float = setting(
        5.0, "INTEGRITY_BROKER_PROBE_S", "how often the worker checks that it reaches the broker (for readiness)"
    )


# The consumer group's timings, for real Kafka; the embedded broker's own (streams/kafka/embedded_fixup.py)
# apply where a variable is not set. A dead worker's partitions wait up to the session timeout before the
# group notices; heartbeats are a third of it (Kafka's advice); Kafka brokers refuse session timeouts under
# their group.min.session.timeout.ms (6 s by default).
REAL_KAFKA_GROUP = {"session_timeout_s": 10.0, "heartbeat_s": 3.0, "rebalance_timeout_s": 20.0}


@dataclass(frozen=True)
class GroupSettings:
    session_timeout_s: float | None = setting(
        None,
        "INTEGRITY_GROUP_SESSION_TIMEOUT_S",
        "how long the group waits for a silent worker (killed, cut off) before its partitions move",
        shown="`10`; embedded broker `4`",
    )
    heartbeat_s: float | None = setting(
        None,
        "INTEGRITY_GROUP_HEARTBEAT_S",
        "how often a worker tells the group it is alive (under a third of the session timeout)",
        shown="`3`; embedded broker `1`",
    )
    rebalance_timeout_s: float | None = setting(
        None,
        "INTEGRITY_GROUP_REBALANCE_TIMEOUT_S",
        "how long a rebalance waits for every worker to rejoin",
        shown="`20`; embedded broker `5`",
    )
    # At-least-once: a crash replays up to one interval of input (answered alike: the state is idempotent).
    commit_interval_s: float = setting(
        1.0, "INTEGRITY_COMMIT_INTERVAL_S", "how often a worker commits the offsets it has processed"
    )
    standby_replicas: int = setting(
        1,
        "INTEGRITY_STANDBY_REPLICAS",
        "copies of each table partition other workers keep warm from the changelog, to take over without replaying it",
    )
    # Static membership (KIP-345): a worker restarted within the session timeout gets its partitions back
    # without a rebalance. Each process needs its own id (a pod's name; `--processes N` appends `-i`).
    instance_id: str = setting(
        "",
        "INTEGRITY_GROUP_INSTANCE_ID",
        "the worker's static group member id, unique per process (e.g. the pod's name); empty: dynamic membership",
        shown="empty (dynamic)",
    )

    def with_defaults(self, defaults: Mapping[str, float]) -> GroupSettings:
        """These settings with ``defaults`` for the timings not set."""
        unset: dict[str, Any] = {name: value for name, value in defaults.items() if getattr(self, name) is None}
        return replace(self, **unset)


@dataclass(frozen=True)
class GatewaySettings:
    host: str = setting(
        "127.0.0.1", "INTEGRITY_GATEWAY_HOST", "address the gateway listens on (`0.0.0.0`: every interface)"
    )
    port: int = setting(8080, "INTEGRITY_GATEWAY_PORT", "port of the gateway's HTTP and WebSocket API")
    # Hashes, not keys: the gateway never holds a platform's key at rest (`integrity gateway hash-key`).
    api_keys: str = setting(
        "",
        "INTEGRITY_GATEWAY_API_KEYS",
        "platforms and the SHA-256 of their API keys, `name:sha256hex` comma-separated (from `integrity gateway "
        "hash-key`); empty: no key needed (a warning at start)",
        shown="empty (open)",
    )
    cors_origins: str = setting(
        "", "INTEGRITY_GATEWAY_CORS_ORIGINS", "browser origins allowed to call the gateway, comma-separated (`*`: any)"
    )
    # A frame's Result comes ~30-100 ms after it is produced on an idle worker; 5 s covers a busy one.
    # Past it the frame is still analysed: the answer is 202 with where its Result will be.
    result_timeout_s: float = setting(
        5.0, "INTEGRITY_GATEWAY_RESULT_TIMEOUT_S", "how long sending a frame waits for its Result before answering 202"
    )
    # A session's end waits for its last frames to be analysed, then the worker's grace (INTEGRITY_RISK_END_GRACE_S).
    report_timeout_s: float = setting(
        30.0, "INTEGRITY_GATEWAY_REPORT_TIMEOUT_S", "how long ending a session waits for its final report before 202"
    )
    wait_for_result: bool = setting(
        True,
        "INTEGRITY_GATEWAY_WAIT_FOR_RESULT",
        "sending a frame waits for its Result by default (`?wait=false` per request: fire and forget)",
    )
    # Results not yet read by a WebSocket client: at 5 frames/s, 64 is ~13 s behind. Beyond, the client is
    # closed (1013) rather than the gateway buffering without bound.
    websocket_queue: int = setting(
        64, "INTEGRITY_GATEWAY_WEBSOCKET_QUEUE", "Results a WebSocket client may leave unread before it is closed"
    )
    # Sessions (and their latest Result and report) the gateway remembers; older ones are forgotten first.
    sessions_kept: int = setting(10_000, "INTEGRITY_GATEWAY_SESSIONS_KEPT", "sessions the gateway keeps in memory")
    # Reports of sessions ended before the gateway (re)started are found by reading back this far.
    report_lookback_s: float = setting(
        3600.0, "INTEGRITY_GATEWAY_REPORT_LOOKBACK_S", "how far back the gateway reads final reports when it starts"
    )


@dataclass(frozen=True)
class Settings:
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    app_id: str = setting(
        "integrity", "INTEGRITY_APP_ID", "Faust app id: the consumer group and the prefix of the changelog topics"
    )
    topics: TopicSettings = field(default_factory=TopicSettings)
    # A replay or a trial beside production on the same broker: its own topics, consumer group, changelogs
    # and RocksDB folder, so its sessions never mix with production state.
    namespace: str = setting(
        "",
        "INTEGRITY_NAMESPACE",
        "an isolated namespace: every topic is named `NAME.<topic>`, the app id becomes `<app id>-NAME` and the "
        "data folder `<data folder>/NAME` (empty: none)",
    )
    data_dir: Path = setting(Path(".integrity/worker"), "INTEGRITY_DATA_DIR", "RocksDB folder; one per worker")
    web_port: int = setting(6066, "INTEGRITY_WEB_PORT", "port of the worker's web views")
    # One Faust worker uses one core (one event loop; inference one frame at a time): a box's cores are
    # used by running one worker process per core. In a container or a pod, run one (scale by replicas).
    processes: int = setting(
        0,
        "INTEGRITY_PROCESSES",
        "worker processes `integrity worker` runs and supervises (process i: web port + i, data folder "
        "`<data folder>/process-i`); 0: one per CPU this process may use",
        shown="`0` (one per CPU)",
    )
    # Views, the dashboard and (unless opened below) health and metrics need it; none is the default for a
    # worker on a laptop, whose views then listen on loopback only (web_bind). Compared in constant time, never
    # logged (streams/web/access.py).
    web_token: Secret = setting(
        Secret(),
        "INTEGRITY_WEB_TOKEN",
        "token the web views require (`Authorization: Bearer <token>`, or the dashboard's login cookie); needed "
        "to listen beyond loopback (`INTEGRITY_WEB_BIND`); never printed or logged",
        shown="empty (open, on loopback only)",
    )
    # A review made in the dashboard is signed with the name of the token that made it (streams/web/access.py):
    # the shared token names no one, so it opens the views but records no review.
    web_reviewers: Secret = setting(
        Secret(),
        "INTEGRITY_WEB_REVIEWERS",
        "reviewers who may record decisions in the dashboard, `name=token` pairs, comma-separated (a token may "
        "be given as `sha256:<hex digest>` of it); each token opens the views as `INTEGRITY_WEB_TOKEN` does and "
        "signs the reviews made with it with its name; never printed or logged",
        shown="empty (reviews in the page only with no token at all, from this machine, as the worker's OS user)",
    )
    web_open: str = setting(
        "health,metrics",
        "INTEGRITY_WEB_OPEN",
        "which of `health` and `metrics` stay open without the token when one is set (comma-separated; empty: none)",
    )
    # Other workers reach this one's views at its canonical URL, built from this host.
    web_host: str = setting("127.0.0.1", "INTEGRITY_WEB_HOST", "host other workers reach this one's web views at")
    # The views show candidates' sessions: they stay on this machine unless asked, and beyond it only with the
    # token (``web_exposure``). Faust itself would listen on every interface.
    web_bind: str = setting(
        "127.0.0.1",
        "INTEGRITY_WEB_BIND",
        "address the worker's web views listen on (`0.0.0.0`: every interface); beyond loopback the worker "
        "refuses to start without `INTEGRITY_WEB_TOKEN`",
    )
    web_insecure: bool = setting(
        False,
        "INTEGRITY_WEB_INSECURE",
        "let the web views listen beyond loopback without a token (a warning at start instead of a refusal)",
    )
    log_level: str = setting("info", "INTEGRITY_LOG_LEVEL", "worker log level: debug, info, warning, error")
    # A frame takes ~30 ms of vision; 10 s covers one stuck on a slow broker acknowledgement.
    shutdown_wait_s: float = setting(
        10.0,
        "INTEGRITY_SHUTDOWN_WAIT_S",
        "at a stop or rebalance, how long the tables stay open for the records the agents have in hand",
    )
    vision: VisionSettings = field(default_factory=VisionSettings)
    behaviour: BehaviourSettings = field(default_factory=BehaviourSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    ingress: IngressSettings = field(default_factory=IngressSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    group: GroupSettings = field(default_factory=GroupSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)


# -- reading the declarations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """One declared setting: where it lives, its variable, its default and its meaning."""

    path: str  # e.g. "vision.objects_every_s"
    env: str
    default: Any
    shown: str  # Markdown
    doc: str  # Markdown

    @property
    def default_text(self) -> str:
        """The default as plain text, for a terminal."""
        return self.shown.replace("`", "")

    @property
    def secret(self) -> bool:
        """Whether its value is never printed (``integrity settings`` shows ``***``)."""
        return isinstance(self.default, Secret)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _declared(cls: type, prefix: str = "") -> Iterator[Declared]:
    hints = typing.get_type_hints(cls)
    for item in fields(cls):
        if "env" not in item.metadata:  # a group of settings
            yield from _declared(hints[item.name], f"{prefix}{item.name}.")
            continue
        meta = item.metadata
        shown = meta["shown"] if meta["shown"] is not None else f"`{_show(item.default)}`"
        yield Declared(f"{prefix}{item.name}", meta["env"], item.default, shown, meta["doc"])


def declared() -> list[Declared]:
    """Every setting, in declaration order."""
    return list(_declared(Settings))


def _parse(raw: str, kind: Any, env: str) -> Any:
    text = raw.strip()
    try:
        if kind in (bool, bool | None):
            lowered = text.lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true or false")
        if kind in (int, int | None):
            return int(text)
        if kind in (float, float | None):
            return float(text)
        if kind is Path:
            return Path(raw)
        if kind is Secret:
            return Secret(raw)
        return raw
    except ValueError as exc:
        name = getattr(kind, "__name__", str(kind))
        raise SettingsError(f"{env}={raw!r} is not a valid {name}: {exc}") from None


def _load(cls: type, env: Mapping[str, str]) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for item in fields(cls):
        if "env" not in item.metadata:
            values[item.name] = _load(hints[item.name], env)
            continue
        raw = env.get(item.metadata["env"])
        if raw is not None:
            values[item.name] = _parse(raw, hints[item.name], item.metadata["env"])
    return cls(**values)


def _one_of(value: str, allowed: tuple[str, ...], env: str) -> str:
    wanted = value.strip().upper()
    if wanted not in allowed:
        raise SettingsError(f"{env}={value!r} is not one of {', '.join(allowed)}")
    return wanted


def _readable_file(path: str, env: str) -> None:
    if not (os.path.isfile(path) and os.access(path, os.R_OK)):
        raise SettingsError(f"{env}={path!r} is not a readable file")


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def _checked_broker(broker: BrokerSettings) -> BrokerSettings:
    """The broker settings with the protocol and mechanism in Kafka's spelling; refuses combinations
    a client could not connect with, and warns (once, never with a value) about credentials the
    protocol does not use."""
    broker = replace(
        broker,
        security_protocol=_one_of(broker.security_protocol, SECURITY_PROTOCOLS, "KAFKA_SECURITY_PROTOCOL"),
        sasl_mechanism=_one_of(broker.sasl_mechanism, SASL_MECHANISMS, "KAFKA_SASL_MECHANISM"),
    )
    protocol = f"KAFKA_SECURITY_PROTOCOL={broker.security_protocol}"
    credentials = (("KAFKA_SASL_USERNAME", broker.sasl_username), ("KAFKA_SASL_PASSWORD", broker.sasl_password))
    if broker.uses_sasl:
        missing = [env for env, value in credentials if not value]
        if missing:
            raise SettingsError(f"{protocol} needs {' and '.join(missing)}")
    else:
        unused = [env for env, value in credentials if value]
        if unused:
            _warn_once(f"{' and '.join(unused)} set but unused: {protocol} does not use SASL")
    tls_files = (
        ("KAFKA_SSL_CAFILE", broker.ssl_cafile),
        ("KAFKA_SSL_CERTFILE", broker.ssl_certfile),
        ("KAFKA_SSL_KEYFILE", broker.ssl_keyfile),
    )
    if broker.uses_tls:
        for env, path in tls_files:
            if path:
                _readable_file(path, env)
        if broker.ssl_keyfile and not broker.ssl_certfile:
            raise SettingsError("KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE, the certificate it belongs to")
    else:
        unused = [env for env, path in tls_files if path] + (
            ["KAFKA_SSL_KEY_PASSWORD"] if broker.ssl_key_password else []
        )
        if unused:
            _warn_once(f"{' and '.join(unused)} set but unused: {protocol} does not use TLS")
    return broker


_REVIEWER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_TOKEN_DIGEST = re.compile(r"sha256:[0-9a-fA-F]{64}")


def web_reviewers(settings: Settings) -> dict[str, str]:
    """``INTEGRITY_WEB_REVIEWERS`` as reviewer name -> token (or ``sha256:<hex>`` of it). Refused
    (``SettingsError``, never saying a token) when a pair is malformed, a name or token comes twice (a review
    must name one person), or a token is ``INTEGRITY_WEB_TOKEN`` (which names no one)."""
    raw = settings.web_reviewers.reveal()
    found: dict[str, str] = {}
    for number, pair in enumerate((part.strip() for part in raw.split(",") if part.strip()), start=1):
        name, equals, token = (text.strip() for text in pair.partition("="))
        if not equals or not token:
            raise SettingsError(f"INTEGRITY_WEB_REVIEWERS: pair {number} is not name=token")
        if not _REVIEWER_NAME.fullmatch(name):
            raise SettingsError(
                f"INTEGRITY_WEB_REVIEWERS: reviewer {name!r}: use letters, digits, '.', '_', '@' and '-' (at most 64, "
                "starting with a letter or digit)"
            )
        if token.startswith("sha256:") and not _TOKEN_DIGEST.fullmatch(token):
            raise SettingsError(f"INTEGRITY_WEB_REVIEWERS: reviewer {name!r}: sha256: takes 64 hex digits")
        if name in found:
            raise SettingsError(f"INTEGRITY_WEB_REVIEWERS: reviewer {name!r} is named twice")
        if token in found.values() or token == settings.web_token.reveal():
            raise SettingsError(
                f"INTEGRITY_WEB_REVIEWERS: reviewer {name!r} shares a token with another reviewer or with "
                "INTEGRITY_WEB_TOKEN: each reviewer needs their own"
            )
        found[name] = token
    return found


def check_group(group: GroupSettings) -> None:
    """Refuse group settings a group cannot work with (checked again once the broker's defaults are in)."""
    session, heartbeat, rebalance = group.session_timeout_s, group.heartbeat_s, group.rebalance_timeout_s
    for env, value in (
        ("INTEGRITY_GROUP_SESSION_TIMEOUT_S", session),
        ("INTEGRITY_GROUP_HEARTBEAT_S", heartbeat),
        ("INTEGRITY_GROUP_REBALANCE_TIMEOUT_S", rebalance),
        ("INTEGRITY_COMMIT_INTERVAL_S", group.commit_interval_s),
    ):
        if value is not None and value <= 0:
            raise SettingsError(f"{env}={value:g} is not positive")
    if session is not None and heartbeat is not None and heartbeat >= session:
        raise SettingsError(
            f"INTEGRITY_GROUP_HEARTBEAT_S={heartbeat:g} must be shorter than INTEGRITY_GROUP_SESSION_TIMEOUT_S="
            f"{session:g} (a third of it or less), or every worker is taken for dead"
        )
    # Faust's request timeout (90 s) must exceed the session timeout, or joining the group times out.
    if session is not None and session >= 90:
        raise SettingsError(f"INTEGRITY_GROUP_SESSION_TIMEOUT_S={session:g} must be under 90 s")
    if group.standby_replicas < 0:
        raise SettingsError(f"INTEGRITY_STANDBY_REPLICAS={group.standby_replicas} is negative")


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps a server on this machine: ``localhost``, 127.0.0.0/8 or ::1 (also
    written ``[::1]`` or IPv4-mapped). Every other name or address, and the empty one (every interface), is not."""
    name = host.strip().removeprefix("[").removesuffix("]").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a host name other than localhost: it may resolve to anything
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def web_exposure(settings: Settings, bind: str | None = None) -> str | None:
    """The rule for the worker's web views listening on ``bind`` (``INTEGRITY_WEB_BIND`` by default): on
    loopback, or with a token, nothing to say (None). Beyond loopback without a token: refused
    (``SettingsError`` saying what to set), unless ``INTEGRITY_WEB_INSECURE`` lets them, when the warning
    to log comes back. Never says the token."""
    bind = settings.web_bind if bind is None else bind
    if settings.web_token or settings.web_reviewers or is_loopback(bind):
        return None
    where = f"INTEGRITY_WEB_BIND={bind}" if bind else "an empty INTEGRITY_WEB_BIND (every interface)"
    if not settings.web_insecure:
        raise SettingsError(
            f"{where} opens the web views (candidates' sessions) beyond this machine, and INTEGRITY_WEB_TOKEN is "
            "not set: set INTEGRITY_WEB_TOKEN (e.g. `openssl rand -hex 32`), or INTEGRITY_WEB_BIND=127.0.0.1, or "
            "INTEGRITY_WEB_INSECURE=true to serve them open anyway"
        )
    return (
        f"INTEGRITY_WEB_INSECURE: the web views listen on {bind or 'every interface'}:{settings.web_port} without a "
        "token: whoever reaches that address sees candidates' sessions"
    )


# Variables of earlier releases that no longer do anything: set, they are named in a warning, never silently
# ignored.
REMOVED = {
    "INTEGRITY_VISION_THREADS": "removed in 0.2: a worker analyses one frame at a time, so it changed nothing "
    "(scale out with more workers)",
    "INTEGRITY_YOLO_STRIDE": "replaced in 0.3 by INTEGRITY_OBJECTS_EVERY_S (objects at most once per that many seconds "
    "of a session, fewer on a still picture)",
}


def yolo_input_size(text: str) -> tuple[int, int]:
    """``INTEGRITY_YOLO_INPUT`` as Ultralytics' ``imgsz``: (height, width)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", text)
    if match:
        width = int(match[1])
        height = int(match[2]) if match[2] else width
        if width > 0 and height > 0 and width % 32 == 0 and height % 32 == 0:
            return height, width
    raise SettingsError(
        f"INTEGRITY_YOLO_INPUT={text!r}: use `640` or WIDTHxHEIGHT such as `640x480`, each a multiple of 32"
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from environment variables (``os.environ`` by default).

    Raises ``SettingsError`` naming the variable when a value does not fit its setting."""
    env = os.environ if env is None else env
    for name, why in REMOVED.items():
        if name in env:
            _warn_once(f"{name} is set but {why}")
    settings: Settings = _load(Settings, env)
    if settings.topics.frames_retention_s <= 0:
        raise SettingsError(f"INTEGRITY_FRAMES_RETENTION_S={settings.topics.frames_retention_s:g} is not positive")
    if settings.topics.partitions < 1:
        raise SettingsError(f"INTEGRITY_PARTITIONS={settings.topics.partitions} is not positive")
    yolo_input_size(settings.vision.yolo_input)  # refused here, not at the first frame
    if settings.processes < 0:
        raise SettingsError(f"INTEGRITY_PROCESSES={settings.processes} is negative (0: one per CPU)")
    check_group(settings.group)
    web_reviewers(settings)  # refused here, not at the first review
    return _in_namespace(replace(settings, broker=_checked_broker(settings.broker)))


_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _in_namespace(settings: Settings) -> Settings:
    """The settings moved into ``settings.namespace``: topic names, app id and data folder."""
    name = settings.namespace
    if not name:
        return settings
    if not _NAMESPACE.fullmatch(name):
        raise SettingsError(
            f"INTEGRITY_NAMESPACE={name!r}: use letters, digits, '-' and '_' (at most 64, starting with a letter "
            "or digit): it becomes part of topic names"
        )
    topics = settings.topics.prefixed(f"{name}.")
    return replace(settings, topics=topics, app_id=f"{settings.app_id}-{name}", data_dir=settings.data_dir / name)


_configured: Settings | None = None


def configure(settings: Settings) -> None:
    """The settings this process runs with from now on (``integrity worker`` sets them, flags applied,
    before it imports the Faust app)."""
    global _configured
    _configured = settings


def configured() -> Settings:
    """The settings this process was configured with, else the environment's (``faust -A streams.app``)."""
    return _configured if _configured is not None else load_settings()


def flag_help(env: str, text: str | None = None) -> str:
    """Help of a CLI flag that sets ``env``: its meaning, variable and default, from the declaration."""
    item = next(d for d in declared() if d.env == env)
    return f"{text or item.doc} (env {item.env}, default {item.default_text})".replace("`", "")


def markdown_table() -> str:
    """The README's configuration table."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for item in declared():
        lines.append(f"| `{item.env}` | {item.shown} | {item.doc} |")
    return "\n".join(lines) + "\n"
