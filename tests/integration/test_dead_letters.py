"""``integrity dead-letters`` against a real broker and worker: a frame refused for a setting (an image over
INTEGRITY_MAX_FRAME_BYTES) is listed and shown without its bytes; once the worker runs with the setting changed,
``replay`` publishes it again, the worker answers it, and a second replay does nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Mapping

import pytest

from streams.child_process import free_port
from streams.kafka import reader
from streams.kafka.dead_letters import REPLAY_HEADER
from streams.stack.local import LocalStack
from streams.stack.processes import WorkerProcess
from tests.helpers.frames import SHARED_WEIGHTS, timeline
from tests.helpers.kafka import collect, control, publish, results_of

pytestmark = pytest.mark.integration

SESSION = "dl-too-big"


def integrity(env: Mapping[str, str], *args: str) -> str:
    """An ``integrity`` command line as a user types it; its stdout (exit status 0 required)."""
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=dict(env), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"integrity {' '.join(args)}: {done.returncode}\n{done.stderr}"
    return done.stdout


def frames_of_the_session(settings) -> list:
    async def read() -> list:
        return [m async for m in reader.read_raw(settings, settings.topics.frames) if m.key == SESSION.encode()]

    return asyncio.run(read())


def test_a_frame_refused_for_a_setting_is_replayed_once_the_setting_changed(tmp_path):
    limit = 2000  # bytes: a webcam photo is tens of KiB
    env = {
        "INTEGRITY_YOLO_WEIGHTS": SHARED_WEIGHTS,
        "INTEGRITY_PARTITIONS": "4",
        "INTEGRITY_MAX_FRAME_BYTES": str(limit),
    }
    with LocalStack(tmp_path, worker_env=env) as stack:
        settings = stack.settings
        cli_env = {**stack.worker.env, "INTEGRITY_LOG_LEVEL": "warning"}
        (frame,) = timeline(SESSION, [("one_face", 1)])
        image = frame["image"]
        assert len(image) > limit
        publish(settings, [control(settings, SESSION, "start"), (settings.topics.frames, SESSION, frame)])
        (refused,) = collect(
            settings, settings.topics.dead_letter, "DeadLetter", lambda d: d["key"] == SESSION.encode(), 1
        )
        assert f"over the {limit} allowed" in refused["reason"]

        # Listed, by source topic, stage and kind of reason.
        (group,) = [json.loads(line) for line in integrity(cli_env, "dead-letters", "list", "--json").splitlines()]
        assert (group["source_topic"], group["stage"], group["count"], group["replayed"]) == (
            settings.topics.frames,
            "detection",
            1,
            0,
        )
        assert group["reason"] == "the image is _ bytes, over the _ allowed"
        dead_letter = group["latest"]
        assert dead_letter.startswith(f"{settings.topics.dead_letter}-")
        assert dead_letter in integrity(cli_env, "dead-letters", "list", "--each", "--source", settings.topics.frames)

        # Shown: sizes and digests, never the image's bytes.
        shown = integrity(cli_env, "dead-letters", "show", dead_letter)
        assert refused["reason"] in shown and f"{settings.topics.frames}[" in shown and "not yet" in shown
        assert f'"image": {{"bytes": {len(image)}, "sha256": ' in shown
        assert image[:48].hex() not in shown and len(shown) < 4000
        about = json.loads(integrity(cli_env, "dead-letters", "show", dead_letter, "--json"))
        assert about["key"] == SESSION and about["payload"]["kept"] == about["payload"]["size"]

        # A dry run publishes nothing.
        dry = integrity(cli_env, "dead-letters", "replay", "--reason", "over the", "--dry-run")
        assert f"would replay {dead_letter}" in dry
        assert len(frames_of_the_session(settings)) == 1

        # The setting changed: the worker restarted with the default limit.
        stack.worker.stop()
        fixed_env = {**stack.worker.env, "INTEGRITY_MAX_FRAME_BYTES": str(4 * 1024 * 1024)}
        fixed = WorkerProcess(fixed_env, free_port(), stack.worker.data_dir, tmp_path / "fixed.log")
        fixed.start()
        try:
            fixed.wait_ready(timeout_s=180)
            replayed = integrity(cli_env, "dead-letters", "replay", dead_letter)
            assert f"replayed {dead_letter} to {settings.topics.frames}[{refused['source_partition']}]@" in replayed
            assert "1 dead letter(s): 1 replayed, 0 already replayed, 0 not replayable" in replayed
            (result,) = results_of(settings, SESSION, 1)
            assert result["frame_sequence"] == frame["sequence"]

            # Once only: a second replay, by id or by --all, publishes nothing.
            again = integrity(cli_env, "dead-letters", "replay", dead_letter)
            assert f"already replayed {dead_letter}" in again and "0 replayed, 1 already replayed" in again
            assert f"already replayed {dead_letter}" in integrity(cli_env, "dead-letters", "replay", "--all")
            original, copy = frames_of_the_session(settings)
            assert copy.value == original.value and copy.key == original.key
            assert dict(copy.headers)[REPLAY_HEADER] == dead_letter.encode()
            (group,) = [json.loads(line) for line in integrity(cli_env, "dead-letters", "list", "--json").splitlines()]
            assert group["replayed"] == 1
            assert "replayed " in integrity(cli_env, "dead-letters", "show", dead_letter)
        finally:
            fixed.stop()
