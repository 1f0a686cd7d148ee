"""The parts of scaling out that are plain logic: the supervisor's children and backoff, the group
settings and their checks, the embedded broker's group timings."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.kafka.embedded_fixup import EMBEDDED_GROUP, EmbeddedBrokerFixup
from streams.settings import REAL_KAFKA_GROUP, SettingsError, load_settings
from streams.worker.supervisor import FIRST_BACKOFF_S, MAX_BACKOFF_S, STABLE_AFTER_S, child_env, next_backoff

EMBEDDED = {"INTEGRITY_EMBEDDED_BROKER": "true"}
REAL = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "INTEGRITY_EMBEDDED_BROKER": "false"}


def test_each_child_gets_its_own_port_folder_and_member_id():
    settings = load_settings(
        {"INTEGRITY_WEB_PORT": "7000", "INTEGRITY_DATA_DIR": "/data", "INTEGRITY_GROUP_INSTANCE_ID": "box-a"}
    )
    envs = [child_env({"KEEP": "me"}, settings, i) for i in range(3)]
    assert [env["INTEGRITY_WEB_PORT"] for env in envs] == ["7000", "7001", "7002"]
    assert [env["INTEGRITY_DATA_DIR"] for env in envs] == [f"/data/process-{i}" for i in range(3)]
    assert [env["INTEGRITY_GROUP_INSTANCE_ID"] for env in envs] == ["box-a-0", "box-a-1", "box-a-2"]
    assert all(env["INTEGRITY_PROCESSES"] == "1" and env["KEEP"] == "me" for env in envs)


def test_a_namespace_is_applied_once_per_child():
    env = {"INTEGRITY_DATA_DIR": "/data", "INTEGRITY_NAMESPACE": "trial"}
    settings = load_settings(env)
    child = load_settings(child_env(env, settings, 1))
    assert child.data_dir == Path("/data/process-1/trial")
    assert "INTEGRITY_GROUP_INSTANCE_ID" not in child_env(env, settings, 1)  # dynamic membership stays dynamic


def test_backoff_doubles_to_its_cap_and_resets_after_a_stable_run():
    waits, wait = [], 0.0
    for _ in range(8):
        wait = next_backoff(wait, ran_s=2)
        waits.append(wait)
    assert waits[:3] == [FIRST_BACKOFF_S, 2 * FIRST_BACKOFF_S, 4 * FIRST_BACKOFF_S]
    assert waits[-1] == MAX_BACKOFF_S
    assert next_backoff(MAX_BACKOFF_S, ran_s=STABLE_AFTER_S) == FIRST_BACKOFF_S


def test_group_timings_default_per_broker_and_a_variable_wins():
    embedded = load_settings(EMBEDDED)
    assert (
        EmbeddedBrokerFixup(embedded.broker).group(embedded.group).session_timeout_s
        == EMBEDDED_GROUP["session_timeout_s"]
    )
    real = load_settings(REAL)
    resolved = EmbeddedBrokerFixup(real.broker).group(real.group)
    assert (resolved.session_timeout_s, resolved.heartbeat_s) == (
        REAL_KAFKA_GROUP["session_timeout_s"],
        REAL_KAFKA_GROUP["heartbeat_s"],
    )
    mine = load_settings({**EMBEDDED, "INTEGRITY_GROUP_SESSION_TIMEOUT_S": "8"})
    assert EmbeddedBrokerFixup(mine.broker).group(mine.group).session_timeout_s == 8


@pytest.mark.parametrize(
    "env, named",
    [
        ({"INTEGRITY_GROUP_SESSION_TIMEOUT_S": "3", "INTEGRITY_GROUP_HEARTBEAT_S": "3"}, "INTEGRITY_GROUP_HEARTBEAT_S"),
        ({"INTEGRITY_GROUP_SESSION_TIMEOUT_S": "120"}, "must be under 90"),
        ({"INTEGRITY_COMMIT_INTERVAL_S": "0"}, "INTEGRITY_COMMIT_INTERVAL_S"),
        ({"INTEGRITY_STANDBY_REPLICAS": "-1"}, "INTEGRITY_STANDBY_REPLICAS"),
        ({"INTEGRITY_PROCESSES": "-2"}, "INTEGRITY_PROCESSES"),
        ({"INTEGRITY_PARTITIONS": "0"}, "INTEGRITY_PARTITIONS"),
        ({"INTEGRITY_GROUP_HEARTBEAT_S": "soon"}, "INTEGRITY_GROUP_HEARTBEAT_S"),
    ],
)
def test_group_settings_a_group_cannot_work_with_are_refused(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_a_heartbeat_longer_than_the_brokers_session_default_is_refused_once_resolved():
    settings = load_settings({**EMBEDDED, "INTEGRITY_GROUP_HEARTBEAT_S": "5"})  # fine alone; not with 4 s
    with pytest.raises(SettingsError, match="INTEGRITY_GROUP_HEARTBEAT_S"):
        EmbeddedBrokerFixup(settings.broker).group(settings.group)
