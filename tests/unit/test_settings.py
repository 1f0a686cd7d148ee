"""Each setting is declared once (variable, default, meaning) and read from the environment; a variable
of an earlier release that no longer does anything is named in a warning. (docs/CONFIGURATION.md's table,
generated from the declarations, is checked by test_docs.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.settings import REMOVED, SettingsError, declared, load_settings


def test_every_setting_has_its_own_variable_and_a_meaning():
    items = declared()
    envs = [item.env for item in items]
    assert len(envs) == len(set(envs))
    assert all(item.doc and re.fullmatch(r"(KAFKA|INTEGRITY)_[A-Z_]+", item.env) for item in items)


def test_defaults_come_from_the_declarations():
    settings = load_settings({})
    for item in declared():
        value = settings
        for part in item.path.split("."):
            value = getattr(value, part)
        assert value == item.default, item.path


def test_variables_are_read_with_their_types():
    settings = load_settings(
        {
            "INTEGRITY_OBJECTS_EVERY_S": "5",
            "INTEGRITY_BEHAVIOUR_READING_WINDOW_S": "12.5",
            "INTEGRITY_DATA_DIR": "/tmp/w",
            "INTEGRITY_EMBEDDED_BROKER": "off",
            "INTEGRITY_TOPIC_RESULTS": "other.results",
        }
    )
    assert settings.vision.objects_every_s == 5.0
    assert settings.behaviour.reading_window_s == 12.5
    assert settings.data_dir == Path("/tmp/w")
    assert settings.broker.embedded is False
    assert settings.topics.results == "other.results"


def test_the_embedded_broker_is_assumed_only_at_the_default_address():
    assert load_settings({}).broker.embedded is True
    assert load_settings({"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}).broker.embedded is False
    assert load_settings(
        {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:5555", "INTEGRITY_EMBEDDED_BROKER": "1"}
    ).broker.embedded


@pytest.mark.parametrize(
    "variable, value",
    [("INTEGRITY_PARTITIONS", "three"), ("INTEGRITY_FACE_TOO_SMALL", "6%"), ("INTEGRITY_EMBEDDED_BROKER", "maybe")],
)
def test_a_value_that_does_not_fit_is_refused_naming_the_variable(variable, value):
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value})


def test_a_removed_variable_is_named_in_a_warning_not_ignored(caplog):
    for name in REMOVED:
        assert name not in {item.env for item in declared()}
        caplog.clear()
        with caplog.at_level("WARNING", logger="streams.settings"):
            load_settings({name: "4"})
        assert any(name in record.getMessage() for record in caplog.records), name
