"""Where the worker's web views listen (streams.settings.web_exposure): loopback unless asked, and beyond it
only with the token or an explicit INTEGRITY_WEB_INSECURE. The rule, without a server."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from streams.cli.main import main
from streams.settings import Secret, SettingsError, is_loopback, load_settings, web_exposure, web_reviewers
from streams.worker.supervisor import child_env

TOKEN = "tok-5d0c7a1b"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.1.1", "127.255.255.254", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"]
)
def test_loopback_is_127_0_0_0_8_and_1_and_localhost(host: str):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "", " ", "10.0.0.5", "192.168.1.20", "128.0.0.1", "::2", "example.com", "localhost.lan"]
)
def test_every_other_address_or_name_is_beyond_loopback(host: str):
    assert not is_loopback(host)


def test_the_default_listens_on_loopback_and_needs_no_token():
    settings = load_settings({})
    assert settings.web_bind == "127.0.0.1" and not settings.web_token and not settings.web_insecure
    assert web_exposure(settings) is None


def test_beyond_loopback_without_a_token_is_refused_saying_what_to_set():
    settings = load_settings({"INTEGRITY_WEB_BIND": "0.0.0.0"})
    with pytest.raises(SettingsError) as refused:
        web_exposure(settings)
    message = str(refused.value)
    assert "\n" not in message
    for named in ("INTEGRITY_WEB_BIND=0.0.0.0", "INTEGRITY_WEB_TOKEN", "INTEGRITY_WEB_INSECURE=true"):
        assert named in message
    with pytest.raises(SettingsError, match="every interface"):
        web_exposure(replace(settings, web_bind=""))  # aiohttp's "" is every interface too


def test_a_token_lets_the_views_listen_anywhere_and_is_never_said():
    settings = load_settings({"INTEGRITY_WEB_BIND": "0.0.0.0", "INTEGRITY_WEB_TOKEN": TOKEN})
    assert web_exposure(settings) is None
    insecure = replace(settings, web_insecure=True)
    assert web_exposure(insecure) is None  # the token wins: nothing open to warn about


def test_the_insecure_flag_starts_them_open_with_one_warning():
    settings = load_settings(
        {"INTEGRITY_WEB_BIND": "10.1.2.3", "INTEGRITY_WEB_INSECURE": "1", "INTEGRITY_WEB_PORT": "7001"}
    )
    assert settings.web_insecure is True
    warning = web_exposure(settings)
    assert warning is not None and "\n" not in warning
    assert "10.1.2.3:7001" in warning and "INTEGRITY_WEB_INSECURE" in warning


def test_the_address_faust_would_bind_is_the_one_checked():
    # `faust -A streams.app worker --web-bind 0.0.0.0` sets Faust's own setting after ours were read.
    settings = load_settings({})
    with pytest.raises(SettingsError):
        web_exposure(settings, "0.0.0.0")
    assert web_exposure(replace(settings, web_token=Secret(TOKEN)), "0.0.0.0") is None


def test_every_supervised_process_listens_where_the_supervisor_was_told(tmp_path: Path):
    settings = load_settings({"INTEGRITY_WEB_BIND": "::1", "INTEGRITY_DATA_DIR": str(tmp_path)})
    for index in range(3):
        assert child_env({"INTEGRITY_WEB_BIND": "0.0.0.0"}, settings, index)["INTEGRITY_WEB_BIND"] == "::1"


def test_the_worker_command_refuses_in_one_line_before_starting_anything(monkeypatch, capsys):
    monkeypatch.delenv("INTEGRITY_WEB_TOKEN", raising=False)
    monkeypatch.delenv("INTEGRITY_WEB_INSECURE", raising=False)
    # Nothing listens there: a worker that went on to the broker would fail differently, and later.
    assert main(["--bootstrap-servers", "127.0.0.1:9", "worker", "--web-bind", "0.0.0.0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("integrity worker: INTEGRITY_WEB_BIND=0.0.0.0") and "\n" not in err
    assert "INTEGRITY_WEB_TOKEN" in err


def test_reviewers_tokens_are_read_as_names_and_close_the_views_as_a_token_does():
    digest = "sha256:" + "ab" * 32
    settings = load_settings(
        {"INTEGRITY_WEB_BIND": "0.0.0.0", "INTEGRITY_WEB_REVIEWERS": f" ana=tok-a1 , ben.k@x={digest},"}
    )
    assert web_reviewers(settings) == {"ana": "tok-a1", "ben.k@x": digest}
    assert web_exposure(settings) is None  # reviewers' tokens guard the views: they may listen beyond loopback
    assert "tok-a1" not in repr(settings) and web_reviewers(load_settings({})) == {}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("ana", "pair 1 is not name=token"),
        ("ana=", "pair 1 is not name=token"),
        ("ana=t1,=t2", "reviewer ''"),
        ("a b=t1", "reviewer 'a b'"),
        ("ana=sha256:12", "64 hex digits"),
        ("ana=t1,ana=t2", "named twice"),
        ("ana=t1,ben=t1", "each reviewer needs their own"),
        (f"ana={TOKEN}", "each reviewer needs their own"),  # the shared token names no one
    ],
)
def test_a_reviewers_list_that_would_not_name_one_person_is_refused_at_start(value: str, words: str):
    with pytest.raises(SettingsError, match=re.escape(words)) as refused:
        load_settings({"INTEGRITY_WEB_REVIEWERS": value, "INTEGRITY_WEB_TOKEN": TOKEN})
    assert "t1" not in str(refused.value) and TOKEN not in str(refused.value)  # never says a token
