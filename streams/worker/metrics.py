"""Prometheus metrics of a worker, served on ``/metrics`` in the text exposition format.

Names and units follow Prometheus' conventions (``_total`` counters, ``_seconds`` histograms, base
units). Counters and histograms are this worker's since it started; gauges are read at each scrape.

Consumer lag is counted in records, per input partition this worker owns: the partition's high
watermark minus the next offset this worker will process (the committed one, or the one after the
newest it finished). That is right on real Kafka. The embedded broker (tansu) reports a high watermark
below the real end when a producer batches (librdkafka): there lag reads low, never below 0.
"""

from __future__ import annotations

from faust.types import TP
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from schemas.records import QUALITY_KINDS, FinalReport, Observation, Result, Review
from streams.kafka.dead_letters import reason_kind  # one kind of reason for the metrics and the listing

__all__ = [
    "CONTENT_TYPE_LATEST",
    "REGISTRY",
    "count_dead_letter",
    "count_final_report",
    "count_frame",
    "count_observation",
    "count_result",
    "describe_object_detector",
    "exposition",
    "reason_kind",
    "set_gauges",
]

REGISTRY = CollectorRegistry()

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_DETECTOR_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

FRAMES = Counter("integrity_frames_received", "Frame records the detection stage took in.", registry=REGISTRY)
DETECTOR_SECONDS = Histogram(
    "integrity_detector_duration_seconds",
    "Time of each vision step per frame (face detection, mesh, objects, ...; total is the whole frame).",
    ["detector"],
    buckets=_DETECTOR_BUCKETS,
    registry=REGISTRY,
)
FRAME_TO_RESULT = Histogram(
    "integrity_frame_to_result_seconds",
    "From a frame's capture time to its Result being sent (includes the platform's clock offset).",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RESULTS = Counter("integrity_results", "Per-frame Results sent, by verdict.", ["verdict"], registry=REGISTRY)
REPORTS = Counter("integrity_final_reports", "Final reports sent, by verdict.", ["verdict"], registry=REGISTRY)
QUALITY_INTERVALS = Counter(
    "integrity_quality_intervals",
    "Capture-quality intervals started (low_light, blurred, face_too_small, occluded, frozen_frame, frame_gap): "
    "cameras the verdicts cannot see through, never evidence.",
    ["kind"],
    registry=REGISTRY,
)
UNASSESSABLE_SHARE = Histogram(
    "integrity_final_report_unassessable_share",
    "Share of each ended session the camera could not judge (capture quality).",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0),
    registry=REGISTRY,
)
REVIEWS = Counter("integrity_reviews", "Reviews kept, by decision.", ["decision"], registry=REGISTRY)
DEAD_LETTERS = Counter(
    "integrity_dead_letters",
    "Records dead-lettered, by stage and kind of reason.",
    ["stage", "reason"],
    registry=REGISTRY,
)
LAG = Gauge(
    "integrity_consumer_lag_records",
    "Records on an input partition this worker owns that it has not processed yet.",
    ["topic", "partition"],
    registry=REGISTRY,
)
ACTIVE_SESSIONS = Gauge(
    "integrity_active_sessions", "Sessions started and not ended, on this worker's partitions.", registry=REGISTRY
)
MODEL_AVAILABLE = Gauge(
    "integrity_model_available", "1 when a model is loaded and used, 0 when it is off.", ["model"], registry=REGISTRY
)
OBJECT_DETECTOR = Gauge(
    "integrity_object_detector_info",
    "1 for the object detector in use: its weights, runtime, and how they were chosen (tuned or as configured).",
    ["weights", "backend", "chosen"],
    registry=REGISTRY,
)

READY = Gauge(
    "integrity_ready",
    "1 when the worker is ready (GET /health/ answers 200), 0 while it rebalances, recovers, warms up or lags.",
    registry=REGISTRY,
)


def count_frame() -> None:
    FRAMES.inc()


def count_observation(observation: Observation) -> None:
    for step, ms in observation["timings_ms"].items():
        DETECTOR_SECONDS.labels(detector=step).observe(ms / 1000.0)
    for event in observation["events"]:
        # A frame gap is raised closed, so it is counted at its end; the others at their start.
        if event["type"] in QUALITY_KINDS and (event["ended_at_ms"] is None or event["type"] == "frame_gap"):
            QUALITY_INTERVALS.labels(kind=event["type"]).inc()


def count_result(result: Result) -> None:
    RESULTS.labels(verdict=result["verdict"]).inc()
    if result["frame_sequence"] >= 0:
        FRAME_TO_RESULT.observe(max(result["timestamp_ms"] - result["captured_at_ms"], 0) / 1000.0)


def count_final_report(report: FinalReport) -> None:
    REPORTS.labels(verdict=report["verdict"]).inc()
    UNASSESSABLE_SHARE.observe(report["unassessable_share"])


def count_review(review: Review) -> None:
    REVIEWS.labels(decision=review["decision"]).inc()


def count_dead_letter(stage: str, reason: str) -> None:
    DEAD_LETTERS.labels(stage=stage, reason=reason_kind(reason)).inc()


def set_gauges(lag: dict[TP, int], active_sessions: int, models: dict[str, bool], ready: bool) -> None:
    READY.set(1 if ready else 0)
    LAG.clear()  # partitions this worker no longer owns go away
    for tp, records in lag.items():
        LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(records)
    ACTIVE_SESSIONS.set(active_sessions)
    for model, available in models.items():
        MODEL_AVAILABLE.labels(model=model).set(1 if available else 0)


def describe_object_detector(weights: str, backend: str, chosen: str) -> None:
    OBJECT_DETECTOR.clear()
    OBJECT_DETECTOR.labels(weights=weights, backend=backend, chosen=chosen).set(1)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
