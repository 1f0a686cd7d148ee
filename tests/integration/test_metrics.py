"""``/metrics`` as Prometheus scrapes it: parsed with prometheus_client's own parser, counts matching
what was sent to a real worker on the embedded broker."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from schemas.records import new_session_control
from tests.helpers.frames import timeline
from tests.helpers.kafka import publish, reports_of

pytestmark = pytest.mark.integration


def scrape(port: int) -> dict[str, list]:
    """Metric family name -> its samples."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST  # what Prometheus negotiates
        text = response.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_count_what_the_worker_was_sent(settings, stack):
    frames = timeline("metrics-1", [("one_face", 15), ("two_faces", 10), ("one_face", 5)])
    start = new_session_control("metrics-1", "start", "cand-metrics-1")
    end = new_session_control("metrics-1", "end", "cand-metrics-1", last_sequence=len(frames) - 1)
    garbage = b"\x00" * 64  # undecodable: dead-lettered by the detection stage
    publish(
        settings,
        [
            (settings.topics.control, "metrics-1", start),
            *[(settings.topics.frames, "metrics-1", frame) for frame in frames],
            (settings.topics.frames, "metrics-1", garbage),
            (settings.topics.control, "metrics-1", end),
        ],
    )
    report = reports_of(settings, "metrics-1", timeout_s=120)[0]

    metrics = scrape(stack.worker.web_port)
    assert value(metrics["integrity_frames_received"], "integrity_frames_received_total") == len(frames)
    detector = metrics["integrity_detector_duration_seconds"]
    assert value(detector, "integrity_detector_duration_seconds_count", detector="total") == len(frames)
    results = metrics["integrity_results"]
    assert value(results, "integrity_results_total") == len(frames)  # one per frame, by verdict
    assert value(metrics["integrity_final_reports"], "integrity_final_reports_total", verdict=report["verdict"]) == 1
    latency = metrics["integrity_frame_to_result_seconds"]
    assert value(latency, "integrity_frame_to_result_seconds_count") == len(frames)
    assert value(latency, "integrity_frame_to_result_seconds_bucket", le="+Inf") == len(frames)
    letters = metrics["integrity_dead_letters"]
    assert value(letters, "integrity_dead_letters_total", stage="detection", reason="bad Frame record") == 1
    assert value(metrics["integrity_active_sessions"], "integrity_active_sessions") == 0
    assert value(metrics["integrity_model_available"], "integrity_model_available", model="face") == 1
    lag = [s for s in metrics["integrity_consumer_lag_records"] if s.labels["topic"] == settings.topics.frames]
    assert {s.labels["partition"] for s in lag} == {str(p) for p in range(settings.topics.partitions)}
    assert all(s.value == 0 for s in lag)  # everything processed
